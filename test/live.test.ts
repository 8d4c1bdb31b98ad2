import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { print } from 'graphql';
import { ContainerLogsLive as LogsLive, Exec, RemoveContainer, ServerStatsQuery, StopContainer } from './documents.js';
import { graphql } from './gql/index.js';
import type { ContainerLogBatchesCursorsSubscription, ContainerLogBatchesLiveSubscription, ContainerLogsLiveSubscription } from './gql/graphql.js';
import { DEBIAN_IMAGE, LOG_SOURCES, TEST_IMAGES, containerFactory, startTestServer, type TestServer } from './kit.js';
import { watchSse as openSse, watchWs as openWs, wsClient, type Watch } from './live-client.js';

const LogBatchesLive = graphql(`
  subscription ContainerLogBatchesLive($container: String!, $tail: Int, $maxBatch: Int) {
    containerLogBatches(container: $container, tail: $tail, maxBatch: $maxBatch) {
      __typename
      ... on LogLine {
        cursor
        message
      }
      ... on StreamGap {
        missed
      }
    }
  }
`);

/** The same document twice with other variables must not share results; with the same ones it may. */
const LogBatchesCursors = graphql(`
  subscription ContainerLogBatchesCursors($container: String!, $withCursor: Boolean!) {
    containerLogBatches(container: $container, tail: 0) {
      ... on LogLine {
        message
        cursor @include(if: $withCursor)
      }
    }
  }
`);

const EventsLive = graphql(`
  subscription ContainerEventsLive($actions: [String!]) {
    containerEvents(actions: $actions) {
      __typename
      ... on ContainerEvent {
        id
        name
        action
        time
        state
        exitCode
      }
    }
  }
`);

const StatsLive = graphql(`
  subscription ContainerStatsLive($container: String!) {
    containerStats(container: $container, intervalMs: 1000) {
      __typename
      ... on ContainerStats {
        time
        cpuPercent
        memoryUsedBytes
        memoryLimitBytes
        networkRxBytes
        pids
      }
    }
  }
`);

type LogEvent = ContainerLogsLiveSubscription['containerLogs'];
type BatchEvent = ContainerLogBatchesLiveSubscription['containerLogBatches'][number];
type BatchLine = Extract<BatchEvent, { __typename: 'LogLine' }>;
type LogLine = Extract<LogEvent, { __typename?: 'LogLine' }>;

const LONG_LINE_BYTES = 100_000;
/**
 * The container's main process: a few lines at start (one on stderr, one with multi-byte
 * characters, one far over the line cap), then a batch of N numbered lines, each padded by
 * the bytes in /tmp/pad, every time the test drops N into /tmp/go.
 */
const LOG_SCRIPT = [
  'echo "early 1"',
  'echo "early 2" >&2',
  'echo "utf8 héllo ✓ 😀 ünïcödé"',
  `head -c ${LONG_LINE_BYTES} /dev/zero | tr "\\0" x; echo`,
  'b=0',
  'while true; do if [ -f /tmp/go ]; then n=$(cat /tmp/go); rm /tmp/go; p=$(head -c $(cat /tmp/pad 2>/dev/null || echo 0) /dev/zero | tr "\\0" y); b=$((b+1)); i=0;',
  // At most about 10,000 lines a second, so a reader in this same process can keep up.
  'while [ $i -lt $n ]; do i=$((i+1)); echo "batch $b line $i$p"; [ $((i % 500)) -eq 0 ] && sleep 0.05; done; fi; sleep 0.05; done',
].join('\n');
const EARLY = ['early 1', 'early 2', 'utf8 héllo ✓ 😀 ünïcödé'];

// A server for each way of reading logs. A small queue so the slow reader overflows soon; a
// resume reaches back past a whole flood.
const SOURCES = await Promise.all(
  LOG_SOURCES.map(async ({ label, env }) => {
    const testServer = await startTestServer({ STREAM_QUEUE_BYTES: String(1024 * 1024), MAX_LOG_TAIL: '50000', ...env });
    return { label, server: testServer, createContainer: containerFactory(testServer), clients: Array.from({ length: 4 }, () => wsClient(testServer)) };
  }),
);
afterAll(() => Promise.all(SOURCES.flatMap((source) => source.clients.map((client) => client.dispose()))));
// The source under test: set by each source's describe block, read by the helpers below.
let { server, createContainer, clients } = SOURCES[0]!;

// Whatever a failing test leaves open is closed before the next one starts.
const opened: { stop(): void }[] = [];
afterEach(() => opened.splice(0).forEach((watch) => watch.stop()));
const watchWs: typeof openWs = (...args) => track(openWs(...args));
const watchSse: typeof openSse = (...args) => track(openSse(...args));
function track<W extends { stop(): void }>(watch: W): W {
  opened.push(watch);
  return watch;
}

const lines = (events: LogEvent[]) => events.filter((e): e is LogLine => e.__typename === 'LogLine');
const messages = (events: LogEvent[]) => lines(events).map((e) => e.message);
const batch = (b: number, n: number, from = 1) => Array.from({ length: n - from + 1 }, (_, i) => `batch ${b} line ${from + i}`);
/** A line's text without the padding some batches add. */
const unpadded = (line: LogLine) => line.message.replace(/y+$/, '');
/** Whether the latest line is `text` (checked on every event, so it must not scan them all). */
const hasLine = (text: string) => (events: { containerLogs: LogEvent }[]) => {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!.containerLogs;
    if (event.__typename === 'LogLine') return unpadded(event) === text;
  }
  return false;
};
const logsOf = (watch: Watch<{ containerLogs: LogEvent }>) => watch.events.map((e) => e.containerLogs);
const cursorKey = (cursor: string) => {
  const [nanos, index] = cursor.split('.');
  return BigInt(nanos!) * 1_000_000n + BigInt(index!);
};

async function logContainer(image: string) {
  return createContainer(image, { name: 'live', command: `sh -c '${LOG_SCRIPT}'` });
}

/** Makes the container print a batch of `count` lines, each padded by `pad` bytes. */
async function printBatch(container: string, count: number, pad = 0) {
  const { exec } = await server.ok(Exec, {
    container,
    input: { command: `echo ${pad} > /tmp/pad && echo ${count} > /tmp/go.n && mv /tmp/go.n /tmp/go` },
  });
  expect(exec.exitCode).toBe(0);
}

async function streamCounts(kind: string) {
  const { serverStats } = await server.ok(ServerStatsQuery);
  return serverStats.streams.find((s) => s.kind === kind)!;
}

/**
 * Polls until no stream of `kind` is open (an upstream lingers UPSTREAM_LINGER_MS after its last
 * subscriber). The bound is far above the linger, so only a stream that is never closed fails it,
 * whatever the machine's load.
 */
async function untilClosed(kind: string, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const counts = await streamCounts(kind);
    if (counts.upstreams === 0 && counts.subscribers === 0) return;
    if (Date.now() - start > timeoutMs) throw new Error(`${kind} streams still open: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(SOURCES)('reading $label', (source) => {
  beforeAll(() => ({ server, createContainer, clients } = source));

  describe.each(TEST_IMAGES)('live logs on $label', ({ image }) => {
    let container: string;
    let firstRun: LogLine[] = [];

    it('sends history then live lines in order, the same over WebSocket and SSE', async () => {
      container = (await logContainer(image)).name;
      const ws = watchWs(clients[0]!, LogsLive, { container, tail: 100 });
      const sse = watchSse(server, LogsLive, { container, tail: 100 });
      await Promise.all([ws, sse].map((w) => w.until((events) => events.length >= 4)));
      await printBatch(container, 30);
      await Promise.all([ws, sse].map((w) => w.until(hasLine('batch 1 line 30'))));
      ws.stop();
      sse.stop();

      const received = lines(logsOf(ws));
      expect(lines(logsOf(sse))).toEqual(received);
      expect(received.slice(0, 4).map((l) => l.message).sort()).toEqual(expect.arrayContaining(EARLY));
      expect(received.find((l) => l.message === 'early 2')!.stream).toBe('STDERR');
      expect(received.slice(4).map((l) => l.message)).toEqual(batch(1, 30));
      const long = received.find((l) => l.truncated)!;
      expect(long.message).toMatch(/^x{60000,}.*truncated/);
      expect(Buffer.byteLength(long.message)).toBeLessThanOrEqual(64 * 1024 + 64);
      const keys = received.map((l) => cursorKey(l.cursor));
      expect(keys.every((key, i) => i === 0 || key > keys[i - 1]!)).toBe(true);
      firstRun = received;
    });

    it('resumes after a cursor with exactly the lines that followed, then live ones', async () => {
      const resumeAt = 10;
      const watch = watchWs(clients[1]!, LogsLive, { container, after: firstRun[resumeAt]!.cursor });
      await watch.until(hasLine('batch 1 line 30'));
      await printBatch(container, 5);
      await watch.until(hasLine('batch 2 line 5'));
      watch.stop();
      const received = lines(logsOf(watch));
      expect(received.slice(0, firstRun.length - resumeAt - 1)).toEqual(firstRun.slice(resumeAt + 1));
      expect(received.slice(firstRun.length - resumeAt - 1).map((l) => l.message)).toEqual(batch(2, 5));
    });

    it('shares one upstream between 50 subscribers and closes it once the last has left', async () => {
      const watches = [
        ...Array.from({ length: 40 }, (_, i) => watchWs(clients[i % clients.length]!, LogsLive, { container, tail: 3, stderr: false })),
        ...Array.from({ length: 10 }, () => watchSse(server, LogsLive, { container, tail: 3, stderr: false })),
      ];
      await Promise.all(watches.map((w) => w.until(hasLine('batch 2 line 5'))));
      expect(await streamCounts('logs')).toEqual({ kind: 'logs', upstreams: 1, subscribers: 50 });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('podgraph_upstream_streams{kind="logs"} 1');
      expect(metrics).toContain('podgraph_stream_subscribers{kind="logs"} 50');

      await printBatch(container, 200);
      await Promise.all(watches.map((w) => w.until(hasLine('batch 3 line 200'))));
      for (const watch of watches) expect(messages(logsOf(watch))).toEqual(['batch 2 line 3', 'batch 2 line 4', 'batch 2 line 5', ...batch(3, 200)]);

      watches.forEach((w) => w.stop());
      await untilClosed('logs');
    });

    it('bounds a subscriber that does not read; the others still get every line', async () => {
      const fast = watchWs(clients[2]!, LogsLive, { container, tail: 0 });
      const slow = track(await rawSubscriber(server, LogsLive, { container, tail: 0 }));
      await untilSubscribers('logs', 2);
      slow.socket.pause();
      // Enough that the paused reader overflows its queue (1 MiB) and the socket buffers behind it (~3.5 MB).
      const total = 20_000;
      await printBatch(container, total, 200);
      await fast.until(hasLine(`batch 4 line ${total}`), 30_000);
      expect(lines(logsOf(fast)).map(unpadded)).toEqual(batch(4, total));

      slow.socket.resume();
      const slowEvents = await slow.until((events) => events.some((e) => e.__typename === 'StreamGap'));
      slow.stop();
      fast.stop();
      const gap = slowEvents.find((e) => e.__typename === 'StreamGap') as { missed: number; resumeCursor: string };
      const delivered = lines(slowEvents);
      // What it got is an unbroken prefix; the gap accounts for every other line.
      expect(delivered.map(unpadded)).toEqual(batch(4, delivered.length));
      console.log(`slow subscriber: ${delivered.length} delivered, ${gap.missed} missed`);
      expect(delivered.length + gap.missed).toBe(total);
      expect(gap.resumeCursor).toBe(delivered.at(-1)!.cursor);

      const resumed = watchWs(clients[3]!, LogsLive, { container, after: gap.resumeCursor });
      await resumed.until(hasLine(`batch 4 line ${total}`), 30_000);
      resumed.stop();
      expect(lines(logsOf(resumed)).map(unpadded)).toEqual(batch(4, total, delivered.length + 1));
      await untilClosed('logs');
    });

    it('delivers the same lines in batches: many to a message when they come fast, one when it comes alone', async () => {
      const single = watchWs(clients[0]!, LogsLive, { container, tail: 0 });
      const batched = watchWs(clients[1]!, LogBatchesLive, { container, tail: 0, maxBatch: 50 });
      await untilSubscribers('logs', 2);
      const total = 3000;
      await printBatch(container, total);
      const batchLines = (batches: BatchEvent[][]) => batches.flat().filter((e): e is BatchLine => e.__typename === 'LogLine');
      const lastLine = (events: { containerLogBatches: BatchEvent[] }[]) =>
        batchLines(events.slice(-1).map((e) => e.containerLogBatches)).at(-1)?.message === `batch 5 line ${total}`;
      await batched.until(lastLine, 30_000);
      await single.until(hasLine(`batch 5 line ${total}`), 30_000);

      const batches = batched.events.map((e) => e.containerLogBatches);
      const flattened = batchLines(batches);
      expect(flattened).toHaveLength(batches.flat().length);
      expect(flattened.map((e) => e.message)).toEqual(batch(5, total));
      expect(flattened.map((e) => e.cursor)).toEqual(lines(logsOf(single)).map((l) => l.cursor));
      expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(50);
      console.log(`containerLogBatches: ${total} lines in ${batches.length} messages`);
      expect(batches.length).toBeLessThan(total / 2);

      // A line on its own is not held back waiting for company.
      const before = batched.events.length;
      await printBatch(container, 1);
      await batched.until((events) => events.length > before);
      expect(batchLines(batched.events.slice(before, before + 1).map((e) => e.containerLogBatches)).map((e) => e.message)).toEqual(['batch 6 line 1']);
      single.stop();
      batched.stop();

      await untilClosed('logs');
      const refused = watchWs(clients[0]!, LogBatchesLive, { container, maxBatch: 0 });
      await refused.until(() => refused.done);
      expect(refused.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('executes a batch once for the subscribers of one operation, apart for other variables', async () => {
      const withCursors = [0, 1].map((i) => watchWs(clients[i]!, LogBatchesCursors, { container, withCursor: true }));
      const without = watchWs(clients[2]!, LogBatchesCursors, { container, withCursor: false });
      await untilSubscribers('logs', 3);
      const total = 2000;
      await printBatch(container, total);
      type Line = { message?: string; cursor?: string };
      // Podman's whole-second stamps let lines of the second before joining through: keep this batch's.
      const linesOf = (events: ContainerLogBatchesCursorsSubscription[]) =>
        events.flatMap((e) => e.containerLogBatches as Line[]).filter((line) => line.message?.startsWith('batch 7 '));
      const complete = (events: ContainerLogBatchesCursorsSubscription[]) => linesOf(events.slice(-1)).at(-1)?.message === `batch 7 line ${total}`;
      for (const watch of [...withCursors, without]) await watch.until(complete, 30_000);

      const [first, second] = withCursors.map((watch) => linesOf(watch.events));
      expect(first!.map((l) => l.message)).toEqual(batch(7, total));
      expect(first!.every((l) => typeof l.cursor === 'string')).toBe(true);
      expect(second).toEqual(first);
      expect(linesOf(without.events)).toEqual(first!.map(({ message }) => ({ message })));
      for (const watch of [...withCursors, without]) watch.stop();
      await untilClosed('logs');
    });

    it('reports stop and removal: events, stats, and the end of the log stream', async () => {
      const events = watchWs(clients[0]!, EventsLive, { actions: ['start', 'die', 'destroy', 'remove'] });
      await untilSubscribers('events', 1);
      const created = await createContainer(image, { name: 'ev' });
      const ofCreated = (watch: typeof events) => watch.events.map((e) => e.containerEvents).filter((e) => 'name' in e && e.name === created.name);
      await events.until(() => ofCreated(events).some((e) => 'action' in e && e.action === 'start'));

      const stats = watchWs(clients[1]!, StatsLive, { container: created.name });
      const [sample, next] = await stats.until((s) => s.length >= 2);
      stats.stop();
      expect(sample!.containerStats).toMatchObject({ __typename: 'ContainerStats', pids: expect.any(Number) });
      expect((sample!.containerStats as { memoryUsedBytes: number }).memoryUsedBytes).toBeGreaterThan(0);
      const spacing = Date.parse((next!.containerStats as { time: string }).time) - Date.parse((sample!.containerStats as { time: string }).time);
      expect(spacing).toBeGreaterThan(500);
      expect(spacing).toBeLessThan(2500);

      const logs = watchWs(clients[2]!, LogsLive, { container: created.name });
      await untilSubscribers('logs', 1);
      await server.ok(StopContainer, { container: created.name, timeoutSeconds: 1 });
      const ended = await logs.until(() => logsOf(logs).some((x) => x.__typename === 'LogEnd'));
      expect(ended.at(-1)!.containerLogs).toMatchObject({ __typename: 'LogEnd', reason: 'STOPPED', exitCode: expect.any(Number) });
      await logs.until(() => logs.done);

      await server.ok(RemoveContainer, { container: created.name, force: true });
      await events.until(() => ofCreated(events).some((e) => 'state' in e && e.state === 'REMOVED'));
      events.stop();
      const died = ofCreated(events).find((e) => 'action' in e && e.action === 'die');
      expect(died).toMatchObject({ state: 'EXITED', id: created.id });
      await untilClosed('events');
      await untilClosed('stats');
    });
  });

  describe('live log arguments', () => {
    it('reads a TTY container\'s raw stream: history and live lines without prefixes or carriage returns', async () => {
      const { name } = await createContainer(DEBIAN_IMAGE, { name: 'tty', tty: true, command: `sh -c '${LOG_SCRIPT}'` });
      const watch = watchWs(clients[0]!, LogsLive, { container: name });
      await watch.until((events) => events.length >= 4);
      await printBatch(name, 3);
      await watch.until(hasLine('batch 1 line 3'));
      watch.stop();
      const received = lines(logsOf(watch));
      // A TTY has one stream: stderr arrives as stdout. (The long line is left out: on a TTY the
      // parts the engine wrote it in keep their timestamps inside it.)
      expect(received.map((l) => l.message).filter((m) => !m.startsWith('x'))).toEqual([...EARLY, ...batch(1, 3)]);
      expect(received.every((l) => l.stream === 'STDOUT' && !l.message.includes('\r'))).toBe(true);
    });

    it('filters lines with a linear-time regular expression and rejects unsafe or oversized ones', async () => {
      const { name } = await logContainer(DEBIAN_IMAGE);
      const watch = watchWs(clients[0]!, LogsLive, { container: name, tail: 100, filter: '^early [0-9]$' });
      await watch.until((events) => events.length >= 2);
      watch.stop();
      expect(messages(logsOf(watch)).sort()).toEqual(['early 1', 'early 2']);

      for (const filter of ['(a+)\\1', '(?=a)b', 'a'.repeat(257), '(']) {
        const rejected = watchWs(clients[0]!, LogsLive, { container: name, filter });
        await rejected.until(() => rejected.done);
        expect(rejected.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
      const missing = watchSse(server, LogsLive, { container: 'pgt-no-such-container' });
      await missing.until(() => missing.done);
      expect(missing.errors[0]?.extensions?.code).toBe('NOT_FOUND');
    });

    it('ends cleanly when the container is removed while watched', async () => {
      const { name } = await logContainer(DEBIAN_IMAGE);
      const watch = watchWs(clients[0]!, LogsLive, { container: name });
      await watch.until((events) => events.length >= 4);
      await server.ok(RemoveContainer, { container: name, force: true });
      await watch.until(() => watch.done);
      // The stream ends as the container dies; whether it is gone yet when asked is a race.
      expect(logsOf(watch).at(-1)).toMatchObject({ __typename: 'LogEnd', reason: expect.stringMatching(/^(REMOVED|STOPPED)$/) });
      expect(watch.errors).toEqual([]);
      await untilClosed('logs');
    });

    it('leaves no upstream, subscriber, socket or memory behind after 1,000 subscribe/unsubscribe cycles', async () => {
      const { name } = await logContainer(DEBIAN_IMAGE);
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const snapshot = async () => {
        gc();
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        const gauge = (line: string) => Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics)?.[1]);
        return {
          // Connections to the engine are unix sockets; this process holds no other pipes that come and go.
          engineSockets: process.getActiveResourcesInfo().filter((r) => r === 'PipeWrap').length,
          fileWatchers: process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length,
          wsConnections: gauge('podgraph_open_connections{transport="ws"}'),
          listeners: gauge('podgraph_stream_subscribers{kind="logs"}'),
          upstreams: gauge('podgraph_upstream_streams{kind="logs"}'),
          heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
        };
      };
      const cycle = async (i: number) => {
        const watch = i % 2 ? watchSse(server, LogsLive, { container: name }) : watchWs(clients[i % 4]!, LogsLive, { container: name });
        await watch.until((events) => events.length >= 1);
        watch.stop();
      };
      const run = async (cycles: number) => {
        const concurrency = 20;
        for (let round = 0; round < cycles / concurrency; round++) {
          await Promise.all(Array.from({ length: concurrency }, (_, i) => cycle(round * concurrency + i)));
          opened.length = 0;
        }
        await untilClosed('logs');
      };
      // Warm up: connection pools, caches and compiled code reach their steady state first.
      await run(100);
      const before = await snapshot();
      const started = Date.now();
      await run(1000);
      const elapsed = Date.now() - started;
      // Kept-alive connections to the engine close on their own idle timer (5 s) and how many are
      // open depends on how the calls overlapped: wait for that; a leak never gets back down.
      await expect.poll(async () => (await snapshot()).engineSockets, { timeout: 15_000, interval: 500 }).toBeLessThanOrEqual(before.engineSockets);
      const after = await snapshot();
      console.log(`1000 cycles in ${elapsed} ms: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
      expect(after).toMatchObject({ fileWatchers: 0, wsConnections: before.wsConnections, listeners: 0, upstreams: 0 });
      expect(after.heapMiB - before.heapMiB).toBeLessThan(16);
    });
  });
});

async function untilSubscribers(kind: string, count: number) {
  for (let i = 0; i < 100; i++) {
    if ((await streamCounts(kind)).subscribers === count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${kind}: never reached ${count} subscribers`);
}

/** A graphql-ws subscriber on a bare socket, so the test can stop reading from it. */
async function rawSubscriber<V>(testServer: TestServer, document: typeof LogsLive, variables: V) {
  const socket = new WebSocket(`${testServer.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const events: LogEvent[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; payload?: { data?: { containerLogs: LogEvent } } };
    if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: print(document), variables } }));
    if (message.type === 'next' && message.payload?.data) events.push(message.payload.data.containerLogs);
    waiters.forEach((check) => check());
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init' }));
  return {
    socket,
    stop: () => socket.close(),
    until(predicate: (events: LogEvent[]) => boolean, timeoutMs = 30_000) {
      return new Promise<LogEvent[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`raw subscriber: timed out after ${events.length} events`)), timeoutMs);
        const check = () => {
          if (!predicate(events)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(events);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
