import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { EXEC_MARKER } from '../src/engine/exec-marker.js';
import { Exec, ExecStreamKinds, OpenTerminalId, TerminalWatchKinds } from './documents.js';
import { graphql } from './gql/index.js';
import { containerFactory, DEBIAN_IMAGE, startTestServer } from './kit.js';
import { watchWs, wsClient, type Watch } from './live-client.js';

const OutageTerminalState = graphql(`
  query OutageTerminalState($id: ID!) {
    terminal(id: $id) {
      running
    }
  }
`);

const ENGINE = process.env.PODGRAPH_ENGINE ?? 'podman';
const OUTAGES = 3;
const STREAMS = 4;
const LOOP = 'while true; do echo x; sleep 0.2; done';
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Processes carrying an exec marker other than this check's own (the check runs through the server).
const MARKED_PROCESSES = [
  'for f in /proc/[0-9]*/environ; do',
  `  m=$(tr '\\000' '\\n' < "$f" 2>/dev/null | grep '^${EXEC_MARKER}=') || continue`,
  `  [ "$m" = "${EXEC_MARKER}=$${EXEC_MARKER}" ] || echo "\${f%/environ}"`,
  'done',
].join('\n');

/** Polls `check` until it holds; fails after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const openDescriptors = () => readdirSync('/proc/self/fd').length;

/** An engine endpoint the test can take away and give back. */
interface Outage {
  socket: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function engineAnswers(socket: string): Promise<void> {
  const docker = new Docker({ socketPath: socket });
  await waitFor(`the engine on ${socket}`, () => docker.ping().then(() => true, () => false));
}

/** A Podman API service of the test's own on `dir`, sharing the shared engine's storage; cut is SIGKILL. */
async function podmanService(dir: string): Promise<Outage> {
  const socket = path.join(dir, 'podman.sock');
  let service: ChildProcess | undefined;
  const kill = async () => {
    if (!service || service.exitCode !== null || service.signalCode !== null) return;
    const exited = once(service, 'exit');
    service.kill('SIGKILL');
    await exited;
  };
  // Even if the worker exits before afterAll runs.
  const killOnExit = () => service?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const start = async () => {
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      env: { ...process.env, CONTAINERS_CONF: path.join(PROJECT_ROOT, 'engine', 'containers.conf') },
      stdio: 'ignore',
    });
    await engineAnswers(socket);
  };
  await start();
  return {
    socket,
    cut: kill,
    restore: start,
    close: async () => {
      process.off('exit', killOnExit);
      await kill();
    },
  };
}

/** A unix-socket relay to the shared Docker engine; cut drops every connection and stops accepting. */
async function dockerRelay(dir: string): Promise<Outage> {
  const socket = path.join(dir, 'docker.sock');
  const target = new URL(process.env.DOCKER_HOST!).pathname;
  const connections = new Set<Socket>();
  let server: Server | undefined;
  const listen = async () => {
    rmSync(socket, { force: true });
    server = createServer((client) => {
      const upstream = connect(target);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        connections.delete(client);
        connections.delete(upstream);
      };
      for (const end of [client, upstream]) {
        connections.add(end);
        end.on('error', drop).on('close', drop);
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(socket);
    await once(server, 'listening');
  };
  const cut = async () => {
    const stopping = server;
    server = undefined;
    if (!stopping) return;
    const closed = new Promise((resolve) => stopping.close(resolve));
    for (const end of connections) end.destroy();
    await closed;
  };
  await listen();
  return { socket, cut, restore: listen, close: cut };
}

describe(`streams and processes across an engine outage (${ENGINE})`, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'podgraph-outage-'));
  const engine = ENGINE === 'docker' ? await dockerRelay(dir) : await podmanService(dir);
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const server = await startTestServer({ DOCKER_HOST: `unix://${engine.socket}` });
  const create = containerFactory(server);

  const lostRuns = async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^podgraph_lost_runs (\d+)$/m.exec(metrics)?.[1]);
  };
  const markedProcesses = async (container: string) =>
    (await server.ok(Exec, { container, input: { command: MARKED_PROCESSES } })).exec.stdout.split('\n').filter(Boolean);

  /** Runs execStreams and a terminal, takes the engine away and back, and checks the ends and the clean-up. */
  async function outage(container: string) {
    const client = wsClient(server);
    try {
      const runs = Array.from({ length: STREAMS }, () => watchWs(client, ExecStreamKinds, { container, command: LOOP }));
      const { openTerminal } = await server.ok(OpenTerminalId, { container, args: ['/bin/sh', '-c', LOOP] });
      const watcher = watchWs(client, TerminalWatchKinds, { id: openTerminal.id });
      const subscriptions: Watch<unknown>[] = [...runs, watcher];
      await Promise.all(runs.map((run) => run.until((events) => events.some((e) => e.execStream.__typename === 'ExecOutput'))));
      await watcher.until((events) => events.some((e) => e.terminal.__typename === 'TerminalOutput'));

      await engine.cut();
      await Promise.all(subscriptions.map((watch) => watch.until(() => watch.done)));
      for (const watch of subscriptions) expect(watch.errors.map((e) => e.extensions?.code)).toEqual(['ENGINE_UNAVAILABLE']);
      expect(runs.flatMap((run) => run.events.map((e) => e.execStream.__typename))).not.toContain('ExecExited');
      expect((await server.ok(OutageTerminalState, { id: openTerminal.id })).terminal.running).toBe(false);
      // Nothing can be killed while the engine is away: every run waits for it.
      expect(await lostRuns()).toBe(STREAMS + 1);

      await engine.restore();
      await waitFor('the lost runs to be killed', async () => (await lostRuns()) === 0);
      expect(await markedProcesses(container)).toEqual([]);
    } finally {
      await client.dispose();
    }
  }

  it(`ends every stream with ENGINE_UNAVAILABLE and kills their processes once the engine is back, ${OUTAGES} times`, async () => {
    const c = await create(DEBIAN_IMAGE);
    const before = openDescriptors();
    // Kept-alive HTTP connections (to the engine, and this test's own to the server) close on their
    // own idle timers, about 5 s: wait for that; a leak never gets back down.
    const settled = async () => {
      await waitFor('open descriptors to settle', () => openDescriptors() <= before, 20_000);
      return openDescriptors();
    };
    await outage(c.name);
    const afterFirst = await settled();
    for (let round = 2; round <= OUTAGES; round++) await outage(c.name);
    const afterLast = await settled();
    // settled() fails unless the count comes back to where it started, after 1 outage and after 3:
    // a leak like the one reported (6 to 11 an outage) never would. Idle connections closing on
    // their own timers make the exact figure vary by a few, so it is not compared exactly.
    console.log(`open descriptors: before ${before}, after 1 outage ${afterFirst}, after ${OUTAGES}: ${afterLast}`);
    expect(afterLast).toBeLessThanOrEqual(before);
  });
});
