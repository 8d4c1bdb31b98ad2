import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer } from './kit.js';

/**
 * DNS rebinding: a page on attacker.example points its name at this machine, so the browser
 * sends the page's own name as Host and Origin, which the origin check alone lets through.
 */
const ATTACKER = 'attacker.example:4000';

// Authentication off on loopback, where a page could otherwise create containers.
const server = await startTestServer({ ALLOWED_HOSTS: 'Lab.Example.org' });
const { port } = new URL(server.url);

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** A request with the given Host (fetch will not send one other than the URL's). */
function send(method: string, path: string, host: string, body?: string, origin = `http://${host}`): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { host, origin, 'content-type': 'application/json', ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }) };
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const createContainer = JSON.stringify({
  query: 'mutation { createContainer(input: { image: "localhost/podgraph/none:never", name: "pgt-rebinding" }) { id } }',
});
const health = JSON.stringify({ query: '{ health { healthy } }' });

/** How a WebSocket upgrade with this Host ends: 101, or the refusal's status and body. */
function upgrade(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { headers: { host, origin: `http://${host}` } });
    socket.on('open', () => {
      socket.close();
      resolve({ status: 101, body: '' });
    });
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.on('error', () => undefined);
  });
}

async function forbiddenCount(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^podgraph_errors_total\{code="FORBIDDEN"\} (\d+)$/m.exec(text)?.[1]);
}

describe('Host header', () => {
  it('refuses GraphQL, REST and metrics requests for another host name with FORBIDDEN, and counts them', async () => {
    const before = await forbiddenCount();
    const graphql = await send('POST', '/graphql', ATTACKER, createContainer);
    expect(graphql.status).toBe(403);
    expect(graphql.contentType).toBe('application/json');
    expect(JSON.parse(graphql.body)).toEqual({ errors: [{ message: expect.stringContaining('ALLOWED_HOSTS'), extensions: { code: 'FORBIDDEN' } }] });

    const rest = await send('POST', '/api/v1/containers', ATTACKER, JSON.stringify({ image: 'localhost/podgraph/none:never', name: 'pgt-rebinding' }));
    expect(rest.status).toBe(403);
    expect(JSON.parse(rest.body)).toMatchObject({ success: false, error: { code: 403, type: 'ForbiddenError' } });

    const metrics = await send('GET', '/metrics', ATTACKER);
    expect(metrics.status).toBe(403);
    const page = await send('GET', '/graphql', ATTACKER);
    expect(page.status).toBe(403);
    expect(await forbiddenCount()).toBe(before + 4);
  });

  it('refuses a WebSocket upgrade for another host name with the same body, and counts it', async () => {
    const before = await forbiddenCount();
    const refused = await upgrade(ATTACKER);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ errors: [{ message: expect.stringContaining('ALLOWED_HOSTS'), extensions: { code: 'FORBIDDEN' } }] });
    expect(await forbiddenCount()).toBe(before + 1);
  });

  it.each([
    `localhost:${port}`,
    'localhost',
    `LOCALHOST.:${port}`,
    `lab1.localhost:${port}`,
    `127.0.0.1:${port}`,
    '10.0.0.5',
    `[::1]:${port}`,
    '[::1]',
    `lab.example.org:${port}`,
  ])('serves requests and upgrades for %s', async (host) => {
    const answer = await send('POST', '/graphql', host, health);
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { health: { healthy: expect.any(Boolean) } } });
    expect((await upgrade(host)).status).toBe(101);
  });

  it.each(['lab.example.org.evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', '::1', '[not-an-address]', 'evil.example:4000:1'])(
    'refuses %s',
    async (host) => {
      expect((await send('POST', '/graphql', host, health)).status).toBe(403);
    },
  );
});
