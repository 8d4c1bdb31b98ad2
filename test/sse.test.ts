import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { authTokens, bearer, TOKENS } from './auth-kit.js';
import { graphql } from './gql/index.js';
import { BUSYBOX_IMAGE, containerFactory, DEBIAN_IMAGE, startTestServer, type TestServer } from './kit.js';
import { serverSentEvents, type ServerSentEvent } from './live-client.js';

const SseLogs = graphql(`
  subscription SseLogs($container: String!, $tail: Int) {
    containerLogs(container: $container, tail: $tail) {
      __typename
      ... on LogLine {
        cursor
        message
      }
    }
  }
`);

const SseLogBatches = graphql(`
  subscription SseLogBatches($container: String!, $tail: Int, $maxBatch: Int) {
    containerLogBatches(container: $container, tail: $tail, maxBatch: $maxBatch) {
      __typename
      ... on LogLine {
        cursor
        message
      }
    }
  }
`);

const SseOpenTerminal = graphql(`
  mutation SseOpenTerminal($container: String!, $args: [String!]) {
    openTerminal(container: $container, args: $args) {
      id
    }
  }
`);

const SseTerminalInput = graphql(`
  mutation SseTerminalInput($id: ID!, $data: String!) {
    terminalInput(id: $id, data: $data)
  }
`);

const SseTerminal = graphql(`
  subscription SseTerminal($id: ID!) {
    terminal(id: $id) {
      __typename
      ... on TerminalOutput {
        data
        cursor
      }
    }
  }
`);

const LINES = 60;
/** Prints LINES numbered lines at once, then waits. */
const PRINT_LINES = `sh -c 'i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "line $i"; done; sleep 3600'`;
/** Prints a numbered tick five times a second, for as long as it runs. */
const TICKS = `sh -c 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'`;
const TIMEOUT_MS = 20_000;

type Line = { __typename: 'LogLine'; cursor: string; message: string };

/** An open event stream: its events one at a time, each within a bound; closed by close(). */
async function openStream(url: string, body: unknown, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const events = serverSentEvents(response);
  return { next: () => nextEvent(events), close: () => controller.abort() };
}

type Stream = Awaited<ReturnType<typeof openStream>>;

/** The numbered lines of the next `next` events (a line event, or a batch of them), with each event's id. */
async function readLines(stream: Stream, field: 'containerLogs' | 'containerLogBatches', until: (numbers: number[]) => boolean) {
  const numbers: number[] = [];
  const ids: { id: string | undefined; lastCursor: string | undefined }[] = [];
  while (!until(numbers)) {
    const message = await stream.next();
    if (message.event !== 'next') continue;
    const payload = JSON.parse(message.data) as { data: Record<string, Line | Line[]> };
    const lines = ([] as Line[]).concat(payload.data[field]!).filter((e) => e.__typename === 'LogLine' && e.message.startsWith('line '));
    numbers.push(...lines.map((l) => Number(l.message.slice(5))));
    ids.push({ id: message.id, lastCursor: lines.at(-1)?.cursor });
  }
  return { numbers, ids };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('server-sent events on /graphql: event ids and Last-Event-ID', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);
  const endpoint = `${server.url}/graphql`;

  it('containerLogs: each line carries its cursor as id; a reconnect with Last-Event-ID resumes with no gap and no repeat', async () => {
    const container = (await create(BUSYBOX_IMAGE, { command: PRINT_LINES })).name;
    // tail covers every line, and stays in the reconnect's arguments: Last-Event-ID overrides it.
    const body = { query: print(SseLogs), variables: { container, tail: 1000 } };
    const first = await openStream(endpoint, body);
    const before = await readLines(first, 'containerLogs', (n) => n.length >= 25);
    first.close();
    expect(before.numbers).toEqual(range(1, 25));
    for (const { id, lastCursor } of before.ids) expect(id).toBe(lastCursor);

    const resumed = await openStream(endpoint, body, { 'last-event-id': before.ids.at(-1)!.id! });
    const after = await readLines(resumed, 'containerLogs', (n) => n.includes(LINES));
    resumed.close();
    expect(after.numbers).toEqual(range(26, LINES));
  });

  it("containerLogBatches: each batch's id is its last line's cursor; resuming from it continues with the next line", async () => {
    const container = (await create(BUSYBOX_IMAGE, { command: PRINT_LINES })).name;
    const body = { query: print(SseLogBatches), variables: { container, tail: 1000, maxBatch: 7 } };
    const first = await openStream(endpoint, body);
    const before = await readLines(first, 'containerLogBatches', (n) => n.length >= 20);
    first.close();
    expect(before.numbers).toEqual(range(1, before.numbers.length));
    for (const { id, lastCursor } of before.ids) expect(id).toBe(lastCursor);

    const resumed = await openStream(endpoint, body, { 'last-event-id': before.ids.at(-1)!.id! });
    const after = await readLines(resumed, 'containerLogBatches', (n) => n.includes(LINES));
    resumed.close();
    expect(after.numbers).toEqual(range(before.numbers.length + 1, LINES));
  });

  it("terminal: output carries its cursor as id; a reconnect with Last-Event-ID gets only what came after", async () => {
    const container = (await create(DEBIAN_IMAGE)).name;
    const script = 'echo first-part; read x; echo "second-$x"; sleep 3600';
    const { openTerminal } = await server.ok(SseOpenTerminal, { container, args: ['sh', '-c', script] });
    const body = { query: print(SseTerminal), variables: { id: openTerminal.id } };
    type Output = { data: { terminal: { __typename: string; data?: string; cursor?: string } } };
    const outputUntil = async (stream: Stream, text: string) => {
      let seen = '';
      let last: ServerSentEvent | undefined;
      while (!seen.includes(text)) {
        const message = await stream.next();
        if (message.event !== 'next') continue;
        const { terminal } = (JSON.parse(message.data) as Output).data;
        expect(message.id).toBe(terminal.cursor);
        seen += terminal.data ?? '';
        last = message;
      }
      return { seen, lastId: last!.id! };
    };

    const first = await openStream(endpoint, body);
    const { lastId } = await outputUntil(first, 'first-part');
    first.close();
    await server.ok(SseTerminalInput, { id: openTerminal.id, data: 'go\n' });

    const resumed = await openStream(endpoint, body, { 'last-event-id': lastId });
    const { seen } = await outputUntil(resumed, 'second-go');
    resumed.close();
    expect(seen).not.toContain('first-part');
  });

  it('an invalid Last-Event-ID is BAD_USER_INPUT', async () => {
    const container = (await create(BUSYBOX_IMAGE)).name;
    const stream = await openStream(endpoint, { query: print(SseLogs), variables: { container } }, { 'last-event-id': 'not a cursor' });
    const message = await stream.next();
    stream.close();
    expect((JSON.parse(message.data) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});

const STREAM_PATH = '/graphql/stream';
const Health = '{ health { healthy } }';

/** A JSON refusal's status and code. */
async function refusal(response: Response) {
  const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
  return { status: response.status, code: body.errors[0]!.extensions.code };
}

/** The graphql-sse protocol on /graphql/stream, as its clients speak it. */
function graphqlSse(server: TestServer, token?: string) {
  const url = `${server.url}${STREAM_PATH}`;
  const auth = bearer(token);
  return {
    distinct: (query: string, variables?: unknown) => openStream(url, { query, variables }, auth),
    reserve: () => fetch(url, { method: 'PUT', headers: auth }),
    connect: (streamToken: string, headers = auth) => openGet(url, streamToken, headers),
    operation: (streamToken: string, operationId: string, query: string, variables?: unknown, headers = auth) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': streamToken, ...headers },
        body: JSON.stringify({ query, variables, extensions: { operationId } }),
      }),
    cancel: (streamToken: string, operationId: string) =>
      fetch(`${url}?operationId=${operationId}`, { method: 'DELETE', headers: { 'x-graphql-event-stream-token': streamToken, ...auth } }),
  };
}

/** Single connection mode's stream: GET with the reserved token. */
async function openGet(url: string, streamToken: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', 'x-graphql-event-stream-token': streamToken, ...headers }, signal: controller.signal });
  return { response, events: response.ok ? serverSentEvents(response) : undefined, close: () => controller.abort() };
}

/** The next event of a stream within the bound. */
async function nextEvent(events: AsyncGenerator<ServerSentEvent>): Promise<ServerSentEvent> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no event within the bound')), TIMEOUT_MS)));
  try {
    const { value, done } = await Promise.race([events.next(), timeout]);
    if (done) throw new Error('the stream ended');
    return value;
  } finally {
    clearTimeout(timer);
  }
}

describe('graphql-sse on /graphql/stream', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);
  const client = graphqlSse(server);

  it('distinct connections mode: a query, then complete; a subscription streams', async () => {
    const query = await client.distinct(Health);
    expect(await query.next()).toMatchObject({ event: 'next', data: JSON.stringify({ data: { health: { healthy: true } } }) });
    expect((await query.next()).event).toBe('complete');
    query.close();

    const container = (await create(BUSYBOX_IMAGE, { command: PRINT_LINES })).name;
    const logs = await client.distinct(print(SseLogs), { container, tail: 1000 });
    const { numbers } = await readLines(logs, 'containerLogs', (n) => n.length >= 5);
    logs.close();
    expect(numbers).toEqual(range(1, 5));
  });

  it('single connection mode: PUT reserves a stream, GET opens it, POST runs operations on it, DELETE ends one', async () => {
    const reserved = await client.reserve();
    expect(reserved.status).toBe(201);
    const streamToken = await reserved.text();
    const stream = await client.connect(streamToken);
    expect(stream.response.status).toBe(200);
    try {
      expect((await client.operation(streamToken, 'q1', Health)).status).toBe(202);
      expect(await nextEvent(stream.events!)).toEqual({ event: 'next', data: JSON.stringify({ id: 'q1', payload: { data: { health: { healthy: true } } } }) });
      expect(await nextEvent(stream.events!)).toEqual({ event: 'complete', data: JSON.stringify({ id: 'q1' }) });

      // Live lines keep coming after the POST that started the subscription has been answered.
      const container = (await create(BUSYBOX_IMAGE, { command: TICKS })).name;
      expect((await client.operation(streamToken, 's1', print(SseLogs), { container, tail: 0 })).status).toBe(202);
      const ticks: string[] = [];
      while (ticks.length < 3) {
        const { id, payload } = JSON.parse((await nextEvent(stream.events!)).data) as { id: string; payload: { data: { containerLogs: Line } } };
        expect(id).toBe('s1');
        ticks.push(payload.data.containerLogs.message);
      }
      expect(new Set(ticks).size).toBe(3);
      expect((await client.cancel(streamToken, 's1')).status).toBe(200);
      expect(await nextEvent(stream.events!)).toEqual({ event: 'complete', data: JSON.stringify({ id: 's1' }) });
    } finally {
      stream.close();
    }
  });

  it("the protocol's refusals carry a code from the table", async () => {
    const url = `${server.url}${STREAM_PATH}`;
    // An operation for a stream that was never reserved.
    expect(await refusal(await client.operation('no-such-stream', 'q1', Health))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(await refusal(await fetch(url, { method: 'PATCH', headers: { 'x-graphql-event-stream-token': 'x.y' } }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(await refusal(await fetch(url, { method: 'PUT', headers: { accept: 'application/json' } }))).toEqual({ status: 406, code: 'NOT_ACCEPTABLE' });
    const syntax = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ query: '{' }) });
    expect(await refusal(syntax)).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
    const noQuery = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: '{}' });
    expect(await refusal(noQuery)).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
  });
});

describe('graphql-sse on /graphql/stream with tokens', async () => {
  // A bucket that refills slowly enough that a burst of reservations runs it dry.
  const server = await startTestServer({ AUTH_TOKENS: authTokens('sse'), RATE_LIMIT_BURST: '5', RATE_LIMIT_PER_SECOND: '0.01' });

  it('every request needs a token; a reserved stream is only its own token’s', async () => {
    expect(await refusal(await graphqlSse(server).reserve())).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    const unauthenticated = await fetch(`${server.url}${STREAM_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: Health }),
    });
    expect(await refusal(unauthenticated)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });

    const viewer = graphqlSse(server, TOKENS.viewer);
    const query = await viewer.distinct(Health);
    expect(await query.next()).toMatchObject({ event: 'next', data: JSON.stringify({ data: { health: { healthy: true } } }) });
    query.close();

    const streamToken = await (await viewer.reserve()).text();
    const stolen = await viewer.connect(streamToken, bearer(TOKENS.operator));
    expect(await refusal(stolen.response)).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(await refusal(await viewer.operation(streamToken, 'q1', Health, undefined, bearer(TOKENS.operator)))).toEqual({ status: 404, code: 'NOT_FOUND' });

    const own = await viewer.connect(streamToken);
    try {
      expect((await viewer.operation(streamToken, 'q1', Health)).status).toBe(202);
      expect(await nextEvent(own.events!)).toMatchObject({ event: 'next', data: JSON.stringify({ id: 'q1', payload: { data: { health: { healthy: true } } } }) });
    } finally {
      own.close();
    }
  });

  it('a reservation takes from the token’s bucket, as a subscription start does', async () => {
    const burst = graphqlSse(server, TOKENS.burst);
    for (let i = 0; i < 5; i++) expect((await burst.reserve()).status).toBe(201);
    const refused = await burst.reserve();
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refusal(refused)).toEqual({ status: 429, code: 'RATE_LIMITED' });
  });
});
