import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authTokens, bearer, codes, containerMaker, TOKENS, transports } from './auth-kit.js';
import { startTestServer } from './kit.js';

const AUTH_TOKENS = authTokens(`watch-${process.pid}`);

type Kind = 'logs' | 'events' | 'stats';

/** Live subscribers on the server, of these kinds. */
async function subscribers(url: string, kinds: readonly Kind[]): Promise<number> {
  const result = await transports.http<{ serverStats: { streams: Array<{ kind: Kind; subscribers: number }> } }>(url, TOKENS.admin, '{ serverStats { streams { kind subscribers } } }');
  return result.data!.serverStats.streams.filter((stream) => kinds.includes(stream.kind)).reduce((sum, stream) => sum + stream.subscribers, 0);
}

/**
 * A dashboard: the subscriptions (of `kinds`) spread over WebSockets of `perConnection` each (within
 * MAX_SUBSCRIPTIONS_PER_CONNECTION), started all at once; resolves once each is running or refused.
 */
async function openConsole(url: string, token: string, kinds: readonly Kind[], queries: string[], perConnection = 50) {
  const clients: Client[] = [];
  const refusals: GraphQLFormattedError[] = [];
  queries.forEach((query, i) => {
    if (i % perConnection === 0) {
      clients.push(createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: bearer(token) }));
    }
    clients.at(-1)!.subscribe(
      { query },
      {
        // A refused start is a result with errors, then the end.
        next: (result) => refusals.push(...((result.errors ?? []) as GraphQLFormattedError[])),
        error: (error) => refusals.push(...(Array.isArray(error) ? (error as GraphQLFormattedError[]) : [{ message: String(error) }])),
        complete: () => undefined,
      },
    );
  });
  await expect.poll(async () => (await subscribers(url, kinds)) + refusals.length, { timeout: 30_000, interval: 100 }).toBe(queries.length);
  return {
    refusals,
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await expect.poll(() => subscribers(url, kinds), { timeout: 10_000, interval: 100 }).toBe(0);
    },
  };
}

describe('read-only subscriptions with the default limits', async () => {
  const server = await startTestServer({ AUTH_TOKENS });
  const { createOk } = containerMaker(server.url);

  it('let a console of 200 logs and stats reconnect 3 times (800 starts) without a refusal', async () => {
    const students = await Promise.all(Array.from({ length: 4 }, () => createOk('admin')));
    const queries = Array.from({ length: 100 }, (_, i) => students[i % students.length]!.name).flatMap((name) => [
      `subscription { containerLogs(container: "${name}") { __typename } }`,
      `subscription { containerStats(container: "${name}") { __typename } }`,
    ]);
    for (let round = 0; round < 4; round++) {
      const console = await openConsole(server.url, TOKENS.viewer, ['logs', 'stats'], queries);
      expect(console.refusals, `round ${round}`).toEqual([]);
      await console.close();
    }
  });
});

describe('read-only subscriptions past their own bucket', async () => {
  const server = await startTestServer({ AUTH_TOKENS, WATCH_RATE_LIMIT_BURST: '20', WATCH_RATE_LIMIT_PER_SECOND: '0.001' });
  const watches = [
    'subscription { containerLogs(container: "no-such-container") { __typename } }',
    'subscription { containerLogBatches(container: "no-such-container") { __typename } }',
    'subscription { containerStats(container: "no-such-container") { __typename } }',
    'subscription { terminal(id: "no-such-terminal") { __typename } }',
    'subscription { containerEvents { __typename } }',
  ];

  it('are refused beyond the burst, with a retry hint, and leave the bucket of mutations and execStream alone', async () => {
    const events = Array.from({ length: 30 }, () => 'subscription { containerEvents { __typename } }');
    const console = await openConsole(server.url, TOKENS.operator, ['events'], events);
    expect(console.refusals.map((error) => error.extensions?.code)).toEqual(Array.from({ length: 10 }, () => 'RATE_LIMITED'));
    expect(console.refusals[0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);

    // Every read-only subscription takes from the emptied bucket...
    for (const query of watches) expect(codes(await transports.ws(server.url, TOKENS.operator, query)), query).toEqual(['RATE_LIMITED']);
    // ...while execStream and mutations take from the other one, and other tokens have their own.
    expect(codes(await transports.ws(server.url, TOKENS.operator, 'subscription { execStream(container: "no-such-container", command: "true") { __typename } }'))).toEqual(['NOT_FOUND']);
    expect(codes(await transports.http(server.url, TOKENS.operator, 'mutation { stopContainer(container: "no-such-container") { state } }'))).toEqual(['NOT_FOUND']);
    expect(codes(await transports.ws(server.url, TOKENS.viewer, watches[0]!))).toEqual(['NOT_FOUND']);
    await console.close();
  });
});
