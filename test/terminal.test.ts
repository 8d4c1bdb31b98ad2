import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { CloseTerminal, StopContainer, TerminalInput } from './documents.js';
import { graphql } from './gql/index.js';
import type { TerminalWatchSubscription } from './gql/graphql.js';
import { containerFactory, processList, startTestServer, TEST_IMAGES } from './kit.js';
import { watchSse, watchWs, wsClient, type Watch } from './live-client.js';

const OpenTerminal = graphql(`
  mutation OpenTerminal($container: String!, $user: String, $args: [String!], $cols: Int, $rows: Int) {
    openTerminal(container: $container, user: $user, args: $args, cols: $cols, rows: $rows) {
      id
      containerName
      user
      command
      cols
      rows
      running
    }
  }
`);

const ResizeTerminal = graphql(`
  mutation ResizeTerminal($id: ID!, $cols: Int!, $rows: Int!) {
    resizeTerminal(id: $id, cols: $cols, rows: $rows) {
      cols
      rows
    }
  }
`);

const TerminalQuery = graphql(`
  query TerminalInfo($id: ID!) {
    terminal(id: $id) {
      watchers
      running
      exitCode
      cursor
    }
  }
`);

const TerminalWatch = graphql(`
  subscription TerminalWatch($id: ID!, $after: String) {
    terminal(id: $id, after: $after) {
      __typename
      ... on TerminalOutput {
        data
        cursor
      }
      ... on StreamGap {
        missed
        resumeCursor
      }
      ... on TerminalExited {
        exitCode
      }
    }
  }
`);

type Watcher = Watch<TerminalWatchSubscription>;

/** Everything a watcher has seen so far, as one text. */
const screen = (watch: Watcher) => watch.events.map((e) => (e.terminal.__typename === 'TerminalOutput' ? e.terminal.data : '')).join('');

const waitForText = (watch: Watcher, text: string) => watch.until(() => screen(watch).includes(text));

describe('terminals', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);
  const client = wsClient(server);
  afterAll(() => client.dispose());

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it('is shared: typed commands run, resizes apply, a late watcher gets the scrollback, exit ends it for all', async () => {
      const c = await create(image);
      const { openTerminal } = await server.ok(OpenTerminal, { container: c.name, cols: 100, rows: 30 });
      expect(openTerminal).toMatchObject({ containerName: c.name, user: null, command: null, cols: 100, rows: 30, running: true });
      const { id } = openTerminal;
      const first = watchWs(client, TerminalWatch, { id });

      // The login shell, in the user's home; arithmetic shows the shell ran it, not just echoed it.
      await server.ok(TerminalInput, { id, data: 'echo "answer=$((6 * 7))"; pwd; stty size\n' });
      await waitForText(first, 'answer=42');
      await waitForText(first, '/root');
      await waitForText(first, '30 100');

      expect((await server.ok(ResizeTerminal, { id, cols: 120, rows: 40 })).resizeTerminal).toEqual({ cols: 120, rows: 40 });
      await server.ok(TerminalInput, { id, data: 'stty size\n' });
      await waitForText(first, '40 120');

      // The late watcher comes over server-sent events: both transports serve the same stream.
      const late = watchSse(server, TerminalWatch, { id });
      const [replay] = await late.until((events) => events.length > 0);
      expect(replay!.terminal.__typename).toBe('TerminalOutput');
      expect(screen(late)).toContain('answer=42');
      expect((await server.ok(TerminalQuery, { id })).terminal.watchers).toBe(2);

      await server.ok(TerminalInput, { id, data: 'exit 7\n' });
      await Promise.all([first.until(() => first.done), late.until(() => late.done)]);
      for (const watch of [first, late]) expect(watch.events.at(-1)!.terminal).toEqual({ __typename: 'TerminalExited', exitCode: 7 });
      expect((await server.ok(TerminalQuery, { id })).terminal).toMatchObject({ running: false, exitCode: 7, watchers: 0 });
      expect(await server.errorCode(TerminalInput, { id, data: 'echo too late\n' })).toBe('CONFLICT');
    });
  });

  it('resumes after a cursor, and tells a watcher who comes after the exit how it ended', async () => {
    const c = await create(TEST_IMAGES[1].image);
    const { openTerminal } = await server.ok(OpenTerminal, { container: c.name, args: ['sh', '-c', 'echo one; read x; echo two; read y; exit 3'] });
    const { id } = openTerminal;
    const watch = watchWs(client, TerminalWatch, { id });
    await waitForText(watch, 'one');
    const seen = watch.events.at(-1)!.terminal;
    if (seen.__typename !== 'TerminalOutput') throw new Error(`unexpected ${seen.__typename}`);
    await server.ok(TerminalInput, { id, data: '\n' });
    await waitForText(watch, 'two');

    const resumed = watchWs(client, TerminalWatch, { id, after: seen.cursor });
    await waitForText(resumed, 'two');
    expect(screen(resumed)).not.toContain('one');
    resumed.stop();
    watch.stop();

    await server.ok(TerminalInput, { id, data: '\n' });
    for (let attempt = 0; attempt < 50 && (await server.ok(TerminalQuery, { id })).terminal.running; attempt++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = watchWs(client, TerminalWatch, { id });
    await after.until(() => after.done);
    expect(screen(after)).toContain('two');
    expect(after.events.at(-1)!.terminal).toEqual({ __typename: 'TerminalExited', exitCode: 3 });
  });

  it('serves 50 watchers at once and forgets each one that leaves', async () => {
    const c = await create(TEST_IMAGES[1].image);
    const { openTerminal } = await server.ok(OpenTerminal, { container: c.name, args: ['cat'] });
    const { id } = openTerminal;
    const watches = Array.from({ length: 50 }, () => watchWs(client, TerminalWatch, { id }));
    for (let attempt = 0; attempt < 100 && (await server.ok(TerminalQuery, { id })).terminal.watchers < 50; attempt++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await server.ok(TerminalInput, { id, data: 'to everyone\n' });
    await Promise.all(watches.map((watch) => waitForText(watch, 'to everyone')));
    for (const watch of watches) watch.stop();
    for (let attempt = 0; attempt < 100 && (await server.ok(TerminalQuery, { id })).terminal.watchers > 0; attempt++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await server.ok(TerminalQuery, { id })).terminal).toMatchObject({ watchers: 0, running: true });
    await server.ok(CloseTerminal, { id });
  });

  it('bounds a watcher that does not read, without slowing the one that does', async () => {
    const c = await create(TEST_IMAGES[1].image);
    const { openTerminal } = await server.ok(OpenTerminal, { container: c.name, args: ['sh', '-c', 'read go; head -c 3000000 /dev/zero | tr "\\000" y; echo; exit 5'] });
    const { id } = openTerminal;
    const fast = watchWs(client, TerminalWatch, { id });
    // Subscribed and then never read until the end: the same as a client that stops reading.
    const slow = server.app.services.terminals.watch(id)[Symbol.asyncIterator]();
    const slowFirst = slow.next();
    for (let attempt = 0; attempt < 100 && (await server.ok(TerminalQuery, { id })).terminal.watchers < 2; attempt++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await server.ok(TerminalInput, { id, data: 'go\n' });
    await fast.until(() => fast.done, 30_000);
    expect(screen(fast).split('y').length - 1).toBe(3_000_000);
    expect(fast.events.some((e) => e.terminal.__typename === 'StreamGap')).toBe(false);

    const slowEvents = [(await slowFirst).value];
    for (let next = await slow.next(); !next.done; next = await slow.next()) slowEvents.push(next.value);
    const gap = slowEvents.find((e) => e.kind === 'gap');
    expect(gap).toMatchObject({ kind: 'gap', missed: expect.any(Number) });
    expect(slowEvents.at(-1)).toEqual({ kind: 'exited', exitCode: 5 });
    const received = slowEvents.reduce((sum, e) => sum + (e.kind === 'output' ? e.data.length : 0), 0);
    expect(received).toBeLessThan(3_000_000);
  });

  it('keeps the last 256 KiB for a late watcher', async () => {
    const c = await create(TEST_IMAGES[1].image);
    // 400 000 bytes of "x", then a marker: more than the scrollback holds.
    const script = "head -c 400000 /dev/zero | tr '\\000' x; echo; echo END; exec sleep 3600";
    const { openTerminal } = await server.ok(OpenTerminal, { container: c.name, args: ['sh', '-c', script] });
    for (let attempt = 0; attempt < 100; attempt++) {
      const late = watchWs(client, TerminalWatch, { id: openTerminal.id });
      const [first] = await late.until((events) => events.length > 0);
      late.stop();
      if (first!.terminal.__typename !== 'TerminalOutput') throw new Error(`unexpected ${first!.terminal.__typename}`);
      if (first!.terminal.data.includes('END')) {
        // Whole chunks are dropped from the front; a chunk read from the engine is at most 64 KiB.
        expect(first!.terminal.data.length).toBeLessThanOrEqual(256 * 1024);
        expect(first!.terminal.data.length).toBeGreaterThan(192 * 1024);
        expect(first!.terminal.data).toMatch(/x+\r\nEND\r\n$/);
        await server.ok(CloseTerminal, { id: openTerminal.id });
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the output never ended');
  });

  it('closes a terminal for its watchers and kills what runs in it', async () => {
    const c = await create(TEST_IMAGES[0].image);
    const { openTerminal } = await server.ok(OpenTerminal, { container: c.name, user: 'nobody', args: ['sh', '-c', 'id -un; exec sleep 4343'] });
    expect(openTerminal.user).toBe('nobody');
    const watch = watchWs(client, TerminalWatch, { id: openTerminal.id });
    await waitForText(watch, 'nobody');
    expect(await processList(server, c.name)).toContain('sleep 4343');
    const { closeTerminal } = await server.ok(CloseTerminal, { id: openTerminal.id });
    expect(closeTerminal.running).toBe(false);
    await watch.until(() => watch.done);
    expect(watch.events.at(-1)!.terminal.__typename).toBe('TerminalExited');
    expect(await processList(server, c.name)).not.toContain('sleep 4343');
  });

  it('ends for its watchers when the container stops', async () => {
    const c = await create(TEST_IMAGES[1].image);
    const { openTerminal } = await server.ok(OpenTerminal, { container: c.name });
    const watch = watchWs(client, TerminalWatch, { id: openTerminal.id });
    await server.ok(TerminalInput, { id: openTerminal.id, data: 'echo ready\n' });
    await waitForText(watch, 'ready');
    await server.ok(StopContainer, { container: c.name, timeoutSeconds: 0 });
    await watch.until(() => watch.done);
    expect(watch.events.at(-1)!.terminal.__typename).toBe('TerminalExited');
  });

  it('closes every terminal when the server stops, and tells the watchers', async () => {
    const stopping = await startTestServer();
    const stoppingClient = wsClient(stopping);
    onTestFinished(() => stoppingClient.dispose());
    const c = await create(TEST_IMAGES[1].image);
    const { openTerminal } = await stopping.ok(OpenTerminal, { container: c.name, args: ['sh', '-c', 'echo ready; exec sleep 4545'] });
    const watch = watchWs(stoppingClient, TerminalWatch, { id: openTerminal.id });
    await waitForText(watch, 'ready');
    await stopping.stop();
    expect(watch.events.at(-1)!.terminal.__typename).toBe('TerminalExited');
    expect(await processList(server, c.name)).not.toContain('sleep 4545');
  });

  it('rejects bad input, unknown terminals and stopped containers', async () => {
    const c = await create(TEST_IMAGES[1].image);
    expect(await server.errorCode(OpenTerminal, { container: c.name, cols: 0 })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(OpenTerminal, { container: c.name, rows: 1001 })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(OpenTerminal, { container: 'pgt-no-such-container' })).toBe('NOT_FOUND');
    expect(await server.errorCode(TerminalQuery, { id: 'not-an-id' })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(TerminalQuery, { id: '00000000-0000-4000-8000-000000000000' })).toBe('NOT_FOUND');

    const { openTerminal } = await server.ok(OpenTerminal, { container: c.name });
    expect(await server.errorCode(TerminalInput, { id: openTerminal.id, data: 'x'.repeat(64 * 1024 + 1) })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(ResizeTerminal, { id: openTerminal.id, cols: 80, rows: 0 })).toBe('BAD_USER_INPUT');
    const watch = watchWs(client, TerminalWatch, { id: openTerminal.id, after: 'x' });
    await watch.until(() => watch.done);
    expect(watch.errors.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);

    await server.ok(StopContainer, { container: c.name, timeoutSeconds: 0 });
    expect(await server.errorCode(OpenTerminal, { container: c.name })).toBe('CONFLICT');
  });

  it('reports an unknown user: Podman refuses it (NOT_FOUND, as for an exec), Docker runs nothing and says why', async () => {
    const c = await create(TEST_IMAGES[1].image);
    const result = await server.execute(OpenTerminal, { container: c.name, user: 'nosuchuser' });
    if ((process.env.PODGRAPH_ENGINE ?? 'podman') === 'podman') {
      expect(result.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['NOT_FOUND', 'No such user in the container: nosuchuser']]);
      return;
    }
    const watch = watchWs(client, TerminalWatch, { id: result.data!.openTerminal.id });
    await watch.until(() => watch.done);
    expect(screen(watch)).toContain('unable to find user nosuchuser');
    expect(watch.events.at(-1)!.terminal).toEqual({ __typename: 'TerminalExited', exitCode: 126 });
  });

  it('reaps idle terminals and bounds how many are open', async () => {
    const small = await startTestServer({ TERMINAL_IDLE_TIMEOUT: '1', MAX_TERMINALS: '1' });
    const smallClient = wsClient(small);
    onTestFinished(() => smallClient.dispose());
    const c = await containerFactory(small)(TEST_IMAGES[1].image);
    const { openTerminal } = await small.ok(OpenTerminal, { container: c.name });
    // A watcher keeps it from being idle, however slowly this runs.
    const watch = watchWs(smallClient, TerminalWatch, { id: openTerminal.id });
    await small.ok(TerminalInput, { id: openTerminal.id, data: 'echo watched\n' });
    await waitForText(watch, 'watched');
    expect(await small.errorCode(OpenTerminal, { container: c.name })).toBe('CONFLICT');
    watch.stop();
    for (let attempt = 0; attempt < 40 && (await small.ok(TerminalQuery, { id: openTerminal.id })).terminal.running; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await small.ok(TerminalQuery, { id: openTerminal.id })).terminal.running).toBe(false);
    await small.ok(OpenTerminal, { container: c.name });
  });
});
