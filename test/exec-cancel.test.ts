import { print } from 'graphql';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ContainerExecutions, Exec } from './documents.js';
import { BUSYBOX_IMAGE, containerFactory, processList, startTestServer, waitFor } from './kit.js';
import { wsClient } from './live-client.js';

/** A one-shot exec that would run for ten minutes unless its client's leaving stops it. */
const LONG = 'sleep 600';

describe('a one-shot exec whose client goes away', async () => {
  const server = await startTestServer({ REQUEST_TIMEOUT: '900' });
  const create = containerFactory(server);

  /** Starts the exec through `send`, and once its process runs, has the client leave with `leave`. */
  async function leaveDuringExec(send: (container: string) => void, leave: () => void) {
    const c = await create(BUSYBOX_IMAGE);
    send(c.name);
    await waitFor(() => processList(server, c.name), (list) => list.includes(LONG));
    leave();
    // The process is killed, its slot freed, and the run recorded as cancelled.
    await waitFor(() => processList(server, c.name), (list) => !list.includes(LONG));
    await waitFor(() => server.app.services.pool.active, (active) => active === 0);
    const recorded = await waitFor(
      async () => (await server.ok(ContainerExecutions, { ref: c.name })).container.executions.find((e) => e.command.includes(LONG)),
      (execution) => execution !== undefined,
    );
    expect(recorded).toMatchObject({ cancelled: true, timedOut: false, exitCode: null });
  }

  it('over HTTP: the request is aborted', async () => {
    const controller = new AbortController();
    const body = (container: string) => JSON.stringify({ query: print(Exec), variables: { container, input: { command: LONG, timeoutSeconds: 900 } } });
    const send = (container: string) =>
      void fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(container), signal: controller.signal }).catch(
        () => undefined,
      );
    await leaveDuringExec(send, () => controller.abort());
  });

  it('over WebSocket: the socket closes', async () => {
    const client = wsClient(server);
    onTestFinished(() => client.dispose());
    const send = (container: string) =>
      void client.subscribe(
        { query: print(Exec), variables: { container, input: { command: LONG, timeoutSeconds: 900 } } },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
    await leaveDuringExec(send, () => void client.dispose());
  });

  it('over WebSocket: the client completes the operation, and the connection carries on', async () => {
    const client = wsClient(server);
    onTestFinished(() => client.dispose());
    let unsubscribe = () => undefined as void;
    const send = (container: string) => {
      unsubscribe = client.subscribe(
        { query: print(Exec), variables: { container, input: { command: LONG, timeoutSeconds: 900 } } },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
    };
    await leaveDuringExec(send, () => unsubscribe());
    const after = await new Promise((resolve, reject) =>
      client.subscribe({ query: '{ health { healthy } }' }, { next: resolve, error: reject, complete: () => undefined }),
    );
    expect(after).toMatchObject({ data: { health: { healthy: true } } });
  });

  it('over REST: the request is aborted', async () => {
    const controller = new AbortController();
    const send = (container: string) =>
      void fetch(`${server.url}/api/v1/containers/${container}/exec`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: LONG }),
        signal: controller.signal,
      }).catch(() => undefined);
    await leaveDuringExec(send, () => controller.abort());
  });
});
