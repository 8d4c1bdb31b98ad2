import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { HealthQuery } from './documents.js';
import { startTestServer } from './kit.js';

describe('health', async () => {
  const server = await startTestServer();

  it('reports the engine it talks to', async () => {
    const { health } = await server.ok(HealthQuery);
    expect(health.healthy).toBe(true);
    expect(health.engine?.name).toBe(process.env.PODGRAPH_ENGINE ?? 'podman');
    expect(health.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });
});

/**
 * A unix-socket relay to the engine that can stall (hold every new request unanswered, as a
 * busy engine does) or be cut (refuse connections, as a stopped one does).
 */
async function relay(dir: string) {
  const socket = path.join(dir, 'engine.sock');
  const target = new URL(process.env.DOCKER_HOST!).pathname;
  const clients = new Set<Socket>();
  let stalled = false;
  const server = createServer((client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client)).on('error', () => undefined);
    if (stalled) return;
    const upstream = connect(target);
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  server.listen(socket);
  await once(server, 'listening');
  return {
    socket,
    /** Requests, on new and kept-alive connections alike, no longer reach the engine. */
    stall: () => {
      stalled = true;
      for (const client of clients) client.unpipe();
    },
    cut: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.destroy();
        server.close(() => resolve());
        rmSync(socket, { force: true });
      }),
  };
}

describe('health of a busy engine', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'podgraph-health-'));
  const engine = await relay(dir);
  const server = await startTestServer({ DOCKER_HOST: `unix://${engine.socket}`, REQUEST_TIMEOUT: '3' });
  afterAll(async () => {
    await engine.cut();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays healthy while the engine is slow, answering within a second; turns unhealthy after REQUEST_TIMEOUT of silence, and at once when unreachable', async () => {
    expect((await server.ok(HealthQuery)).health.healthy).toBe(true);
    engine.stall();
    const started = performance.now();
    const slow = await server.ok(HealthQuery);
    expect(slow.health.healthy).toBe(true);
    expect(performance.now() - started).toBeLessThan(2500);

    await expect.poll(async () => (await server.ok(HealthQuery)).health.healthy, { timeout: 20_000, interval: 200 }).toBe(false);
    expect((await server.ok(HealthQuery)).health.engineError).toMatch(/did not answer/);

    await engine.cut();
    const cut = await server.ok(HealthQuery);
    expect(cut.health).toMatchObject({ healthy: false, engine: null });
  });
});
