import { describe, expect, it } from 'vitest';
import { authTokens, bearer, containerMaker, TOKENS } from './auth-kit.js';
import { CloseTerminal, OpenTerminalId, TerminalInput } from './documents.js';
import { graphql } from './gql/index.js';
import { BUSYBOX_IMAGE, cleanUpLater, containerFactory, startTestServer, uniqueName, type GraphQLClient } from './kit.js';
import { watchWs, wsClient } from './live-client.js';
import { serverProcess } from './process-kit.js';
import { asAdmin, DATABASES, freshPostgresUrl } from './store-kit.js';

const RecordingQuery = graphql(`
  query RecordingById($id: ID!) {
    recording(id: $id) {
      id
      containerName
      caller
      cols
      rows
      endedAt
      exitCode
      cast
      inputs {
        caller
        data
      }
    }
  }
`);

const Recordings = graphql(`
  query RecordingsOf($container: String!) {
    recordings(filter: { container: $container }, first: 10) {
      edges {
        node {
          id
        }
      }
    }
    container(ref: $container) {
      recordings {
        id
      }
    }
  }
`);

const Resize = graphql(`
  mutation RecordingResize($id: ID!) {
    resizeTerminal(id: $id, cols: 100, rows: 30) {
      cols
    }
  }
`);

const Watch = graphql(`
  subscription RecordingWatch($id: ID!) {
    terminal(id: $id) {
      __typename
      ... on TerminalOutput {
        data
      }
    }
  }
`);

type Watched = { terminal: { __typename: string; data?: string } };
const screenOf = (events: Watched[]) => events.map((e) => e.terminal.data ?? '').join('');

/** Parses an asciicast v2 file: its header and its events. */
function parseCast(cast: string) {
  const [header, ...events] = cast.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
  return { header: header as Record<string, unknown>, events: events as Array<[number, string, string]> };
}

/** Opens a shell in `container` with a watcher, types `keys`, and waits until the watcher has seen `expected`. */
async function typeAndSee(server: GraphQLClient, container: string, keys: string, expected: string) {
  const { openTerminal } = await server.ok(OpenTerminalId, { container, args: ['/bin/sh'] });
  const client = wsClient(server);
  cleanUpLater(async () => client.dispose());
  const watch = watchWs(client, Watch, { id: openTerminal.id });
  await server.ok(TerminalInput, { id: openTerminal.id, data: keys });
  await watch.until((events) => screenOf(events as Watched[]).includes(expected));
  return { id: openTerminal.id, watch, hangUp: () => client.dispose() };
}

describe.each(DATABASES)('terminal recordings on $label', ({ settings }) => {
  it('records output, input with who typed it, and resizes; exports them as asciicast v2, by query and by GET', async () => {
    const server = await startTestServer(await settings());
    const container = await containerFactory(server)(BUSYBOX_IMAGE);
    const { id, watch } = await typeAndSee(server, container.name, 'echo rec-$((6*7))\n', 'rec-42');
    await server.ok(Resize, { id });
    await server.ok(CloseTerminal, { id });
    await watch.until(() => watch.done);

    const { recording } = await server.ok(RecordingQuery, { id });
    expect(recording).toMatchObject({ id, containerName: container.name, caller: 'anonymous', cols: 80, rows: 24, inputs: [{ caller: 'anonymous', data: 'echo rec-$((6*7))\n' }] });
    expect(recording.endedAt).not.toBeNull();
    const { header, events } = parseCast(recording.cast);
    expect(header).toMatchObject({ version: 2, width: 80, height: 24, env: { TERM: 'xterm-256color' } });
    expect(events.filter(([, code]) => code === 'i').map(([, , data]) => data)).toEqual(['echo rec-$((6*7))\n']);
    expect(events.filter(([, code]) => code === 'r').map(([, , data]) => data)).toEqual(['100x30']);
    expect(events.filter(([, code]) => code === 'o').map(([, , data]) => data).join('')).toContain('rec-42');
    // In time order, as a player replays them.
    expect(events.map(([time]) => time)).toEqual([...events.map(([time]) => time)].sort((a, b) => a - b));

    const download = await fetch(`${server.url}/recordings/${id}.cast`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/x-asciicast; charset=utf-8');
    expect(await download.text()).toBe(recording.cast);
    const listed = await server.ok(Recordings, { container: container.name });
    expect(listed.recordings.edges.map((e) => e.node.id)).toEqual([id]);
    expect(listed.container.recordings.map((r) => r.id)).toEqual([id]);
  });

  it('keeps what a watcher saw through kill -9 of the server', async () => {
    const env = await settings();
    const first = await serverProcess(env);
    const container = await containerFactory(first)(BUSYBOX_IMAGE);
    const { id, hangUp } = await typeAndSee(first, container.name, 'echo seen-$((5*5))\n', 'seen-25');
    await hangUp();
    await first.kill();

    const second = await startTestServer(env);
    const { recording } = await second.ok(RecordingQuery, { id });
    expect(parseCast(recording.cast).events.filter(([, code]) => code === 'o').map(([, , data]) => data).join('')).toContain('seen-25');
    expect(recording.endedAt).toBeNull();
  }, 180_000);
});

describe('recordings under a token scope', () => {
  it("refuses a scoped token another lab's recording, by query and by GET, as if it did not exist", async () => {
    const lab = uniqueName('lab');
    const server = await startTestServer({ AUTH_TOKENS: authTokens(lab) });
    const other = await containerMaker(server.url).createOk('admin');
    const opened = await server.execute(OpenTerminalId, { container: other.name, args: ['/bin/sh'] }, bearer(TOKENS.admin));
    const id = opened.data!.openTerminal.id;
    const asScoped = await server.execute(RecordingQuery, { id }, bearer(TOKENS.scoped));
    expect(asScoped.errors?.[0]).toMatchObject({ message: `No such recording: ${id}`, extensions: { code: 'NOT_FOUND' } });
    const get = (token?: string, path = `/recordings/${id}.cast`) => fetch(`${server.url}${path}`, { headers: bearer(token) });
    expect((await get(TOKENS.scoped)).status).toBe(404);
    const anonymous = await get(undefined);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })] });
    expect((await get(TOKENS.viewer)).status).toBe(200);
    expect((await get(TOKENS.viewer, '/recordings/not-an-id.cast')).status).toBe(400);
    expect((await get(TOKENS.viewer, '/recordings/%E0%A4%A.cast')).status).toBe(400);
    await server.execute(CloseTerminal, { id }, bearer(TOKENS.admin));
  });
});

describe('a terminal while PostgreSQL stops answering', () => {
  it('is not opened unrecorded, and one already open is closed with STORE_UNAVAILABLE rather than run unrecorded', async () => {
    const url = await freshPostgresUrl();
    const database = new URL(url).pathname.slice(1);
    const server = await startTestServer({ DATABASE_URL: url });
    const container = await containerFactory(server)(BUSYBOX_IMAGE);
    const { id, watch } = await typeAndSee(server, container.name, 'echo before\n', 'before');
    const down = async () => {
      await asAdmin(`alter database ${database} allow_connections false`);
      await asAdmin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}'`);
    };
    await down();
    try {
      await server.ok(TerminalInput, { id, data: 'echo after\n' }).catch(() => undefined);
      const ended = await watch.until(() => watch.done);
      expect(screenOf(ended as Watched[])).not.toContain('after\r\n');
      expect(watch.errors[0]?.extensions?.code).toBe('STORE_UNAVAILABLE');
      const refused = await server.execute(OpenTerminalId, { container: container.name, args: ['/bin/sh'] });
      expect(refused.errors?.[0]?.extensions?.code).toBe('STORE_UNAVAILABLE');
    } finally {
      await asAdmin(`alter database ${database} allow_connections true`);
    }
  });
});

describe('RECORD_TERMINALS=false', () => {
  it('runs terminals unrecorded', async () => {
    const server = await startTestServer({ RECORD_TERMINALS: 'false' });
    const container = await containerFactory(server)(BUSYBOX_IMAGE);
    const { id, hangUp } = await typeAndSee(server, container.name, 'echo plain\n', 'plain');
    await hangUp();
    expect(await server.errorCode(RecordingQuery, { id })).toBe('NOT_FOUND');
  });
});
