import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import type { StampedLine } from '../../src/engine/port.js';
import { followLogFile } from '../../src/engine/logfile.js';

// A host whose inotify watches are used up: fs.watch throws ENOSPC.
vi.mock('node:fs', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:fs')>()),
  watch: () => {
    throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
  },
}));

const dir = mkdtempSync(path.join(tmpdir(), 'podgraph-unwatched-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('follows a log file by polling when no change notices can be had', async () => {
  const file = path.join(dir, 'ctr.log');
  writeFileSync(file, '2026-01-02T03:04:05.000000001+00:00 stdout F first\n');
  const lines: StampedLine[] = [];
  const ended: unknown[] = [];
  const follower = followLogFile(file, { data: (line) => lines.push(line), end: (error) => ended.push(error) });
  try {
    await vi.waitFor(() => expect(lines.map((l) => l.text)).toEqual(['first']), { timeout: 2000, interval: 10 });
    const written = Date.now();
    appendFileSync(file, '2026-01-02T03:04:05.000000002+00:00 stdout F second\n');
    await vi.waitFor(() => expect(lines.map((l) => l.text)).toEqual(['first', 'second']), { timeout: 2000, interval: 10 });
    expect(Date.now() - written).toBeLessThan(500);
    expect(ended).toEqual([]);
  } finally {
    follower.close();
  }
});
