/**
 * `npm run bench`: podgraph against the bare engine, side by side in one run. Makes sure the
 * project's engine runs, starts the server as its own process, runs every scenario and writes
 * bench/results.md and bench/results.json (bench/results-docker.* for Docker Engine). Options:
 * --quick (fewer rounds, for a trial run), --only=name,name (scenarios whose name contains one
 * of these words), --cpu-prof (the server under test writes a CPU profile into bench/profiles/
 * when it stops; open it in Chrome's DevTools), --log-source=api (the server reads logs through
 * the engine's API, READ_LOG_FILES=false, instead of the log files), and PODGRAPH_ENGINE=docker
 * for Docker Engine instead of Podman.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDockerClient, selectEngine } from '../src/engine/docker/connect.js';
import { DockerEngine } from '../src/engine/docker/engine.js';
import { graphqlRequest } from './clients.js';
import { log, type BenchContext, type Scenario } from './context.js';
import { Fixtures } from './fixtures.js';
import { recordedTerminal, storedExecutions } from './history.js';
import { consoleLabGrid, consoleLogFlood } from './console.js';
import { labProvisioning, labStatusAndCheck } from './labs.js';
import { overload } from './overload.js';
import { notAvailable, toMarkdown, verdict, type Environment, type LogSource, type ScenarioResult } from './report.js';
import { concurrentExecs, execTrue, listContainers, logsTail } from './requests.js';
import { startServer, type ServerProcess } from './server.js';
import { summarize } from './stats.js';
import { fanOutScenario, logThroughput, slowSubscriber, terminalEcho } from './streams.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const engineName = process.env.PODGRAPH_ENGINE ?? 'podman';
const logSource: LogSource = process.argv.includes('--log-source=api') ? 'api' : 'files';

const SCENARIOS: Scenario[] = [listContainers, logsTail, execTrue, concurrentExecs, logThroughput, fanOutScenario, slowSubscriber, terminalEcho, recordedTerminal, storedExecutions, overload, labProvisioning, labStatusAndCheck, consoleLogFlood, consoleLabGrid];
const TSX_SERVER = ['--import', 'tsx', path.join(root, 'src/main.ts')];
const MiB = 1024 * 1024;

const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

/** Starts (or finds) the project's engine with scripts/engine.sh; its last line is DOCKER_HOST=... */
function ensureEngine(): string {
  const output = execFileSync('bash', [path.join(root, 'scripts/engine.sh'), engineName], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = output.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('DOCKER_HOST=')) throw new Error(`scripts/engine.sh printed no DOCKER_HOST: ${line}`);
  return line.slice('DOCKER_HOST='.length);
}

/** Schema fields as "Type.field", to tell which scenarios the server can run. */
async function schemaFields(url: string): Promise<Set<string>> {
  const { __schema } = await graphqlRequest<{ __schema: { types: { name: string; fields: { name: string }[] | null }[] } }>(
    url,
    '{ __schema { types { name fields { name } } } }',
  );
  return new Set(__schema.types.flatMap((t) => (t.fields ?? []).map((f) => `${t.name}.${f.name}`)));
}

/** Start-up to the first answered query, and RSS once idle, over `runs` fresh processes. */
async function startupScenario(dockerHost: string, runs: number): Promise<ScenarioResult[]> {
  const measure = async (nodeArgs: string[]) => {
    const startups: number[] = [];
    const rss: number[] = [];
    for (let run = 0; run < runs; run++) {
      const server = await startServer(nodeArgs, { DOCKER_HOST: dockerHost });
      try {
        startups.push(server.startupMs);
        await new Promise((resolve) => setTimeout(resolve, 2000));
        rss.push(server.rssBytes());
      } finally {
        await server.stop();
      }
    }
    return { startup: summarize(startups), rss: summarize(rss) };
  };
  const target = '≤ 1.5 s; ≤ 100 MB';
  const row = (variant: string, m: Awaited<ReturnType<typeof measure>>, how: string): ScenarioResult => ({
    scenario: `start-up and idle (${variant})`,
    podgraph: `start-up p50 ${Math.round(m.startup.median)} ms (max ${Math.round(m.startup.max)}); idle RSS ${Math.round(m.rss.median / 1e6)} MB (${(m.rss.median / MiB).toFixed(1)} MiB)`,
    baseline: '—',
    ratio: '—',
    target,
    // The MB, read as 10^6 bytes.
    verdict: verdict(m.startup.median <= 1500 && m.rss.median <= 100e6),
    note: `${how}: process spawn to the first answered \`{ __typename }\` over HTTP, and VmRSS 2 s later, median of ${runs} fresh processes.`,
    figures: { ...m },
  });
  log('start-up: tsx');
  const rows = [row('tsx', await measure(TSX_SERVER), '`node --import tsx src/main.ts` (as the bench and `npm test` run it; TypeScript compiled on the fly)')];
  log('start-up: compiled (npm run build)');
  try {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    rows.push(row('compiled', await measure([path.join(root, 'dist/main.js')]), '`node dist/main.js` after `npm run build` (as `npm start` runs it)'));
  } catch (error) {
    rows.push({ ...notAvailable('start-up and idle (compiled)', target, []), note: `\`npm run build\` failed: ${String((error as Error).message).split('\n')[0]}` });
  }
  return rows;
}

async function main(): Promise<void> {
  const dockerHost = ensureEngine();
  const docker = createDockerClient(selectEngine(dockerHost));
  const info = await new DockerEngine(docker).info();
  const dirty = git('status', '--porcelain', '--', 'src').length > 0;
  const environment: Environment = {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: os.totalmem() / 1024 ** 3,
    engine: { name: info.name, version: info.version, apiVersion: info.apiVersion },
    node: process.version,
    commit: `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (with uncommitted changes in src/)' : ''}`,
    mode: quick ? 'quick' : 'full',
    logSource,
  };
  log(`${info.name} ${info.version} at ${dockerHost}; podgraph ${environment.commit}`);

  const results: ScenarioResult[] = [];
  const selected = (name: string) => !only || only.some((word) => name.includes(word));
  if (selected('start-up')) results.push(...(await startupScenario(dockerHost, quick ? 1 : 3)));

  const fixtures = new Fixtures(docker);
  let server: ServerProcess | undefined;
  const cleanUp = async () => {
    await server?.stop();
    const removed = await fixtures.removeAll();
    log(`removed ${removed} bench containers`);
  };
  const interrupted = () => void cleanUp().finally(() => process.exit(130));
  // Whatever goes wrong, the containers go: a failure that escaped a scenario still cleans up.
  const crashed = (reason: unknown) => {
    log(`unexpected failure: ${reason instanceof Error ? reason.stack : String(reason)}`);
    void cleanUp().finally(() => process.exit(1));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  process.once('unhandledRejection', crashed);
  process.once('uncaughtException', crashed);
  try {
    const profile = process.argv.includes('--cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'bench/profiles')}`] : [];
    const settings = { DOCKER_HOST: dockerHost, READ_LOG_FILES: String(logSource === 'files') };
    server = await startServer([...profile, ...TSX_SERVER], settings);
    const fields = await schemaFields(server.url);
    const context: BenchContext = { server, docker, fixtures, quick, startServer: (env) => startServer(TSX_SERVER, { ...settings, ...env }) };
    for (const scenario of SCENARIOS.filter((s) => selected(s.name))) {
      const missing = scenario.requires.filter((field) => !fields.has(field));
      if (missing.length) {
        results.push(notAvailable(scenario.name, scenario.target, missing));
        continue;
      }
      log(scenario.name);
      const started = performance.now();
      try {
        results.push(...(await scenario.run(context)));
      } catch (error) {
        log(`${scenario.name} failed: ${(error as Error).stack}`);
        results.push({ scenario: scenario.name, podgraph: '—', baseline: '—', ratio: '—', target: scenario.target, verdict: 'failed', note: `The run failed: ${(error as Error).message}` });
      }
      log(`${scenario.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    process.off('unhandledRejection', crashed);
    process.off('uncaughtException', crashed);
    await cleanUp();
  }

  // Podman is the reference engine; another engine's run is kept beside it, not over it.
  const name = engineName === 'podman' ? 'results' : `results-${engineName}`;
  writeFileSync(path.join(root, `bench/${name}.json`), `${JSON.stringify({ environment, results }, null, 2)}\n`);
  writeFileSync(path.join(root, `bench/${name}.md`), toMarkdown(environment, results));
  process.stdout.write(toMarkdown(environment, results));
}

await main();
