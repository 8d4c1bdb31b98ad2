import { spawn } from 'node:child_process';
import { cleanUpLater, graphqlClient, type GraphQLClient } from './kit.js';
import { freshDataDir } from './store-kit.js';

/** The server's entry point, run from its sources. */
export const ENTRY = ['--import', 'tsx', 'src/main.ts'];

/**
 * Runs the real entry point in a process of its own, with a history database of its own unless
 * `env` names one; resolves `exited` with its exit code and output once it exits.
 */
export function runServer(env: Record<string, string>, entry = ENTRY) {
  const store = env.DATA_DIR || env.DATABASE_URL ? {} : { DATA_DIR: freshDataDir() };
  const child = spawn(process.execPath, entry, { env: { ...process.env, LOG_LEVEL: 'info', ...store, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  // 'close', not 'exit': only then has all of its output been read (on a loaded machine 'exit' can come first).
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, output })),
  );
  // Start-up takes seconds on a loaded machine (tsx compiles the sources first): wait for the
  // banner, within a bound that fails clearly.
  const ready = async (text = 'GraphiQL at') => {
    for (let i = 0; i < 450 && !output.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
    if (!output.includes(text)) throw new Error(`the server did not print "${text}" within 45 s: ${output}`);
  };
  /** The base URL the banner names, once it has printed it. */
  const url = async () => {
    await ready();
    return /GraphQL and GraphiQL at (http:\/\/[^/\s]+)\/graphql/.exec(output)![1]!;
  };
  return { child, exited, ready, url };
}

/** A started server in a process of its own, as its clients see it; `kill` is kill -9. */
export async function serverProcess(env: Record<string, string>): Promise<GraphQLClient & { kill(): Promise<void> }> {
  const server = runServer({ ...env, PORT: '0', LOG_FORMAT: 'json' });
  const kill = async () => {
    server.child.kill('SIGKILL');
    await server.exited;
  };
  cleanUpLater(kill);
  return { ...graphqlClient(await server.url()), kill };
}
