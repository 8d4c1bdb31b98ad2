import { describe, expect, it } from 'vitest';
import { linearPattern } from '../../src/core/pattern.js';
import { fromPodmanStats, readStampedLines, StampedLineReader, toStatsSample } from '../../src/engine/docker/live.js';
import type { Frame } from '../../src/engine/streams.js';
import { shuttingDown } from '../../src/errors.js';
import { FanOutHub } from '../../src/streams/hub.js';
import { CursorClock, decodeCursor, encodeCursor, timestampNanos } from '../../src/streams/cursor.js';

const frame = (text: string | Buffer, stream: Frame['stream'] = 'stdout'): Frame => ({ stream, data: Buffer.isBuffer(text) ? text : Buffer.from(text) });
const T1 = '2026-01-02T03:04:05Z';
const T2 = '2026-01-02T03:04:06.123456789Z';

describe('StampedLineReader', () => {
  it('joins a line the engine wrote in parts and keeps the time of its first part', () => {
    const lines = readStampedLines([frame(`${T1} abc`), frame(`${T2} def`), frame(`${T2} \n`), frame(`${T2} next\n`)], false, true);
    expect(lines.map((l) => [l.text, l.timestamp])).toEqual([
      ['abcdef', T1],
      ['next', T2],
    ]);
  });

  it('keeps a multi-byte character whole across parts, and the streams apart', () => {
    const e = Buffer.from('é');
    const lines = readStampedLines(
      [frame(Buffer.concat([Buffer.from(`${T1} h`), e.subarray(0, 1)])), frame(`${T1} err\n`, 'stderr'), frame(Buffer.concat([Buffer.from(`${T2} `), e.subarray(1), Buffer.from('llo\n')]))],
      false,
      true,
    );
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ['stderr', 'err'],
      ['stdout', 'héllo'],
    ]);
  });

  it('leaves out a last line still being written, unless the log is final', () => {
    const frames = [frame(`${T1} done\n`), frame(`${T2} half a li`)];
    expect(readStampedLines(frames, false, false).map((l) => l.text)).toEqual(['done']);
    expect(readStampedLines(frames, false, true).map((l) => l.text)).toEqual(['done', 'half a li']);
  });

  it('reads each line\'s own prefix on a TTY stream, where chunks are not records', () => {
    const reader = new StampedLineReader(true);
    const lines = [...reader.push(frame(`${T1} a\r\n${T2} b`)), ...reader.push(frame('c\r\n')), ...reader.flush()];
    expect(lines.map((l) => [l.text, l.timestamp])).toEqual([
      ['a', T1],
      ['bc', T2],
    ]);
  });

  it('caps a very long line with a marker', () => {
    const [line] = readStampedLines([frame(`${T1} ${'x'.repeat(100_000)}\n`)], false, true);
    expect(line!.truncated).toBe(true);
    expect(line!.text.length).toBeLessThan(70_000);
    expect(line!.text).toMatch(/truncated\]$/);
  });
});

describe('log cursors', () => {
  it('reads engine timestamps to the nanosecond, with or without a fraction or offset', () => {
    expect(timestampNanos(T1)).toBe(1767323045000000000n);
    expect(timestampNanos(T2)).toBe(1767323046123456789n);
    expect(timestampNanos('2026-01-02T04:04:06.5+01:00')).toBe(1767323046500000000n);
    expect(timestampNanos('yesterday')).toBeNull();
  });

  it('gives stamped lines the times timestampNanos reads, parsing each second once', () => {
    const stamps = [
      '2026-01-02T03:04:05.123456789Z',
      '2026-01-02T03:04:05.2Z',
      '2026-01-02T03:04:06Z',
      '2026-01-02T04:04:06.5+01:00',
      '2026-01-02T03:04:07.000000001Z',
      '2026-01-02T03:04:08.Z',
      '2026-01-02T03:04:09.1234567891Z',
      '2026-01-02T03:04:10.5+01:00x',
      'yesterday',
    ];
    for (const stamp of stamps) expect(new CursorClock().nextStamped(stamp).nanos, stamp).toBe(timestampNanos(stamp) ?? 0n);
    const clock = new CursorClock();
    expect(['2026-01-02T03:04:05.1Z', '2026-01-02T03:04:05.3Z', '2026-01-02T03:04:06.2Z'].map((stamp) => encodeCursor(clock.nextStamped(stamp)))).toEqual([
      '1767323045100000000.0',
      '1767323045300000000.0',
      '1767323046200000000.0',
    ]);
  });

  it('never goes backwards: equal or earlier times take the next index', () => {
    const clock = new CursorClock();
    const positions = [10n, 10n, 20n, 15n, 30n].map((nanos) => encodeCursor(clock.next(nanos)));
    expect(positions).toEqual(['10.0', '10.1', '20.0', '20.1', '30.0']);
    expect(decodeCursor('20.1')).toEqual({ nanos: 20n, index: 1 });
    expect(decodeCursor('20')).toBeNull();
  });
});

describe('linearPattern', () => {
  it('accepts ordinary patterns and refuses backtracking constructs and long ones', () => {
    const pattern = linearPattern.parse('^(error|warn)[: ].*(a+)+$');
    // A classic catastrophic input for backtracking engines; linear here.
    const started = Date.now();
    expect(pattern.test(`error ${'a'.repeat(50_000)}!`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
    for (const unsafe of ['(a)\\1', '(?=a)', '(?<!a)b', 'x'.repeat(257), '(']) expect(linearPattern.safeParse(unsafe).success).toBe(false);
  });
});

describe('stats samples', () => {
  it('computes CPU use like docker stats and leaves reclaimable cache out of memory use', () => {
    const sample = toStatsSample({
      read: '2026-01-02T03:04:05.000Z',
      cpu_stats: { cpu_usage: { total_usage: 3_000 }, system_cpu_usage: 20_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000 }, system_cpu_usage: 10_000 },
      memory_stats: { usage: 1_000, limit: 4_000, stats: { inactive_file: 200 } },
      networks: { eth0: { rx_bytes: 5, tx_bytes: 7 }, eth1: { rx_bytes: 1, tx_bytes: 1 } },
      pids_stats: { current: 3 },
    });
    expect(sample).toMatchObject({ cpuPercent: 40, memoryUsedBytes: 800, memoryLimitBytes: 4_000, networkRxBytes: 6, networkTxBytes: 8, pids: 3 });
  });

  it('reads Podman\'s own stats format, and skips its error samples', () => {
    const stats = { CPU: 12.5, MemUsage: 900, MemLimit: 4_000, NetInput: 6, NetOutput: 8, PIDs: 2, SystemNano: 1767323045000000000 };
    expect(fromPodmanStats({ Error: null, Stats: [stats] })).toMatchObject({ cpuPercent: 12.5, memoryUsedBytes: 900, networkRxBytes: 6, pids: 2, read: new Date('2026-01-02T03:04:05Z') });
    expect(fromPodmanStats({ Error: { message: 'container is stopped' }, Stats: [] })).toBeNull();
  });
});

describe('FanOutHub', () => {
  it('opens one upstream per key, closes it after the last listener lingered out, and reopens on demand', async () => {
    const hub = new FanOutHub<number>('test', 20);
    let opened = 0;
    let closed = 0;
    const open = () => {
      opened++;
      return { close: () => closed++ };
    };
    const listener = { data: () => undefined, end: () => undefined };
    const leaves = [hub.join('a', listener, open), hub.join('a', { ...listener }, open), hub.join('b', listener, open)];
    expect([opened, hub.upstreamCount, hub.listenerCount]).toEqual([2, 2, 3]);
    leaves.forEach((leave) => leave());
    leaves[0]!();
    expect(hub.listenerCount).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect([closed, hub.upstreamCount]).toEqual([2, 0]);
    hub.join('a', listener, open)();
    expect(opened).toBe(3);
    const endings: (string | undefined)[] = [];
    hub.join('c', { data: () => undefined, end: (error) => endings.push(error?.code) }, open);
    hub.closeAll(shuttingDown());
    expect([closed, endings, hub.upstreamCount]).toEqual([4, ['SHUTTING_DOWN'], 0]);
    // Closed for good: a later listener is ended at once and opens nothing.
    hub.join('d', { data: () => undefined, end: (error) => endings.push(error?.code) }, open);
    expect([opened, endings, hub.upstreamCount]).toEqual([4, ['SHUTTING_DOWN', 'SHUTTING_DOWN'], 0]);
  });

  it('tells every listener when the upstream ends on its own', () => {
    const hub = new FanOutHub<number>('test', 20);
    let end: ((error?: never) => void) | undefined;
    const received: string[] = [];
    for (const name of ['x', 'y']) {
      hub.join('k', { data: (n) => received.push(`${name}${n}`), end: () => received.push(`${name} end`) }, (handlers) => {
        handlers.data(1);
        end = handlers.end;
        return { close: () => undefined };
      });
    }
    end!();
    expect(received).toEqual(['x1', 'x end', 'y end']);
    expect(hub.upstreamCount).toBe(0);
  });
});

describe('readStampedLines on a TTY', () => {
  it('drops the stamp of a line terminator the engine logged as its own part', () => {
    const raw = Buffer.from('2026-11-29T20:44:37Z early 12026-11-29T20:44:37Z \r\n2026-11-29T20:44:38Z next\r\n');
    const lines = readStampedLines([{ stream: 'stdout', data: raw }], true, true);
    expect(lines.map((l) => [l.timestamp, l.text])).toEqual([
      ['2026-11-29T20:44:37Z', 'early 1'],
      ['2026-11-29T20:44:38Z', 'next'],
    ]);
  });
});
