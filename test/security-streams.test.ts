import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authTokens, bearer, codes, containerMaker, sendAs, TOKENS, type Outcome, type Token, type Transport } from './auth-kit.js';
import { CloseTerminal, TerminalInput } from './documents.js';
import { graphql } from './gql/index.js';
import { startTestServer } from './kit.js';

/** The label that puts a container in the scoped token's scope; unique to this run. */
const LAB = `secs-${process.pid}-${Date.now().toString(36)}`;
const server = await startTestServer({ AUTH_TOKENS: authTokens(LAB), RATE_LIMIT_BURST: '30', RATE_LIMIT_PER_SECOND: '0.1' });
const { createOk: create } = containerMaker(server.url);
const send = <T, V>(transport: Transport, token: Token, document: TypedDocumentNode<T, V>, variables?: V) =>
  sendAs(server.url, transport, token, document, variables);

const Logs = graphql(`
  subscription SecStreamsLogs($container: String!) {
    containerLogs(container: $container, tail: 1) {
      __typename
    }
  }
`);

const Stats = graphql(`
  subscription SecStreamsStats($container: String!) {
    containerStats(container: $container) {
      __typename
    }
  }
`);

const ExecStream = graphql(`
  subscription SecStreamsExec($container: String!) {
    execStream(container: $container, command: "echo streamed") {
      __typename
    }
  }
`);

const Events = graphql(`
  subscription SecStreamsEvents {
    containerEvents {
      ... on ContainerEvent {
        name
        action
      }
    }
  }
`);

const OpenTerminal = graphql(`
  mutation SecStreamsOpenTerminal($container: String!) {
    openTerminal(container: $container, command: "sh") {
      id
    }
  }
`);

const WatchTerminal = graphql(`
  subscription SecStreamsWatchTerminal($id: ID!) {
    terminal(id: $id) {
      __typename
    }
  }
`);

const inside = await create('admin', { labels: [{ key: 'lab', value: LAB }] });
const outside = await create('admin');

describe('subscriptions and container scope', () => {
  it.each(['ws', 'sse'] as const)('refuses logs, stats and exec streams of a container out of scope when they start, over %s', async (transport) => {
    expect(codes(await send(transport, 'scoped', Logs, { container: outside.name }))).toEqual(['NOT_FOUND']);
    expect(codes(await send(transport, 'scoped', Stats, { container: outside.name }))).toEqual(['NOT_FOUND']);
    expect(codes(await send(transport, 'scoped', ExecStream, { container: outside.name }))).toEqual(['NOT_FOUND']);
    expect((await send(transport, 'scoped', ExecStream, { container: inside.name })).errors).toBeUndefined();
  });

  it('delivers only events of containers in scope, including containers created after the subscription', async () => {
    const client = createClient({ url: `${server.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: bearer(TOKENS.scoped) });
    const names: string[] = [];
    const stop = client.subscribe<{ containerEvents: { name?: string } }>(
      { query: print(Events) },
      { next: (result) => names.push(result.data?.containerEvents.name ?? ''), error: () => undefined, complete: () => undefined },
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const later = { outside: await create('admin'), inside: await create('admin', { labels: [{ key: 'lab', value: LAB }] }) };
      const deadline = Date.now() + 10_000;
      while (!names.includes(later.inside.name) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(names).toContain(later.inside.name);
      expect(names).not.toContain(later.outside.name);
      expect(names.every((name) => name !== outside.name)).toBe(true);
    } finally {
      stop();
      await client.dispose();
    }
  });

  it('keeps terminals of containers out of scope invisible', async () => {
    const terminal = (await send('http', 'admin', OpenTerminal, { container: outside.name })).data!.openTerminal;
    expect(codes(await send('http', 'scoped', OpenTerminal, { container: outside.name }))).toEqual(['NOT_FOUND']);
    expect(codes(await send('ws', 'scoped', WatchTerminal, { id: terminal.id }))).toEqual(['NOT_FOUND']);
    expect(codes(await send('http', 'scoped', TerminalInput, { id: terminal.id, data: 'id\n' }))).toEqual(['NOT_FOUND']);
  });

  it('lets a viewer watch a terminal but not type into it', async () => {
    const terminal = (await send('http', 'operator', OpenTerminal, { container: inside.name })).data!.openTerminal;
    const watched: Outcome<unknown> = await send('ws', 'viewer', WatchTerminal, { id: terminal.id });
    expect(watched.errors).toBeUndefined();
    expect(codes(await send('http', 'viewer', TerminalInput, { id: terminal.id, data: 'id\n' }))).toEqual(['FORBIDDEN']);
  });
});

describe('subscription rate limit', async () => {
  const tight = await startTestServer({ AUTH_TOKENS: authTokens(LAB), WATCH_RATE_LIMIT_BURST: '2', WATCH_RATE_LIMIT_PER_SECOND: '0.1' });

  it("refuses read-only subscription starts past the token's watch bucket, over WS and SSE", async () => {
    const start = (transport: Transport) => sendAs(tight.url, transport, 'burst', Stats, { container: inside.name });
    expect((await start('ws')).errors).toBeUndefined();
    expect((await start('sse')).errors).toBeUndefined();
    for (const transport of ['ws', 'sse'] as const) {
      const refused = await start(transport);
      expect(codes(refused)).toEqual(['RATE_LIMITED']);
      expect(refused.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    }
  });
});

describe('terminals per token', async () => {
  const bounded = await startTestServer({ AUTH_TOKENS: authTokens(LAB), MAX_TERMINALS_PER_TOKEN: '1' });
  const open = (token: Token) => sendAs(bounded.url, 'http', token, OpenTerminal, { container: inside.name });

  it('bounds the terminals one token has open, not the others', async () => {
    const first = (await open('operator')).data!.openTerminal;
    expect(codes(await open('operator'))).toEqual(['CONFLICT']);
    const admins = (await open('admin')).data!.openTerminal;
    expect((await sendAs(bounded.url, 'http', 'operator', CloseTerminal, { id: first.id })).errors).toBeUndefined();
    const again = (await open('operator')).data!.openTerminal;
    for (const { id } of [admins, again]) await sendAs(bounded.url, 'http', 'admin', CloseTerminal, { id });
  });
});
