import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { helpText } from '../src/config.js';
import { ContainersQuery, Exec, HealthQuery, ImagesQuery, WriteFile } from './documents.js';
import { BUSYBOX_IMAGE, containerFactory, startTestServer } from './kit.js';
import { ENTRY, runServer } from './process-kit.js';

/** What `npm start` runs: the bundle `npm run build` writes (its type check is npm test's own). */
const BUNDLE = ['dist/main.js'];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe.concurrent('configuration', () => {
  it.each([
    ['PORT', 'abc'],
    ['MAX_WORKERS', '0'],
    ['REQUEST_TIMEOUT', '-5'],
    ['DOCKER_HOST', 'ftp://x'],
    ['DEBUG', 'maybe'],
    ['LOG_LEVEL', 'loud'],
  ])('stops with one line naming %s=%s and exit code 1', async (name, value) => {
    const { code, output } = await runServer({ [name]: value }).exited;
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([expect.stringContaining(`Invalid ${name}=`)]);
  });
});

describe.concurrent('command line', () => {
  it('prints usage and every variable with its default and meaning for --help, and exits 0', async () => {
    const { code, output } = await runServer({}, [...ENTRY, '--help']).exited;
    expect(code).toBe(0);
    expect(output).toBe(helpText());
    expect(output).toMatch(/^Usage: podgraph/);
    expect(output).toContain('  ALLOWED_HOSTS  (default: none)\n');
  });

  it("prints package.json's version for --version, and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const { code, output } = await runServer({}, [...ENTRY, '--version']).exited;
    expect(code).toBe(0);
    expect(output).toBe(`${version}\n`);
  });

  it.each([
    ['pretty', (line: string) => !line.startsWith('{')],
    ['json', (line: string) => JSON.parse(line) !== null],
  ] as const)('writes LOG_FORMAT=%s lines, and a banner naming the engine, GraphiQL and authentication', async (format, isFormatted) => {
    const server = runServer({ LOG_FORMAT: format, PORT: '0', DOCKER_HOST: process.env.DOCKER_HOST ?? '' });
    // The banner's last line.
    await server.ready('authentication off');
    server.child.kill('SIGTERM');
    const { output } = await server.exited;
    const lines = output.trim().split('\n');
    expect(lines.every(isFormatted), output).toBe(true);
    expect(output).toMatch(/engine: (podman|docker) \S+ at unix:\S+ \(the project's own engine \(scripts\/engine\.sh\)\)/);
    expect(output).toMatch(/GraphQL and GraphiQL at http:\/\/127\.0\.0\.1:\d+\/graphql/);
    expect(output).toContain('authentication off');
  });

  it('refuses an unknown option with one line and exit code 1', async () => {
    const { code, output } = await runServer({}, [...ENTRY, '--port=80']).exited;
    expect(code).toBe(1);
    expect(output).toBe('podgraph: unknown option --port=80 (see --help)\n');
  });

  it('names an occupied port in one line, with no stack trace, and exits 1', async () => {
    const occupant = createServer();
    const port = await new Promise<number>((resolve) => occupant.listen(0, '127.0.0.1', () => resolve((occupant.address() as { port: number }).port)));
    try {
      const { code, output } = await runServer({ PORT: String(port), DOCKER_HOST: process.env.DOCKER_HOST ?? '' }).exited;
      expect(code).toBe(1);
      expect(output).toBe(`podgraph: Port ${port} on 127.0.0.1 is in use\n`);
    } finally {
      occupant.close();
    }
  });
});

describe('engine unavailable', async () => {
  const server = await startTestServer({ DOCKER_HOST: 'unix:///nonexistent/podgraph.sock' });

  it('answers ENGINE_UNAVAILABLE at once, and health says unhealthy', async () => {
    const started = Date.now();
    expect(await server.errorCode(ContainersQuery)).toBe('ENGINE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(1000);
    const { health } = await server.ok(HealthQuery);
    expect(health).toMatchObject({ healthy: false, engine: null });
    expect(health.engineError).toMatch(/unreachable/i);
  });
});

describe('time bounds and the worker pool', async () => {
  const server = await startTestServer({ MAX_WORKERS: '1', REQUEST_TIMEOUT: '1' });
  // The fixture comes through a server with the usual bounds: a create may take over 1 s on a loaded machine.
  const create = containerFactory(await startTestServer());

  it('answers TIMEOUT within the bound while the only write slot is busy, answers reads meanwhile, then frees the slot', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const busy = server.ok(Exec, { container: c.name, input: { command: 'sleep 30', timeoutSeconds: 2 } });
    await expect.poll(() => server.app.services.pool.write.active, { timeout: 10_000 }).toBe(1);

    // Reads have their own lane.
    await server.ok(ImagesQuery);
    const started = Date.now();
    expect(await server.errorCode(WriteFile, { container: c.name, input: { path: '/tmp/queued', content: 'x' } })).toBe('TIMEOUT');
    // The bound is 1 s; the rest is slack for a loaded machine.
    expect(Date.now() - started).toBeLessThan(1800);

    const { exec } = await busy;
    expect(exec.timedOut).toBe(true);
    // The killed command gave its slot back before its answer left: the next operation runs.
    expect(server.app.services.pool.active).toBe(0);
    await server.ok(Exec, { container: c.name, input: { command: 'true' } });
  });
});

describe.each([
  { entry: ENTRY, label: 'the source' },
  { entry: BUNDLE, label: 'the bundle (npm start)' },
])('graceful shutdown of $label', async ({ entry }) => {
  const kit = await startTestServer();
  const create = containerFactory(kit);
  // The bundle leaves dockerode's SSH and BuildKit modules out: exec with stdin (a hijacked
  // connection) shows the rest of it still works.
  if (entry === BUNDLE) execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts']);

  it('lets an in-flight exec finish on SIGTERM, then exits 0', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const port = await freePort();
    const server = runServer({ PORT: String(port), DOCKER_HOST: process.env.DOCKER_HOST ?? '' }, entry);
    await server.ready();

    const inFlight = fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: print(Exec), variables: { container: c.name, input: { command: 'sleep 1; cat', stdin: 'finished\n' } } }),
    }).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGTERM');

    const result = (await inFlight) as { data: { exec: { stdout: string } } };
    expect(result.data.exec.stdout).toBe('finished\n');
    const { code, output } = await server.exited;
    expect(code).toBe(0);
    expect(output).toContain('stopped');
  });
});
