import { readFileSync } from 'node:fs';
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
  core: ['leaf', 'streams', 'engine', 'auth', 'config'],
  schema: ['leaf', 'streams', 'engine', 'auth', 'core', 'config'],
  rest: ['leaf', 'streams', 'engine', 'auth', 'core', 'config', 'http'],
  http: ['leaf', 'streams', 'engine', 'auth', 'core', 'config', 'schema', 'rest'],
};
/** Root modules that import nothing of the project's (or only each other). */
const LEAVES = new Set(['errors.ts', 'glob.ts', 'logger.ts']);

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

  it('finds every module (the rules above would pass on an empty graph)', () => {
    expect(Object.keys(graph)).toEqual(
      expect.arrayContaining(['app.ts', 'core/services.ts', 'engine/port.ts', 'engine/docker/engine.ts', 'http/rest/router.ts', 'schema/index.ts']),
    );
    // Each is read with its imports: a resolution failure would leave them empty.
    expect(graph['core/services.ts']!.length).toBeGreaterThan(3);
    expect(readFileSync(path.join(SRC, 'core/services.ts'), 'utf8')).toMatch(/from '\.\/containers\.js'/);
  });
});
