import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import { beforeAll, describe, expect, it } from 'vitest';

const SRC = path.resolve('src');

/** Which layer a module (path relative to src/) belongs to. */
const layerOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : 'root');

/**
 * The layers, bottom up: a module may import its own layer and the ones listed for it.
 * Leaf helpers at the root (the error table, glob) sit below everything.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  streams: ['leaf'],
  engine: ['leaf', 'streams'],
  auth: ['leaf'],
  store: ['leaf'],
  core: ['leaf', 'streams', 'engine', 'auth', 'store', 'config'],
  schema: ['leaf', 'streams', 'engine', 'auth', 'store', 'core', 'config'],
  rest: ['leaf', 'streams', 'engine', 'auth', 'store', 'core', 'config', 'http'],
  http: ['leaf', 'streams', 'engine', 'auth', 'store', 'core', 'config', 'schema', 'rest'],
};
/** Root modules that import nothing of the project's (or only each other). */
const LEAVES = new Set(['errors.ts', 'glob.ts', 'logger.ts']);

/** The Docker-API adapter: the only code that knows dockerode (engine/port.ts is what the rest sees). */
const DOCKER_ADAPTER = 'engine/docker/';
/** Where the adapter is chosen and built. */
const COMPOSITION_ROOTS = new Set(['app.ts']);
/** Packages only the adapter may import. */
const ADAPTER_PACKAGES = /^(dockerode|docker-modem)(\/|$)/;

/** Every module specifier a file imports or re-exports, static or dynamic. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\bimport\s*['"]([^'"]+)['"]/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

const sourceFiles = (): string[] =>
  readdirSync(SRC, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.relative(SRC, path.join(entry.parentPath, entry.name)));

const layer = (file: string) => {
  if (LEAVES.has(file)) return 'leaf';
  if (file === 'config.ts') return 'config';
  if (file.startsWith('http/rest/')) return 'rest';
  return layerOf(file);
};

describe('module structure', () => {
  let graph: Record<string, string[]>;
  let circular: string[][];

  beforeAll(async () => {
    const result = await madge(SRC, { fileExtensions: ['ts'], tsConfig: path.resolve('tsconfig.json') });
    graph = result.obj();
    circular = result.circular();
  }, 60_000);

  it('has no import cycle', () => {
    expect(circular).toEqual([]);
  });

  it('imports only downwards: streams and engine at the bottom, core below the transports, GraphQL and REST apart', () => {
    const violations: string[] = [];
    for (const [file, imports] of Object.entries(graph)) {
      const from = layer(file);
      const allowed = MAY_IMPORT[from];
      if (!allowed) continue;
      for (const target of imports) {
        const to = layer(target);
        if (to !== from && !allowed.includes(to)) violations.push(`${file} -> ${target}`);
      }
    }
    for (const leaf of LEAVES) {
      for (const target of graph[leaf] ?? []) if (!LEAVES.has(target)) violations.push(`${leaf} -> ${target}`);
    }
    expect(violations).toEqual([]);
  });

  it('keeps dockerode inside the Docker adapter (engine/docker/)', () => {
    const importers = sourceFiles().filter((file) => importSpecifiers(readFileSync(path.join(SRC, file), 'utf8')).some((s) => ADAPTER_PACKAGES.test(s)));
    expect(importers.filter((file) => !file.startsWith(DOCKER_ADAPTER))).toEqual([]);
    // The scan itself works: the adapter does import it.
    expect(importers).toContain(`${DOCKER_ADAPTER}engine.ts`);
  });

  it('reaches the Docker adapter only from the engine layer and the composition root; services see the port', () => {
    const violations = Object.entries(graph).flatMap(([file, imports]) =>
      imports.filter((target) => target.startsWith(DOCKER_ADAPTER) && !file.startsWith('engine/') && !COMPOSITION_ROOTS.has(file)).map((target) => `${file} -> ${target}`),
    );
    expect(violations).toEqual([]);
    expect(graph['app.ts']).toContain(`${DOCKER_ADAPTER}engine.ts`);
  });

  it('finds every module (the rules above would pass on an empty graph)', () => {
    expect(Object.keys(graph)).toEqual(
      expect.arrayContaining(['app.ts', 'core/services.ts', 'engine/port.ts', 'engine/docker/engine.ts', 'http/rest/router.ts', 'schema/index.ts']),
    );
    // Each is read with its imports: a resolution failure would leave them empty.
    expect(graph['core/services.ts']!.length).toBeGreaterThan(3);
    expect(readFileSync(path.join(SRC, 'core/services.ts'), 'utf8')).toMatch(/from '\.\/containers\.js'/);
  });
});
