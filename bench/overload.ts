import { graphqlRequest } from './clients.js';
import type { BenchContext, Scenario } from './context.js';
import { BENCH_LABEL, BUSYBOX_IMAGE, ROLE_LABEL } from './fixtures.js';
import { ms, percentiles, verdict } from './report.js';
import { summarize, timed } from './stats.js';

const LIST = `query List($labels: [String!]) { containers(filter: { labels: $labels }) { id name state } }`;
const INSPECT = `query Inspect($ref: String!) { container(ref: $ref) { id state startedAt } }`;
const EXEC = `mutation Exec($container: String!) { exec(container: $container, input: { command: "sleep 0.2" }) { exitCode } }`;

const READERS = 100;
const EXECS_PER_SECOND = 20;

/** Outcome of one offered exec: answered (ran or refused) and after how long. */
interface ExecOutcome {
  kind: 'ran' | 'refused' | 'timed out' | 'failed';
  ms: number;
}

async function offerExec(url: string, container: string): Promise<ExecOutcome> {
  const start = performance.now();
  const kind = await graphqlRequest(url, EXEC, { container }).then(
    () => 'ran' as const,
    (error: Error) => (/RATE_LIMITED/.test(error.message) ? 'refused' : /TIMEOUT/.test(error.message) ? 'timed out' : 'failed'),
  );
  return { kind, ms: performance.now() - start };
}

/**
 * Reads beside more execs than the engine can start: readers list and inspect in a loop, each
 * read through podgraph followed by the same read straight to the engine, while execs are offered
 * at a fixed rate. The engine's own figures show what any path through it could reach.
 */
export const overload: Scenario = {
  name: 'overload: reads beside 20 execs/s',
  target: 'list and inspect p99 ≤ 250 ms with 0 errors; every exec runs or is refused within 1 s',
  requires: ['Query.containers', 'Mutation.exec'],
  async run(context: BenchContext) {
    const { server, docker, fixtures } = context;
    const seconds = context.quick ? 5 : 20;
    const containers = await Promise.all(Array.from({ length: 10 }, () => fixtures.create('overload', BUSYBOX_IMAGE)));
    const labels = [`${BENCH_LABEL}=${process.pid}`, `${ROLE_LABEL}=overload`];
    const samples = { list: [] as number[], inspect: [] as number[], engineList: [] as number[], engineInspect: [] as number[] };
    let readErrors = 0;
    const deadline = performance.now() + seconds * 1000;

    const reader = async (index: number) => {
      const container = containers[index % containers.length]!;
      while (performance.now() < deadline) {
        try {
          samples.list.push(await timed(() => graphqlRequest(server.url, LIST, { labels })));
          samples.engineList.push(await timed(() => docker.listContainers({ all: true, filters: JSON.stringify({ label: labels }) } as object)));
          samples.inspect.push(await timed(() => graphqlRequest(server.url, INSPECT, { ref: container.name })));
          samples.engineInspect.push(await timed(() => docker.getContainer(container.id).inspect()));
        } catch {
          readErrors++;
        }
      }
    };
    const offered: Promise<ExecOutcome>[] = [];
    const offering = setInterval(() => offered.push(offerExec(server.url, containers[offered.length % containers.length]!.name)), 1000 / EXECS_PER_SECOND);
    await Promise.all(Array.from({ length: READERS }, (_, index) => reader(index)));
    clearInterval(offering);
    const outcomes = await Promise.all(offered);

    const count = (kind: ExecOutcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
    const slowestRefusal = Math.max(0, ...outcomes.filter((o) => o.kind === 'refused').map((o) => o.ms));
    const list = summarize(samples.list);
    const inspect = summarize(samples.inspect);
    const execsMet = count('timed out') === 0 && count('failed') === 0 && slowestRefusal <= 1000;
    return [
      {
        scenario: this.name,
        podgraph: `list ${percentiles(list)}; inspect ${percentiles(inspect)}; ${readErrors} read errors; execs: ${count('ran')} ran, ${count('refused')} refused (slowest refusal ${ms(slowestRefusal)}), ${count('timed out')} timed out, ${count('failed')} failed`,
        baseline: `list ${percentiles(summarize(samples.engineList))}; inspect ${percentiles(summarize(samples.engineInspect))}`,
        ratio: '—',
        target: this.target,
        verdict: verdict(list.p99 <= 250 && inspect.p99 <= 250 && readErrors === 0 && execsMet),
        note: `${READERS} readers for ${seconds} s, each listing 10 labelled containers and inspecting one through podgraph, each read followed by the same read straight to the engine (baseline column), while \`exec sleep 0.2\` is offered through podgraph ${EXECS_PER_SECOND} times a second.`,
        figures: { list, inspect, engineList: summarize(samples.engineList), engineInspect: summarize(samples.engineInspect), readErrors, execs: { ran: count('ran'), refused: count('refused'), timedOut: count('timed out'), failed: count('failed'), slowestRefusal } },
      },
    ];
  },
};
