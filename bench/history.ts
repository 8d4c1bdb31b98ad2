import { ExecutionStore, type Execution } from '../src/store/executions.js';
import { HistoryDatabase } from '../src/store/database.js';
import { connectAll, graphqlRequest, subscribe, wsRequest, type WsConnection } from './clients.js';
import { waitUntil, type Scenario } from './context.js';
import { BUSYBOX_IMAGE } from './fixtures.js';
import { ms, percentiles, ratio, verdict, type ScenarioResult } from './report.js';
import type { ServerProcess } from './server.js';
import { interleave, pair, timed } from './stats.js';
import { EchoWatcher } from './streams.js';

const OPEN_TERMINAL = `mutation Open($container: String!, $args: [String!]) { openTerminal(container: $container, args: $args) { id } }`;
const WATCH_TERMINAL = `subscription Watch($id: ID!) { terminal(id: $id) { __typename ... on TerminalOutput { data } } }`;
const TERMINAL_INPUT = `mutation Type($id: ID!, $data: String!) { terminalInput(id: $id, data: $data) }`;
const CLOSE_TERMINAL = `mutation Close($id: ID!) { closeTerminal(id: $id) { id } }`;

/** About 1 MB/s of hex digits in the background, and a shell reading keys in front of it. */
const FLOOD_THEN_SHELL = '(while :; do yes 0123456789abcdef | head -c 40960; sleep 0.015; done) & exec /bin/sh';
/** Keys that the flood never prints, so each echo is known when it arrives. */
const MARKERS = 'GHIJKLMNOPQRSTUVWXYZ';
const WATCHERS = 10;

interface FloodedTerminal {
  /** Types one marker key and resolves with each watcher's milliseconds until its echo. */
  keystroke(): Promise<number[]>;
  /** Output bytes per second the first watcher received so far. */
  rate(): number;
  close(): Promise<void>;
}

async function floodedTerminal(server: ServerProcess, container: string): Promise<FloodedTerminal> {
  const connections: WsConnection[] = await connectAll(server.url, WATCHERS);
  const { openTerminal } = await graphqlRequest<{ openTerminal: { id: string } }>(server.url, OPEN_TERMINAL, { container, args: ['/bin/sh', '-c', FLOOD_THEN_SHELL] });
  const echoes = connections.map(() => new EchoWatcher());
  let received = 0;
  let firstAt = 0;
  const watches = connections.map((connection, i) =>
    subscribe<{ terminal: { data?: string } }>(connection.client, WATCH_TERMINAL, { id: openTerminal.id }, ({ terminal }) => {
      if (terminal.data === undefined) return;
      if (i === 0) {
        firstAt ||= performance.now();
        received += terminal.data.length;
      }
      echoes[i]!.feed(terminal.data);
    }),
  );
  await waitUntil('the flood to reach the watchers', () => received > 64 * 1024, 30_000);
  let key = 0;
  return {
    async keystroke() {
      const char = MARKERS[key++ % MARKERS.length]!;
      const start = performance.now();
      const echoed = echoes.map((echo) => echo.expect(char, 30_000).then(() => performance.now() - start));
      await wsRequest(connections[0]!.client, TERMINAL_INPUT, { id: openTerminal.id, data: char });
      return Promise.all(echoed);
    },
    rate: () => (received / (performance.now() - firstAt)) * 1000,
    async close() {
      for (const watch of watches) watch.stop();
      await graphqlRequest(server.url, CLOSE_TERMINAL, { id: openTerminal.id }).catch(() => undefined);
      await Promise.all(connections.map((connection) => connection.close()));
    },
  };
}

export const recordedTerminal: Scenario = {
  name: 'recorded terminal at 1 MB/s, 10 watchers',
  target: "watchers' p99 echo latency within 2 ms of an unrecorded terminal",
  requires: ['Query.recording'],
  async run(context) {
    const unrecordedServer = await context.startServer({ RECORD_TERMINALS: 'false' });
    const container = await context.fixtures.create('recorded-terminal', BUSYBOX_IMAGE);
    const recorded = await floodedTerminal(context.server, container.name);
    const unrecorded = await floodedTerminal(unrecordedServer, container.name);
    try {
      const samples = { recorded: [] as number[], unrecorded: [] as number[] };
      const rounds = context.quick ? 20 : 100;
      for (let round = 0; round < 5 + rounds; round++) {
        const a = await recorded.keystroke();
        const b = await unrecorded.keystroke();
        if (round < 5) continue;
        samples.recorded.push(...a);
        samples.unrecorded.push(...b);
      }
      const result = pair(samples.recorded, samples.unrecorded);
      const added = result.podgraph.p99 - result.baseline.p99;
      return [
        {
          scenario: this.name,
          podgraph: `recorded: ${percentiles(result.podgraph)}`,
          baseline: `unrecorded: ${percentiles(result.baseline)}`,
          ratio: ratio(result.podgraph.p99 / result.baseline.p99),
          target: this.target,
          verdict: verdict(added <= 2),
          note:
            `One busybox shell per server behind ${(recorded.rate() / 1e6).toFixed(2)} MB/s (recorded) and ${(unrecorded.rate() / 1e6).toFixed(2)} MB/s (unrecorded) of output, ` +
            `${WATCHERS} \`terminal\` watchers each on its own WebSocket; a key typed with \`terminalInput\`, until every watcher has its echo, ${rounds} keys per server alternately ` +
            `(${result.podgraph.n} latencies each). The baseline is a second podgraph with RECORD_TERMINALS=false; both floods run at once on the same 2 cores. ` +
            `Recording adds ${ms(added)} at p99 and ${ms(result.addedAtMedian)} at p50.`,
          figures: { ...result },
        },
      ];
    } finally {
      await recorded.close();
      await unrecorded.close();
      await unrecordedServer.stop();
    }
  },
};

const STORED = 100_000;
const CONTAINERS = 100;
const EXECUTIONS_OF = `query Of($container: String!) { executions(first: 50, filter: { container: $container }) { edges { node { id exitCode startedAt } } } }`;

/** 100,000 executions over 100 containers, written straight into the server's history database. */
async function seedExecutions(dataDir: string): Promise<ExecutionStore> {
  const database = new HistoryDatabase({ dataDir });
  await database.open();
  const store = new ExecutionStore(database);
  const start = Date.now() - STORED * 1000;
  await database.db.transaction().execute(async (tx) => {
    for (let n = 0; n < STORED; n++) {
      const startedAt = new Date(start + n * 1000);
      const execution: Execution = {
        id: `bench-${n}`,
        containerId: `${(n % CONTAINERS).toString(16).padStart(64, '0')}`,
        containerName: `bench-history-${n % CONTAINERS}`,
        containerLabels: { lab: 'bench' },
        actor: { tokenId: 'bench', role: 'operator' },
        command: ['/bin/sh', '-c', `check ${n}`],
        user: 'student',
        workdir: null,
        exitCode: n % 7 === 0 ? 1 : 0,
        stdout: `output of check ${n}\n`,
        stderr: '',
        output: `output of check ${n}\n`,
        success: n % 7 !== 0,
        startedAt,
        finishedAt: new Date(startedAt.getTime() + 120),
        durationMs: 120,
        timedOut: false,
        cancelled: false,
        truncated: false,
      };
      await store.add(execution, tx);
    }
  });
  return store;
}

export const storedExecutions: Scenario = {
  name: 'history: 100,000 stored executions',
  target: 'executions(first: 50, filter: {container}) p50 ≤ 10 ms on SQLite',
  requires: ['Query.executions'],
  async run(context): Promise<ScenarioResult[]> {
    const seedStart = performance.now();
    const store = await seedExecutions(context.server.dataDir);
    const seedMs = performance.now() - seedStart;
    let round = 0;
    const container = () => `bench-history-${round++ % CONTAINERS}`;
    const result = await interleave(
      {
        podgraph: () => timed(() => graphqlRequest(context.server.url, EXECUTIONS_OF, { container: container() })),
        baseline: () => timed(() => store.page({ container: container() }, { limit: 51, inverted: false })),
      },
      { warmup: 20, rounds: context.quick ? 50 : 300 },
    );
    return [
      {
        scenario: this.name,
        podgraph: percentiles(result.podgraph),
        baseline: percentiles(result.baseline),
        ratio: ratio(result.ratio),
        target: this.target,
        verdict: verdict(result.podgraph.median <= 10),
        note:
          `${STORED.toLocaleString('en')} executions over ${CONTAINERS} containers written into the server's SQLite file (one transaction, ${(seedMs / 1000).toFixed(1)} s), then ` +
          `\`executions(first: 50, filter: {container})\` over HTTP, newest first, against the same page read straight from the file with the store's own query in the bench process; ${result.podgraph.n} rounds each.`,
        figures: { ...result },
      },
    ];
  },
};
