import type Docker from 'dockerode';
import type { Fixtures } from './fixtures.js';
import type { ScenarioResult } from './report.js';
import type { ServerProcess } from './server.js';

/** Progress goes to stderr; the table goes to stdout and the results files. */
export const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

export interface BenchContext {
  server: ServerProcess;
  /** Another server like `server`, with these settings on top, for a scenario to compare with; the scenario stops it. */
  startServer(env: Record<string, string>): Promise<ServerProcess>;
  /** The bench's own engine client, for the baselines. */
  docker: Docker;
  fixtures: Fixtures;
  /** Fewer rounds and smaller volumes for a trial run. */
  quick: boolean;
}

export interface Scenario {
  name: string;
  target: string;
  /** Schema fields the podgraph path needs, as "Type.field"; missing ones make it "not available". */
  requires: string[];
  run(context: BenchContext): Promise<ScenarioResult[]>;
}

/** Resolves once `condition` holds, polling every `intervalMs`; fails after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, intervalMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
