import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { fromInspect } from '../../src/engine/docker/container-model.js';
import type { StampedLine } from '../../src/engine/port.js';
import { followLogFile, lineStarts, LogRecordJoiner, LogRecordParser, readLogFile } from '../../src/engine/logfile.js';
import { CursorClock, encodeCursor } from '../../src/streams/cursor.js';

const dir = mkdtempSync(path.join(tmpdir(), 'podgraph-logfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = (content: string) => {
  const file = path.join(dir, `log-${++files}`);
  writeFileSync(file, content);
  return file;
};

const stamp = (micros: number) => `2026-01-02T03:04:05.${String(micros).padStart(6, '0')}000+00:00`;
const cri = (micros: number, text: string, tag: 'F' | 'P' = 'F', stream = 'stdout') => `${stamp(micros)} ${stream} ${tag} ${text}\n`;

/**
 * A Podman-like burst: each engine read has one time, and a read that ends inside a line leaves
 * that line as a piece (P) which the next read, with a later time, finishes.
 */
function podmanBurst(lineCount: number, linesPerRead: number): { log: string; texts: string[] } {
  const texts = Array.from({ length: lineCount }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
  let log = '';
  let read = 0;
  texts.forEach((text, i) => {
    const time = read * 10;
    if (i % linesPerRead === linesPerRead - 1 && i < lineCount - 1) {
      log += cri(time, text.slice(0, 10), 'P');
      read++;
      log += cri(read * 10, text.slice(10));
    } else log += cri(time, text);
  });
  return { log, texts };
}

const cursors = (lines: StampedLine[]) => {
  const clock = new CursorClock();
  return lines.map((line) => encodeCursor(clock.nextStamped(line.timestamp)));
};

describe('log file records', () => {
  it("reads Podman's k8s-file records: stream, time, partial and final pieces, empty lines", () => {
    const parser = new LogRecordParser();
    const parse = (text: string) => parser.parse(Buffer.from(text));
    expect(parse(`${stamp(1)} stdout F hello world`)).toMatchObject({ stream: 'stdout', ends: true, content: Buffer.from('hello world') });
    expect(parse(`${stamp(2)} stderr P abc`)).toMatchObject({ stream: 'stderr', ends: false, content: Buffer.from('abc') });
    expect(parse(`${stamp(3)} stdout F`)?.content.length).toBe(0);
    expect(parse(`${stamp(3)} stdout P:x more`)?.ends).toBe(false);
    expect(parse(`${stamp(4)} stdout F `)?.nanos).toBe(1767323045000004000n);
    for (const bad of ['', 'garbage', `${stamp(1)} stdin F x`, 'yesterday stdout F x']) expect(parse(bad)).toBeNull();
  });

  it("reads Docker's json-file records; a record without a newline is a piece", () => {
    const parser = new LogRecordParser();
    const parse = (value: object | string) => parser.parse(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));
    expect(parse({ log: 'hi ✓\n', stream: 'stdout', time: '2026-01-02T03:04:05.12345678Z' })).toMatchObject({
      stream: 'stdout',
      ends: true,
      content: Buffer.from('hi ✓'),
      nanos: 1767323045123456780n,
    });
    expect(parse({ log: 'part', stream: 'stderr', time: '2026-01-02T03:04:05Z' })).toMatchObject({ ends: false, content: Buffer.from('part') });
    expect(parse('{"log": 1}')).toBeNull();
    expect(parse('{broken')).toBeNull();
  });

  it('joins pieces into lines with the time of the first piece, keeping streams and characters whole', () => {
    const parser = new LogRecordParser();
    const euro = Buffer.from('€');
    const records = parser.parseAll(
      Buffer.concat([
        Buffer.from(`${stamp(1)} stdout P ab`),
        euro.subarray(0, 1),
        Buffer.from(`\n${cri(2, 'an error', 'F', 'stderr')}${stamp(3)} stdout P `),
        euro.subarray(1),
        Buffer.from(`\n${cri(4, 'cd')}${stamp(5)} stdout P unfinished\n`),
      ]),
    ).records;
    const joiner = new LogRecordJoiner();
    const lines = records.flatMap((record) => joiner.push(record) ?? []);
    expect(lines.map((l) => [l.stream, l.text, l.timestamp])).toEqual([
      ['stderr', 'an error', stamp(2)],
      ['stdout', 'ab€cd', stamp(1)],
    ]);
    expect(joiner.flush().map((l) => [l.text, l.timestamp])).toEqual([['unfinished', stamp(5)]]);
  });

  it('counts lines only from a line begun later than the one before it', () => {
    const parser = new LogRecordParser();
    const { records } = parser.parseAll(Buffer.from(cri(0, 'a') + cri(0, 'b') + cri(0, 'c', 'P') + cri(10, 'c') + cri(10, 'd') + cri(20, 'e')));
    // b shares a's time; the piece finished at 10 continues c; d is the first to begin at 10.
    expect(lineStarts(records)).toEqual([4, 5]);
  });
});

describe('which log files are read', () => {
  it('only text formats: json-file (as Podman also calls its k8s-file) and k8s-file, not Docker\'s binary local files', () => {
    const inspected = (type: string, logPath = '/var/lib/engine/ctr.log') =>
      fromInspect({
        Id: 'a'.repeat(64),
        Name: '/c',
        Image: 'sha256:1',
        Created: '2026-01-02T03:04:05Z',
        State: { Status: 'running', StartedAt: '2026-01-02T03:04:05Z', FinishedAt: '0001-01-01T00:00:00Z', ExitCode: 0 },
        Config: { Image: 'i', Tty: false, Labels: {}, Cmd: ['sh'] },
        HostConfig: { LogConfig: { Type: type } },
        LogPath: logPath,
      } as unknown as Docker.ContainerInspectInfo).details!.logPath;
    expect(inspected('json-file')).toBe('/var/lib/engine/ctr.log');
    expect(inspected('k8s-file')).toBe('/var/lib/engine/ctr.log');
    expect(inspected('local')).toBeNull();
    expect(inspected('journald')).toBeNull();
    expect(inspected('json-file', '')).toBeNull();
  });
});

describe('readLogFile', () => {
  const { log, texts } = podmanBurst(3000, 90);
  const file = tempFile(log);

  it('gives the last lines with the cursors a read of the whole file gives them, reading only the end', async () => {
    const whole = await readLogFile(file, { final: true, tail: Infinity });
    expect(whole.map((l) => l.text)).toEqual(texts);
    const wholeCursors = cursors(whole);
    for (const tail of [1, 2, 89, 90, 91, 100, 500, 2999, 3000]) {
      const lines = await readLogFile(file, { tail, final: false });
      expect(lines.length).toBeGreaterThanOrEqual(tail);
      expect(lines.length).toBeLessThan(tail === 3000 ? 3001 : Math.max(2 * tail, tail + 400));
      const last = lines.slice(-tail);
      expect(last.map((l) => l.text)).toEqual(texts.slice(-tail));
      expect(cursors(lines).slice(-tail)).toEqual(wholeCursors.slice(-tail));
    }
  });

  it('gives every line from a time on', async () => {
    const sinceNanos = 1767323045000000000n + 150_000n; // the read at 150 µs
    const lines = await readLogFile(file, { sinceNanos, final: false });
    const wholeCursors = cursors(await readLogFile(file, { final: true, tail: Infinity }));
    const from = lines.findIndex((l) => l.timestamp === stamp(150));
    expect(from).toBeGreaterThanOrEqual(0);
    expect(lines.slice(from).map((l) => l.text)).toEqual(texts.slice(texts.length - (lines.length - from)));
    expect(cursors(lines).slice(from)).toEqual(wholeCursors.slice(wholeCursors.length - (lines.length - from)));
  });

  it('fails with NOT_FOUND for a file that is gone', async () => {
    await expect(readLogFile(path.join(dir, 'missing'), { tail: 1, final: false })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('followLogFile', () => {
  function follow(file: string) {
    const lines: StampedLine[] = [];
    let ended = false;
    const follower = followLogFile(file, { data: (line) => lines.push(line), end: () => (ended = true) });
    const waitFor = async (test: () => boolean) => {
      for (let i = 0; i < 200 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(test()).toBe(true);
    };
    return { follower, lines, ended: () => ended, waitFor };
  }

  it('starts at the last line start, follows appends, and ends after the rest once finished', async () => {
    const file = tempFile(cri(0, 'old') + cri(10, 'older than the join', 'P') + cri(20, ' piece') + cri(20, 'last before the join'));
    const { follower, lines, ended, waitFor } = follow(file);
    await waitFor(() => lines.length === 1);
    expect(lines[0]!.text).toBe('last before the join');
    appendFileSync(file, cri(30, 'new') + cri(40, 'half', 'P'));
    await waitFor(() => lines.length === 2);
    follower.finish();
    await waitFor(ended);
    expect(lines.map((l) => l.text)).toEqual(['last before the join', 'new', 'half']);
  });

  it('reads a file rotated away to its end, then the new one at once', async () => {
    const file = tempFile(cri(0, 'first'));
    const { follower, lines, waitFor } = follow(file);
    await waitFor(() => lines.length === 1);
    appendFileSync(file, cri(10, 'last of the old file'));
    renameSync(file, `${file}.1`);
    writeFileSync(file, cri(20, 'first of the new file'));
    await waitFor(() => lines.length === 3);
    // Noticed through the new file's own watch, not the once-a-second check.
    const written = Date.now();
    appendFileSync(file, cri(30, 'next'));
    await waitFor(() => lines.length === 4);
    expect(Date.now() - written).toBeLessThan(500);
    expect(lines.map((l) => l.text)).toEqual(['first', 'last of the old file', 'first of the new file', 'next']);
    follower.close();
  });

  it('reads a truncated file again from its start, and sends nothing once closed', async () => {
    const file = tempFile(cri(0, 'before'));
    const { follower, lines, waitFor } = follow(file);
    await waitFor(() => lines.length === 1);
    appendFileSync(file, cri(10, 'second'));
    await waitFor(() => lines.length === 2);
    truncateSync(file, 0);
    appendFileSync(file, cri(20, 'after rotation'));
    await waitFor(() => lines.length === 3);
    expect(lines[2]!.text).toBe('after rotation');
    follower.close();
    appendFileSync(file, cri(30, 'unseen'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines).toHaveLength(3);
  });
});
