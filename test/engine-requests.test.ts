import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authTokens, containerMaker, sendAs } from './auth-kit.js';
import { StartContainer, StopContainer } from './documents.js';
import { startTestServer } from './kit.js';

/** A unix-socket relay to the engine that notes the request line of every request it carries. */
async function countingRelay(dir: string) {
  const socket = path.join(dir, 'engine.sock');
  const target = new URL(process.env.DOCKER_HOST!).pathname;
  const requests: string[] = [];
  const server = createServer((client) => {
    const upstream = connect(target);
    for (const end of [client, upstream]) end.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      for (const [, method, url] of chunk.toString('latin1').matchAll(/^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.1\r$/gm)) {
        requests.push(`${method} ${url!.replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '')}`);
      }
    });
    client.pipe(upstream).pipe(client);
  });
  server.listen(socket);
  await once(server, 'listening');
  return { socket, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('engine requests of one action', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'podgraph-requests-'));
  const relay = await countingRelay(dir);
  const lab = `requests-${process.pid}`;
  // Without the index, so every read of the action shows as a request here.
  const server = await startTestServer({ DOCKER_HOST: `unix://${relay.socket}`, AUTH_TOKENS: authTokens(lab), CONTAINER_INDEX: 'false' });
  const { createOk } = containerMaker(server.url);
  afterAll(async () => {
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('startContainer by name under a scoped token: one inspect before the start, one after, in one slot', async () => {
    const container = await createOk('scoped', { labels: [{ key: 'lab', value: lab }] });
    expect((await sendAs(server.url, 'http', 'scoped', StopContainer, { container: container.name })).errors).toBeUndefined();

    relay.requests.length = 0;
    let peak = 0;
    const { write, read } = server.app.services.pool;
    const sample = setInterval(() => (peak = Math.max(peak, write.active + read.active)), 1);
    const started = await sendAs(server.url, 'http', 'scoped', StartContainer, { container: container.name });
    clearInterval(sample);
    expect(started.errors).toBeUndefined();
    expect(relay.requests).toEqual([`GET /containers/${container.name}/json`, `POST /containers/${container.id}/start`, `GET /containers/${container.id}/json`]);
    expect(peak).toBeLessThanOrEqual(1);
  });
});
