import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';

/** The podgraph server under test, as its own process so its memory can be read. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** Its history database's directory, its own, removed when it stops. */
  dataDir: string;
  /** Milliseconds from spawn to the first answered GraphQL query. */
  startupMs: number;
  /** Resident set size now, in bytes. */
  rssBytes(): number;
  /** CPU time the server has used so far (user and system), in seconds. */
  cpuSeconds(): number;
  /**
   * Bytes of live JavaScript objects: a heap snapshot (which collects garbage first) summed up.
   * Blocks the server for a few seconds; unlike RSS it does not count garbage or freed pages.
   */
  liveHeapBytes(): Promise<number>;
  /** What the server wrote to stderr/stdout (LOG_LEVEL=warn keeps it short). */
  output(): string;
  stop(): Promise<void>;
}

/** A free loopback port, chosen by the kernel. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export function readRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** utime + stime from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s). */
function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Starts `node <nodeArgs>` with PORT and LOG_LEVEL=warn and polls until a GraphQL query is
 * answered. `env` adds to (and overrides) this process's environment, e.g. DOCKER_HOST.
 */
export async function startServer(nodeArgs: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const snapshots = mkdtempSync(path.join(os.tmpdir(), 'podgraph-bench-'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'podgraph-bench-data-'));
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`, ...nodeArgs], {
    env: { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir, ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const server: ServerProcess = {
    url,
    pid: child.pid!,
    dataDir,
    startupMs: Number.NaN,
    rssBytes: () => readRssBytes(child.pid!),
    cpuSeconds: () => readCpuSeconds(child.pid!),
    async liveHeapBytes() {
      child.kill('SIGUSR2');
      const deadline = performance.now() + 60_000;
      let file: string | undefined;
      while (!(file = readdirSync(snapshots).find((name) => name.endsWith('.heapsnapshot')))) {
        if (performance.now() > deadline) throw new Error('no heap snapshot within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The snapshot is written on the server's main thread: once it answers again, the file is whole.
      await answered(url, deadline - performance.now());
      const full = path.join(snapshots, file);
      try {
        return liveBytes(JSON.parse(readFileSync(full, 'utf8')) as HeapSnapshot);
      } finally {
        rmSync(full);
      }
    },
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited(child);
        clearTimeout(timer);
      }
      rmSync(snapshots, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await answered(url, timeoutMs, () => {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output.slice(-2000)}`);
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  server.startupMs = performance.now() - startedAt;
  return server;
}

/** Polls until the server answers `{ __typename }`; `check` runs before each try and may throw. */
async function answered(url: string, timeoutMs: number, check: () => void = () => undefined): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    check();
    try {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
      });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`server at ${url} did not answer within ${timeoutMs} ms`);
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[] } };
  nodes: number[];
}

function liveBytes(heap: HeapSnapshot): number {
  const fields = heap.snapshot.meta.node_fields;
  const selfSize = fields.indexOf('self_size');
  let total = 0;
  for (let i = selfSize; i < heap.nodes.length; i += fields.length) total += heap.nodes[i]!;
  return total;
}
