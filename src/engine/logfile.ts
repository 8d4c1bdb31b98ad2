import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromEngineError, notFound, type AppError } from '../errors.js';
import { StampParser } from '../streams/cursor.js';
import type { Upstream, UpstreamHandlers } from '../streams/upstream.js';
import type { StampedLine } from './port.js';
import { LineSplitter, type StreamName } from './streams.js';

/**
 * Reading a container's log file where the engine writes it, on the same host, instead of
 * through the engine's API: what log shippers do with the same files. Podman's API serves
 * followed logs by polling the file every 250 ms and gives times to the second; the file has
 * every record at once and its time to the nanosecond. Two formats: Podman's k8s-file (CRI:
 * `TIME STREAM P|F TEXT`) and Docker's json-file (`{"log","stream","time"}`), told apart by
 * each record's first byte, since Podman's inspect calls its k8s-file "json-file".
 */

/** One record: a whole line, or a piece of one (`ends` false) that later records finish. */
export interface LogRecord {
  stream: StreamName;
  /** RFC 3339 with nanoseconds, as the engine wrote it. */
  stamp: string;
  nanos: bigint;
  ends: boolean;
  content: Buffer;
  /** Where the record starts in the file. */
  offset: number;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const OPEN_BRACE = 0x7b;
/** Largest read at once, and the largest first window of a history read. */
const READ_BYTES = 64 * 1024;
/** Bytes a history read first assumes a record to take, to size its first window. */
const GUESSED_RECORD_BYTES = 256;
/** How often a followed file is checked even without a change notice (some file systems send none). */
const FOLLOW_POLL_MS = 1000;
/** How often, when no notices can be had at all (the host's inotify watches are used up). */
const UNWATCHED_POLL_MS = 100;
/** After the container stopped, one more look this much later: the engine may still be writing. */
const FINAL_READ_DELAY_MS = 50;

/** A log file that cannot be read: gone means the container was removed meanwhile. */
function fileError(error: unknown): AppError {
  return (error as NodeJS.ErrnoException).code === 'ENOENT' ? notFound('The container was removed') : fromEngineError(error);
}

function streamName(text: string | undefined): StreamName | null {
  return text === 'stdout' || text === 'stderr' ? text : null;
}

/** Reads records in file order; one parser per read, so that StampParser's caches apply. */
export class LogRecordParser {
  private readonly stamps = new StampParser();

  /** One line of the file, without its newline; null when it is neither format. */
  parse(line: Buffer, offset = 0): LogRecord | null {
    if (line[0] === OPEN_BRACE) return this.parseJson(line, offset);
    const stampEnd = line.indexOf(SPACE);
    const streamEnd = line.indexOf(SPACE, stampEnd + 1);
    if (stampEnd < 0 || streamEnd < 0) return null;
    const stream = streamName(line.toString('latin1', stampEnd + 1, streamEnd));
    if (!stream) return null;
    // Tags are colon-separated; P marks a partial line. An empty line may end right after them.
    const tagsEnd = line.indexOf(SPACE, streamEnd + 1);
    const tags = line.toString('latin1', streamEnd + 1, tagsEnd < 0 ? line.length : tagsEnd);
    const ends = tags === 'F' || !tags.split(':').includes('P');
    const content = line.subarray(tagsEnd < 0 ? line.length : tagsEnd + 1);
    return this.record(stream, line.toString('latin1', 0, stampEnd), ends, content, offset);
  }

  /** Every whole record in `bytes` (read from file offset `base`); `consumed` tells where to go on. */
  parseAll(bytes: Buffer, base = 0): { records: LogRecord[]; consumed: number } {
    const records: LogRecord[] = [];
    let start = 0;
    for (let nl = bytes.indexOf(NEWLINE); nl >= 0; nl = bytes.indexOf(NEWLINE, start)) {
      const parsed = nl > start ? this.parse(bytes.subarray(start, nl), base + start) : null;
      if (parsed) records.push(parsed);
      start = nl + 1;
    }
    return { records, consumed: start };
  }

  private parseJson(line: Buffer, offset: number): LogRecord | null {
    let raw: { log?: unknown; stream?: string; time?: unknown };
    try {
      raw = JSON.parse(line.toString('utf8')) as typeof raw;
    } catch {
      return null;
    }
    const stream = streamName(raw.stream);
    if (!stream || typeof raw.log !== 'string' || typeof raw.time !== 'string') return null;
    const ends = raw.log.endsWith('\n');
    return this.record(stream, raw.time, ends, Buffer.from(ends ? raw.log.slice(0, -1) : raw.log, 'utf8'), offset);
  }

  private record(stream: StreamName, stamp: string, ends: boolean, content: Buffer, offset: number): LogRecord | null {
    const nanos = this.stamps.parse(stamp);
    return nanos === null ? null : { stream, stamp, nanos, ends, content, offset };
  }
}

/** Joins records into lines; a line keeps the time of its first piece. */
export class LogRecordJoiner {
  private readonly splitters = { stdout: new LineSplitter('stdout'), stderr: new LineSplitter('stderr') };
  /** The first piece of the line each stream has begun but not finished. */
  private readonly open: Record<StreamName, LogRecord | null> = { stdout: null, stderr: null };

  push(record: LogRecord): StampedLine | null {
    const first = this.open[record.stream] ?? record;
    if (!record.ends) {
      this.open[record.stream] = first;
      this.splitters[record.stream].append(record.content);
      return null;
    }
    this.open[record.stream] = null;
    const line = this.splitters[record.stream].endLine(record.content);
    return { stream: line.stream, text: line.text, truncated: line.truncated, timestamp: first.stamp, nanos: first.nanos };
  }

  /** Lines still unfinished, as they are: the container has stopped. */
  flush(): StampedLine[] {
    return (['stdout', 'stderr'] as const).flatMap((stream) => {
      const first = this.open[stream];
      return this.splitters[stream].flush().map((line) => ({ ...line, timestamp: first?.stamp ?? null, nanos: first?.nanos }));
    });
  }
}

/**
 * Where, in records read from the middle of a file, lines can be counted from: each record
 * that begins a line (no stream has one open) later than the last line began. From there a
 * line's cursor (time of its first piece, index among lines of that time) starts at index 0,
 * as it does for a reader from the file's start. A burst on Podman has no simpler mark: each
 * of its records is cut where the engine's buffer ended, so every new time continues a line.
 */
export function lineStarts(records: LogRecord[]): number[] {
  const starts: number[] = [];
  const open = new Set<StreamName>();
  let lastBegun: bigint | null = null;
  records.forEach((current, i) => {
    if (i > 0 && open.size === 0 && lastBegun !== null && lastBegun < current.nanos) starts.push(i);
    if (!open.has(current.stream)) lastBegun = current.nanos;
    if (current.ends) open.delete(current.stream);
    else open.add(current.stream);
  });
  return starts;
}

async function readAt(file: FileHandle, start: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * The records of the file's last `span` bytes, from a line start on. `starts` are the indexes
 * where lines may be counted from; with the whole file read, the first record is one.
 */
async function readTailRecords(file: FileHandle, size: number, span: number) {
  const start = Math.max(0, size - span);
  const bytes = await readAt(file, start, size - start);
  // From the middle of the file, the first newline ends a record that began before the window.
  const from = start === 0 ? 0 : bytes.indexOf(NEWLINE) + 1;
  const { records } = new LogRecordParser().parseAll(bytes.subarray(from), start + from);
  const starts = lineStarts(records);
  if (start === 0) return { records, starts: records.length ? [0, ...starts] : [], whole: true };
  const first = starts[0];
  if (first === undefined) return { records: [], starts: [], whole: false };
  return { records: records.slice(first), starts: starts.map((i) => i - first), whole: false };
}

export interface LogFileWindow {
  /** The last `tail` lines... */
  tail?: number;
  /** ...or every line from this time on. */
  sinceNanos?: bigint;
  /** Whether an unfinished last line is returned (the container has stopped). */
  final: boolean;
}

/** Lines of the log file's end, at least those the window asks for: it reads no more than they need. */
export async function readLogFile(path: string, window: LogFileWindow): Promise<StampedLine[]> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw fileError(error);
  }
  try {
    const { size } = await file.stat();
    const firstSpan = window.tail === undefined ? READ_BYTES : Math.min(READ_BYTES, (window.tail + 1) * GUESSED_RECORD_BYTES);
    for (let span = firstSpan; ; span *= 4) {
      const { records, whole } = await readTailRecords(file, size, span);
      const enough =
        window.sinceNanos !== undefined
          ? records.length > 0 && records[0]!.nanos < window.sinceNanos
          : records.filter((r) => r.ends).length >= (window.tail ?? Infinity);
      if (!whole && !enough) continue;
      const joiner = new LogRecordJoiner();
      const lines: StampedLine[] = [];
      for (const record of records) {
        const line = joiner.push(record);
        if (line) lines.push(line);
      }
      return window.final ? [...lines, ...joiner.flush()] : lines;
    }
  } finally {
    await file.close();
  }
}

export interface LogFileFollower extends Upstream {
  /** The container stopped: read what is left, then end. */
  finish(): void;
}

/**
 * Follows a log file from its last line start on (the lines from there come again, with the
 * cursors a history read gives them), as lines, until finished or closed. A file that shrinks
 * was truncated by the engine's rotation and is read again from its start; one replaced under
 * the same path (renamed away) is read to its end and then the new one from its start.
 */
export function followLogFile(path: string, handlers: UpstreamHandlers<StampedLine>): LogFileFollower {
  const parser = new LogRecordParser();
  const joiner = new LogRecordJoiner();
  let file: FileHandle | undefined;
  let inode = 0;
  let offset = 0;
  let pending: Buffer | null = null;
  let watcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  let closed = false;
  let reading: Promise<void> | null = null;
  let again = false;

  const stop = () => {
    closed = true;
    watcher?.close();
    clearInterval(poll);
    void file?.close().catch(() => undefined);
  };

  const fail = (error: unknown) => {
    if (closed) return;
    stop();
    handlers.end(fileError(error));
  };

  const drain = async () => {
    while (!closed && file) {
      const bytes = await readAt(file, offset, READ_BYTES);
      if (bytes.length === 0) return;
      offset += bytes.length;
      const chunk = pending ? Buffer.concat([pending, bytes]) : bytes;
      const { records, consumed } = parser.parseAll(chunk);
      pending = consumed < chunk.length ? chunk.subarray(consumed) : null;
      for (const record of records) {
        if (closed) return;
        const line = joiner.push(record);
        if (line) handlers.data(line);
      }
    }
  };

  // Change notices for the file now at `path`: a watch stays with its file, not with the name.
  const watchPath = () => {
    watcher?.close();
    watcher = undefined;
    try {
      watcher = watch(path, () => void check().catch(fail));
      watcher.on('error', () => undefined);
    } catch {
      // Polling alone, then.
    }
    clearInterval(poll);
    poll = setInterval(() => void check().catch(fail), watcher ? FOLLOW_POLL_MS : UNWATCHED_POLL_MS);
  };

  const readToEnd = async () => {
    const current = await stat(path).catch(() => null);
    if (current && current.ino !== inode) {
      await drain();
      await file?.close();
      file = await open(path, 'r');
      inode = current.ino;
      offset = 0;
      pending = null;
      if (!closed) watchPath();
    } else if (current && current.size < offset) {
      offset = 0;
      pending = null;
    }
    await drain();
  };

  const opened = (async () => {
    file = await open(path, 'r');
    const info = await file.stat();
    inode = info.ino;
    const { records, starts } = await readTailRecords(file, info.size, READ_BYTES);
    const last = starts.at(-1);
    offset = last === undefined ? info.size : records[last]!.offset;
  })();

  // One read at a time; a notice during a read asks for one more pass after it.
  const check = (): Promise<void> => {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      await opened;
      do {
        again = false;
        await readToEnd();
      } while (again && !closed);
    })().finally(() => (reading = null));
    return reading;
  };

  opened
    .then(() => {
      if (closed) return stop();
      watchPath();
      return check();
    })
    .catch(fail);

  return {
    close: stop,
    finish() {
      if (closed) return;
      void (async () => {
        await check();
        await sleep(FINAL_READ_DELAY_MS);
        await check();
        if (closed) return;
        for (const line of joiner.flush()) handlers.data(line);
        stop();
        handlers.end();
      })().catch(fail);
    },
  };
}
