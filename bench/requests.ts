import { execBaseline, logsBaseline } from './baseline.js';
import { graphqlRequest } from './clients.js';
import { waitUntil, type BenchContext, type Scenario } from './context.js';
import { BENCH_LABEL, BUSYBOX_IMAGE, DEBIAN_IMAGE, printToLog, ROLE_LABEL, type BenchContainer } from './fixtures.js';
import { latencyRow, ms, ratio, verdict } from './report.js';
import { interleave, timed } from './stats.js';

/** Request/response scenarios: one GraphQL call over HTTP against the same work done with dockerode. */

const LIST = `query List($labels: [String!]) { containers(filter: { labels: $labels }) { id name state status image } }`;
const LOGS = `query Logs($ref: String!) { container(ref: $ref) { logs(tail: 100) { timestamp stream message } } }`;
const EXEC = `mutation Exec($container: String!) { exec(container: $container, input: { args: ["true"] }) { exitCode } }`;

const rounds = (context: BenchContext, full: number, quick: number) => (context.quick ? quick : full);

/** `true` through the `exec` mutation; anything but exit code 0 fails. */
async function execThroughPodgraph(context: BenchContext, container: BenchContainer): Promise<void> {
  const { exec } = await graphqlRequest<{ exec: { exitCode: number | null } }>(context.server.url, EXEC, { container: container.name });
  if (exec.exitCode !== 0) throw new Error(`exec true exited with ${exec.exitCode}`);
}

/** `true` through dockerode; anything but exit code 0 fails. */
async function execThroughEngine(context: BenchContext, container: BenchContainer): Promise<void> {
  const exitCode = await execBaseline(context.docker, container.id, ['true']);
  if (exitCode !== 0) throw new Error(`exec true exited with ${exitCode}`);
}

export const listContainers: Scenario = {
  name: 'list 20 containers',
  target: 'ratio ≤ 1.3 and ≤ 2 ms added at p50',
  requires: ['Query.containers'],
  async run(context) {
    const { server, docker, fixtures } = context;
    await Promise.all(Array.from({ length: 20 }, () => fixtures.create('list', BUSYBOX_IMAGE)));
    const labels = [`${BENCH_LABEL}=${process.pid}`, `${ROLE_LABEL}=list`];
    const podgraph = async () => (await graphqlRequest<{ containers: unknown[] }>(server.url, LIST, { labels })).containers.length;
    const baseline = async () => (await docker.listContainers({ all: true, filters: JSON.stringify({ label: labels }) } as object)).length;
    // The bench creates them behind the server's back: its container index hears of them by events.
    await waitUntil('the server to list the 20 new containers', async () => (await podgraph()) === 20);
    const counts = [await podgraph(), await baseline()];
    if (counts.some((n) => n !== 20)) throw new Error(`expected 20 containers on both paths, got ${counts.join(' and ')}`);
    const result = await interleave({ podgraph: () => timed(podgraph), baseline: () => timed(baseline) }, { warmup: 20, rounds: rounds(context, 300, 50) });
    return [latencyRow(this.name, this.target, result, result.ratio <= 1.3 && result.addedAtMedian <= 2, `\`containers(filter: {labels})\` over HTTP against dockerode \`listContainers\` with the same label filter, ${result.podgraph.n} rounds each`)];
  },
};

export const logsTail: Scenario = {
  name: 'logs, tail 100',
  target: 'ratio ≤ 1.5',
  requires: ['Container.logs'],
  async run(context) {
    const { server, docker, fixtures } = context;
    const container = await fixtures.create('logs', DEBIAN_IMAGE);
    await printToLog(docker, container.id, 'history', 1000);
    const podgraph = async () =>
      (await graphqlRequest<{ container: { logs: unknown[] } }>(server.url, LOGS, { ref: container.name })).container.logs.length;
    const baseline = () => logsBaseline(docker, container.id, 100);
    const counts = [await podgraph(), await baseline()];
    if (counts.some((n) => n !== 100)) throw new Error(`expected 100 lines on both paths, got ${counts.join(' and ')}`);
    const result = await interleave({ podgraph: () => timed(podgraph), baseline: () => timed(baseline) }, { warmup: 20, rounds: rounds(context, 300, 50) });
    return [latencyRow(this.name, this.target, result, result.ratio <= 1.5, `\`container(ref) { logs(tail: 100) }\` against dockerode \`logs\` (timestamps, demultiplexed and split into lines) of a container with 1,000 lines, ${result.podgraph.n} rounds each. The server inspects the container first: its scope, its TTY and where its log file is`)];
  },
};

export const execTrue: Scenario = {
  name: 'exec `true`',
  target: 'ratio ≤ 1.05',
  requires: ['Mutation.exec'],
  async run(context) {
    const container = await context.fixtures.create('exec', BUSYBOX_IMAGE);
    const result = await interleave(
      { podgraph: () => timed(() => execThroughPodgraph(context, container)), baseline: () => timed(() => execThroughEngine(context, container)) },
      { warmup: 10, rounds: rounds(context, 150, 30) },
    );
    return [latencyRow(this.name, this.target, result, result.ratio <= 1.05, `\`exec(input: {args: ["true"]})\` against dockerode exec create + start + inspect (polling until the exit code is known, as Podman needs), ${result.podgraph.n} rounds each`)];
  },
};

export const concurrentExecs: Scenario = {
  name: '50 concurrent execs over 10 containers',
  target: 'wall-time ratio ≤ 1.1, zero errors',
  requires: ['Mutation.exec'],
  async run(context) {
    const containers = await Promise.all(Array.from({ length: 10 }, () => context.fixtures.create('concurrent', BUSYBOX_IMAGE)));
    const errors = { podgraph: 0, baseline: 0 };
    /** What the errors said, each once, so a missed row tells why. */
    const reasons = new Set<string>();
    const batch = (side: keyof typeof errors, one: typeof execThroughEngine) => () =>
      timed(() =>
        Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            one(context, containers[index % 10]!).catch((error: Error) => {
              errors[side]++;
              reasons.add(`${side}: ${error.message.slice(0, 200)}`);
            }),
          ),
        ),
      );
    const result = await interleave(
      { podgraph: batch('podgraph', execThroughPodgraph), baseline: batch('baseline', execThroughEngine) },
      { warmup: 1, rounds: rounds(context, 8, 3) },
    );
    return [
      {
        scenario: this.name,
        podgraph: `wall p50 ${ms(result.podgraph.median)}, max ${ms(result.podgraph.max)}; ${errors.podgraph} errors`,
        baseline: `wall p50 ${ms(result.baseline.median)}, max ${ms(result.baseline.max)}; ${errors.baseline} errors`,
        ratio: ratio(result.ratio),
        target: this.target,
        verdict: verdict(result.ratio <= 1.1 && errors.podgraph === 0),
        note:
          `50 \`exec\` mutations sent at once (the server runs MAX_WORKERS, 10 by default, at a time) against 50 dockerode execs at once, ${result.podgraph.n} batches each (errors counted over warm-up too).` +
          (reasons.size ? ` Errors: ${[...reasons].join('; ')}.` : ''),
        figures: { ...result, errors },
      },
    ];
  },
};
