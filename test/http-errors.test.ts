import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { startTestServer } from './kit.js';
import { TIMESTAMP } from './rest-client.js';

const server = await startTestServer();

interface Answer {
  status: number;
  contentType: string | null;
  body: unknown;
}

async function send(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, init);
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.json() };
}

/** The GraphQL error body with the code that belongs to the status. */
function expectGraphQLRefusal(answer: Answer, code: keyof typeof ERROR_CODES): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(ERROR_CODES[code].status);
  expect(answer.contentType).toMatch(/^application\/(graphql-response\+)?json/);
  expect(answer.body).toEqual({ errors: [{ message: expect.any(String), extensions: expect.objectContaining({ code }) }] });
}

function expectRestRefusal(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({ success: false, error: { message: expect.any(String), code: status, type: expect.any(String) }, timestamp: expect.stringMatching(TIMESTAMP) });
}

const postJson = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});
const longUrl = (path: string) => `${path}?padding=${'a'.repeat(70 * 1024)}`;

describe('requests refused before GraphQL runs', () => {
  it('answers a body that is not application/json with UNSUPPORTED_MEDIA_TYPE', async () => {
    const answer = await send('/graphql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' });
    expectGraphQLRefusal(answer, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a subscription that accepts only application/json with NOT_ACCEPTABLE, by POST and GET', async () => {
    const query = 'subscription { containerEvents { __typename } }';
    expectGraphQLRefusal(await send('/graphql', postJson(JSON.stringify({ query }), { accept: 'application/json' })), 'NOT_ACCEPTABLE');
    expectGraphQLRefusal(await send(`/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: 'application/json' } }), 'NOT_ACCEPTABLE');
  });

  it('answers invalid JSON with BAD_USER_INPUT on GraphQL and REST', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      expectGraphQLRefusal(await send('/graphql', postJson('{"query":', { accept })), 'BAD_USER_INPUT');
    }
    expectRestRefusal(await send('/api/v1/containers', postJson('{"image":')), 400);
  });

  it('answers another HTTP method with METHOD_NOT_ALLOWED and an unknown path with NOT_FOUND', async () => {
    expectGraphQLRefusal(await send('/graphql', { ...postJson('{}'), method: 'PUT' }), 'METHOD_NOT_ALLOWED');
    expectGraphQLRefusal(await send('/no/such/path'), 'NOT_FOUND');
  });

  it('answers a 70 KB URL with HEADERS_TOO_LARGE, in the REST shape on REST paths', async () => {
    expectGraphQLRefusal(await send(longUrl('/graphql')), 'HEADERS_TOO_LARGE');
    expectRestRefusal(await send(longUrl('/api/v1/containers')), 431);
  });

  it('answers bytes that are not HTTP with BAD_USER_INPUT, and keeps serving', async () => {
    const { port } = new URL(server.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(raw.split('\r\n\r\n')[1]!)).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'BAD_USER_INPUT' } }] });
    expect((await send('/graphql', postJson('{"query":"{ __typename }"}'))).body).toEqual({ data: { __typename: 'Query' } });
  });
});
