import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_TABLES, envSchema, type ConfigRow } from '../src/config.js';
import { ERROR_CODES } from '../src/errors.js';

const markdownTable = (rows: readonly ConfigRow[]) =>
  ['| variable | default | meaning |', '|---|---|---|', ...rows.map((row) => `| ${row.variables} | ${row.defaults} | ${row.meaning} |`)].join('\n');

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('documents exactly the error table of the code', () => {
    const section = readme.split('<!-- error-codes:start -->')[1]!.split('<!-- error-codes:end -->')[0]!;
    const rows = section
      .trim()
      .split('\n')
      .slice(2)
      .map((row) => row.split('|').slice(1, -1).map((cell) => cell.trim().replace(/`/g, '')));
    const expected = Object.entries(ERROR_CODES)
      .map(([code, { status, meaning }]) => [code, String(status), meaning])
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    expect(rows).toEqual(expected);
  });

  it.each(Object.entries(CONFIG_TABLES))('shows the %s configuration table --help prints', (name, rows) => {
    const section = readme.split(`<!-- config-${name}:start -->`)[1]!.split(`<!-- config-${name}:end -->`)[0]!;
    expect(section.trim()).toBe(markdownTable(rows));
  });

  it('documents every variable the configuration reads, once', () => {
    const documented = Object.values(CONFIG_TABLES)
      .flat()
      .flatMap((row) => row.variables.split(' / ').map((name) => name.replace(/`/g, '')));
    expect(documented.sort()).toEqual(Object.keys(envSchema.shape).sort());
  });

  it("gives the defaults envSchema applies, wherever a table shows one as a plain value", () => {
    const shape = envSchema.shape as Record<string, { parse(value: undefined): unknown }>;
    const checked = Object.values(CONFIG_TABLES)
      .flat()
      .flatMap((row) => {
        const names = row.variables.split(' / ').map((name) => name.replace(/`/g, ''));
        const defaults = row.defaults.split(' / ');
        return names.length === defaults.length ? names.map((name, i) => [name, /^`([^`]*)`$/.exec(defaults[i]!)?.[1]] as const) : [];
      })
      .filter(([name, shown]) => shown !== undefined && ['number', 'boolean', 'string'].includes(typeof shape[name]!.parse(undefined)));
    for (const [name, shown] of checked) expect(String(shape[name]!.parse(undefined)), name).toBe(shown);
    expect(checked.length).toBeGreaterThan(30);
  });

  it('shows the typed client example that npm test type-checks, as it is', () => {
    const shown = readme.split('<!-- client-example:start -->')[1]!.split('<!-- client-example:end -->')[0]!;
    expect(shown.trim()).toBe(['```ts', readFileSync(new URL('../client/example.ts', import.meta.url), 'utf8').trimEnd(), '```'].join('\n'));
  });

  it('has a quick start of exactly two commands', () => {
    const quickStart = readme.split('## Quick start')[1]!.split('```sh')[1]!.split('```')[0]!;
    expect(quickStart.trim().split('\n').map((line) => line.split('#')[0]!.trim())).toEqual(['npm start', 'npm test']);
  });
});
