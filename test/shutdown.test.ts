import { print } from 'graphql';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Exec, ExecStreamKinds, OpenTerminalId, TerminalWatchKinds } from './documents.js';
import { graphql } from './gql/index.js';
import { BUSYBOX_IMAGE, containerFactory, processList, startTestServer, waitFor } from './kit.js';
import { watchSse, watchWs, wsClient } from './live-client.js';

const ShutdownLogs = graphql(`
  subscription ShutdownLogs($container: String!) {
    containerLogs(container: $container, tail: 0) {
      __typename
      ... on LogEnd {
        reason
      }
    }
  }
`);

/** SHUTDOWN_TIMEOUT of the server under test, in seconds. */
const BOUND_SECONDS = 3;
/** What stop may take beyond the bound on a loaded machine. */
const MARGIN_MS = 1000;

// Values of the exec marker in the container's processes, but the probe's own (fixed script).
const MARKED_PROCESSES =
  'for f in /proc/[0-9]*/environ; do tr "\\000" "\\n" < "$f" 2>/dev/null | grep "^PODGRAPH_EXEC_ID="; done | grep -vx "PODGRAPH_EXEC_ID=$PODGRAPH_EXEC_ID" | sort -u';

describe('shutdown', async () => {
  // Looks into the containers while, and after, the other server stops.
  const observer = await startTestServer();
  const create = containerFactory(observer);

  it('ends every stream, answers every operation with SHUTTING_DOWN, kills every process, within the bound', async () => {
    const server = await startTestServer({ SHUTDOWN_TIMEOUT: String(BOUND_SECONDS), REQUEST_TIMEOUT: '120' });
    const client = wsClient(server);
    onTestFinished(() => client.dispose());
    const c = await create(BUSYBOX_IMAGE, { command: 'sh -c "echo started; exec sleep 3600"' });

    // Three one-shot execs that would run for minutes: over HTTP, WebSocket and REST.
    const execInput = (seconds: number) => ({ container: c.name, input: { command: `sleep ${seconds}`, timeoutSeconds: 120 } });
    const overHttp = fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: print(Exec), variables: execInput(4101) }),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { errors?: { extensions: { code: string } }[] } }));
    const overWs = new Promise<unknown>((resolve, reject) =>
      client.subscribe({ query: print(Exec), variables: execInput(4102) }, { next: resolve, error: reject, complete: () => undefined }),
    );
    const overRest = fetch(`${server.url}/api/v1/containers/${c.name}/exec`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'sleep 4103' }),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { error: { type: string } } }));

    // Two exec streams, two terminals with a watcher each (WebSocket and SSE), a log subscription.
    const streams = [4104, 4105].map((seconds) => watchWs(client, ExecStreamKinds, { container: c.name, command: `sleep ${seconds}` }));
    const terminals = await Promise.all([4106, 4107].map((seconds) => server.ok(OpenTerminalId, { container: c.name, args: ['sleep', String(seconds)] })));
    const watchers = [
      watchWs(client, TerminalWatchKinds, { id: terminals[0]!.openTerminal.id }),
      watchSse(server, TerminalWatchKinds, { id: terminals[1]!.openTerminal.id }),
    ];
    const logs = watchWs(client, ShutdownLogs, { container: c.name });

    // Everything runs: every process is in the container, every watcher and subscriber joined.
    await waitFor(() => processList(observer, c.name), (list) => [4101, 4102, 4103, 4104, 4105, 4106, 4107].every((n) => list.includes(`sleep ${n}`)));
    const { services } = server.app;
    await waitFor(() => terminals.map(({ openTerminal }) => services.terminals.get(openTerminal.id).watchers), (counts) => counts.every((n) => n === 1));
    await waitFor(() => services.logs.hub.listenerCount, (count) => count === 1);
    await waitFor(() => services.exec.streaming, (count) => count === 2);

    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(BOUND_SECONDS * 1000 + MARGIN_MS);

    // Every one-shot client got its answer, SHUTTING_DOWN, not a dropped socket.
    const http = await overHttp;
    expect(http.body.errors?.map((e) => e.extensions.code)).toEqual(['SHUTTING_DOWN']);
    expect(await overWs).toMatchObject({ errors: [{ extensions: { code: 'SHUTTING_DOWN' } }] });
    expect(await overRest).toMatchObject({ status: 503, body: { success: false, error: { code: 503, type: 'ShuttingDownError' } } });

    // Every stream ended with its end event.
    for (const stream of streams) expect(stream.events.at(-1)?.execStream.__typename).toBe('ExecExited');
    for (const watcher of watchers) expect(watcher.events.at(-1)?.terminal.__typename).toBe('TerminalExited');
    expect(logs.events.at(-1)?.containerLogs).toEqual({ __typename: 'LogEnd', reason: 'SHUTDOWN' });

    // Nothing the server started runs on.
    const { exec } = await observer.ok(Exec, { container: c.name, input: { command: MARKED_PROCESSES } });
    expect(exec.stdout).toBe('');
    expect(await processList(observer, c.name)).not.toMatch(/sleep 41\d\d/);
  });
});
