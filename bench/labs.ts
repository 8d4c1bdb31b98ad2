import type Docker from 'dockerode';
import { sha512Crypt } from '../src/core/shacrypt.js';
import { packEntries } from '../src/engine/archive.js';
import { Limiter } from '../src/core/limiter.js';
import { execBaseline } from './baseline.js';
import { connectAll, graphqlRequest, subscribe } from './clients.js';
import { log, waitUntil, type BenchContext, type Scenario } from './context.js';
import { BENCH_LABEL, DEBIAN_IMAGE, ROLE_LABEL } from './fixtures.js';
import { ms, percentiles, ratio, verdict, type ScenarioResult } from './report.js';
import { pair, summarize, timed } from './stats.js';

/** The server's default MAX_WORKERS: the baselines run as many at once. */
const CONCURRENCY = 10;

const STUDENT_FILES = [
  { path: '/home/{student}/task.txt', content: 'Read /root/flag.\n', mode: '0600', owner: '{student}' },
  { path: '/root/flag', content: 'flag{perm}\n', mode: '0600', owner: 'root' },
];
const SETUP = 'groupadd -f lab';
const TEMPLATE = { image: DEBIAN_IMAGE, command: 'sleep 3600', studentAccount: { shell: '/bin/bash' }, files: STUDENT_FILES, setup: [{ command: SETUP }] };

const CREATE_LAB = `mutation Create($input: CreateLabInput!) { createLab(input: $input) { lab { name } } }`;
const PROGRESS = `subscription Progress($lab: String!) { labProgress(lab: $lab) { ... on LabStudent { id state reason } } }`;
export const REMOVE_LAB = `mutation Remove($lab: String!) { removeLab(lab: $lab) { name } }`;
const STATUS = `subscription Status($lab: String!) { labStatus(lab: $lab, intervalMs: 1000) { ... on LabStatus { at students { id cpuPercent } } } }`;
const CHECK = `subscription Check($lab: String!, $command: String!) { runCheck(lab: $lab, command: $command) { ... on CheckResult { student errorCode execution { exitCode } } } }`;
const STREAMS = `{ serverStats { streams { kind upstreams subscribers } } }`;

/** Students s01, s02, … */
export const roster = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${String(i + 1).padStart(2, '0')}`, displayName: `Student ${i + 1}` }));

/** Creates a lab and resolves once every student has settled; fails unless all are READY. */
async function provisionLab(context: BenchContext, name: string, students: number): Promise<void> {
  const [connection] = await connectAll(context.server.url, 1);
  try {
    await graphqlRequest(context.server.url, CREATE_LAB, { input: { name, template: TEMPLATE, students: roster(students) } });
    const latest = new Map<string, { state: string; reason: string | null }>();
    await subscribe<{ labProgress: { id: string; state: string; reason: string | null } }>(connection!.client, PROGRESS, { lab: name }, ({ labProgress }) =>
      latest.set(labProgress.id, labProgress),
    ).done;
    const failed = [...latest.values()].filter((s) => s.state !== 'READY');
    if (failed.length) throw new Error(`${failed.length} students not READY: ${failed[0]!.reason}`);
  } finally {
    await connection!.close();
  }
}

/** The same work with dockerode: container, account with a password hash, two files, the setup command. */
async function provisionBare(docker: Docker, run: string, students: number): Promise<string[]> {
  const limiter = new Limiter(CONCURRENCY);
  const hash = sha512Crypt('a-password-of-12');
  return Promise.all(
    roster(students).map(({ id }) =>
      limiter.run(async () => {
        const container = await docker.createContainer({
          Image: DEBIAN_IMAGE,
          name: `pgb-${run}-${id}`,
          Cmd: ['sleep', '3600'],
          Labels: { [BENCH_LABEL]: String(process.pid), [ROLE_LABEL]: `lab-bare-${run}` },
          HostConfig: { Init: true },
        });
        await container.start();
        const expect0 = async (argv: string[]) => {
          const code = await execBaseline(docker, container.id, argv);
          if (code !== 0) throw new Error(`${argv[0]} exited with ${code}`);
        };
        await expect0(['useradd', '-m', '-s', '/bin/bash', id]);
        await expect0(['usermod', '-p', hash, id]);
        const file = (name: string, content: string, uid: number) => ({ name, type: 'file' as const, content: Buffer.from(content), mode: 0o600, uid, gid: uid });
        await container.putArchive(await packEntries([file(`home/${id}/task.txt`, 'Read /root/flag.\n', 1000), file('root/flag', 'flag{perm}\n', 0)]), { path: '/' });
        await expect0(['/bin/sh', '-c', SETUP]);
        return container.id;
      }),
    ),
  );
}

async function removeAll(docker: Docker, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
}

const labContainers = async (docker: Docker, lab: string) => (await docker.listContainers({ all: true, filters: { label: [`podgraph.lab=${lab}`] } })).map((c) => c.Id);

export const labProvisioning: Scenario = {
  name: 'provision a lab of 50 students',
  target: 'wall-time ratio ≤ 1.2',
  requires: ['Mutation.createLab'],
  async run(context) {
    const students = context.quick ? 10 : 50;
    const rounds = context.quick ? 1 : 2;
    const podgraph: number[] = [];
    const baseline: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const lab = `bench-${process.pid}-${round}`;
      log(`provisioning ${students} students through podgraph (round ${round + 1}/${rounds})`);
      podgraph.push(await timed(() => provisionLab(context, lab, students)));
      await graphqlRequest(context.server.url, REMOVE_LAB, { lab });
      log(`provisioning ${students} students with dockerode (round ${round + 1}/${rounds})`);
      let ids: string[] = [];
      baseline.push(await timed(async () => (ids = await provisionBare(context.docker, `${process.pid}-${round}`, students))));
      await removeAll(context.docker, ids);
    }
    const result = pair(podgraph, baseline);
    return [
      {
        scenario: this.name.replace('50', String(students)),
        podgraph: `${(result.podgraph.median / 1000).toFixed(1)} s`,
        baseline: `${(result.baseline.median / 1000).toFixed(1)} s`,
        ratio: ratio(result.ratio),
        target: this.target,
        verdict: verdict(result.ratio <= 1.2),
        note:
          `createLab until labProgress ends (Debian: container, account with a password, 2 files, one setup command) against the same with dockerode ` +
          `(create + start, useradd, usermod -p, one putArchive of both files, the setup exec), ${CONCURRENCY} students at once on both paths, median of ${rounds} round(s).`,
        figures: { ...result },
      },
    ];
  },
};

export const labStatusAndCheck: Scenario = {
  name: 'labStatus and runCheck over a lab of 50',
  target: 'labStatus p99 ≤ 200 ms, ≤ 1 stats upstream a container; runCheck ratio ≤ 1.2',
  requires: ['Subscription.labStatus', 'Subscription.runCheck'],
  async run(context) {
    const students = context.quick ? 10 : 50;
    const lab = `bench-${process.pid}-status`;
    log(`provisioning ${students} students for labStatus and runCheck`);
    await provisionLab(context, lab, students);
    try {
      return [await statusRow(context, lab, students), await checkRow(context, lab, students)];
    } finally {
      // A failed removal is told, not thrown: it would hide why the scenario failed. The runner removes what is left.
      await graphqlRequest(context.server.url, REMOVE_LAB, { lab }).catch((error: Error) => log(`  removing the lab failed: ${error.message}`));
    }
  },
};

async function statusRow(context: BenchContext, lab: string, students: number): Promise<ScenarioResult> {
  const ticks = context.quick ? 10 : 40;
  const [connection] = await connectAll(context.server.url, 1);
  const ages: number[] = [];
  let measured = 0;
  const status = subscribe<{ labStatus: { at: string; students: Array<{ cpuPercent: number | null }> } }>(connection!.client, STATUS, { lab }, ({ labStatus }) => {
    // Ticks before every container's first stats sample are warm-up.
    if (labStatus.students.some((s) => s.cpuPercent === null) && measured === 0) return;
    measured++;
    ages.push(Date.now() - new Date(labStatus.at).getTime());
  });
  const cpuBefore = { cpu: context.server.cpuSeconds(), at: performance.now() };
  await waitUntil('the labStatus ticks', () => measured >= ticks, (ticks + 60) * 1000, 100);
  const cpuPercent = ((context.server.cpuSeconds() - cpuBefore.cpu) / ((performance.now() - cpuBefore.at) / 1000)) * 100;
  const { serverStats } = await graphqlRequest<{ serverStats: { streams: Array<{ kind: string; upstreams: number }> } }>(context.server.url, STREAMS);
  const upstreams = serverStats.streams.find((s) => s.kind === 'stats')?.upstreams ?? 0;
  status.stop();
  await connection!.close();
  const summary = summarize(ages);
  return {
    scenario: `labStatus over ${students} students, 1 s ticks`,
    podgraph: `${percentiles(summary)}; ${upstreams} stats upstreams; server CPU ${cpuPercent.toFixed(1)} %`,
    baseline: '—',
    ratio: '—',
    target: 'p99 ≤ 200 ms, ≤ 1 stats upstream a container',
    verdict: verdict(summary.p99 <= 200 && upstreams <= students),
    note: `Age of each tick on arrival (arrival − the tick's \`at\`, when it began gathering), ${summary.n} ticks after every container's first stats sample; upstreams counted by serverStats; server CPU is its user + system time over the ticks' wall time (an idle class: nobody typing).`,
    figures: { ages: summary, upstreams, cpuPercent },
  };
}

async function checkRow(context: BenchContext, lab: string, students: number): Promise<ScenarioResult> {
  const rounds = context.quick ? 2 : 5;
  const command = 'test -r /root/flag && echo solved';
  const [connection] = await connectAll(context.server.url, 1);
  const ids = await labContainers(context.docker, lab);
  const viaPodgraph = async () => {
    const results: Array<{ errorCode: string | null; execution: { exitCode: number } | null }> = [];
    await subscribe<{ runCheck: (typeof results)[number] }>(connection!.client, CHECK, { lab, command }, ({ runCheck }) => results.push(runCheck)).done;
    const failed = results.find((r) => r.errorCode || r.execution?.exitCode !== 0);
    if (failed || results.length !== students) throw new Error(`runCheck gave ${results.length} results for ${students} students; ${JSON.stringify(failed)}`);
  };
  const bare = async () => {
    const limiter = new Limiter(CONCURRENCY);
    await Promise.all(ids.map((id) => limiter.run(() => execBaseline(context.docker, id, ['/bin/sh', '-c', command]))));
  };
  const podgraph: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < 1 + rounds; round++) {
    const a = await timed(viaPodgraph);
    const b = await timed(bare);
    if (round === 0) continue;
    podgraph.push(a);
    baseline.push(b);
  }
  await connection!.close();
  const result = pair(podgraph, baseline);
  return {
    scenario: `runCheck over ${students} students`,
    podgraph: ms(result.podgraph.median),
    baseline: ms(result.baseline.median),
    ratio: ratio(result.ratio),
    target: 'wall-time ratio ≤ 1.2',
    verdict: verdict(result.ratio <= 1.2),
    note: `\`runCheck\` until its last result (each a stored execution) against dockerode exec create + start + inspect in every container, ${CONCURRENCY} at once on both paths, median of ${rounds} rounds after one warm-up.`,
    figures: { ...result },
  };
}
