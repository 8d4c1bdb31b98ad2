import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';

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

  it('has a quick start of exactly two commands', () => {
    const quickStart = readme.split('## Quick start')[1]!.split('```sh')[1]!.split('```')[0]!;
    expect(quickStart.trim().split('\n').map((line) => line.split('#')[0]!.trim())).toEqual(['npm start', 'npm test']);
  });
});
