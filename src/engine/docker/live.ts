import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { fromEngineError, type AppError } from '../../errors.js';
import type { Upstream, UpstreamHandlers } from '../../streams/upstream.js';
import type { EngineEvent, StampedLine, StatsSample } from '../port.js';
import { LineSplitter, type Frame, type Line, type StreamName } from '../streams.js';
import { frameReader } from './frames.js';

const STAMP = /^(\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})) ?/;
/** Longest timestamp prefix: nanoseconds and a zone offset. */
const MAX_STAMP_BYTES = 40;

/**
 * Turns log frames read with timestamps on into lines. Without a TTY every frame is one log
 * record with its own timestamp prefix, and an engine writes a long line as several records
 * without newlines (Podman every 8 KiB): those are joined again, and the line keeps the time
 * of its first part. A TTY stream has no frames, so there each line's prefix is read instead,
 * and a line the engine wrote in parts (over 8 KiB on Podman, 16 KiB on Docker, or a prompt
 * finished later) keeps the later parts' timestamps inside it: nothing marks where they begin.
 */
export class StampedLineReader {
  private readonly splitters = { stdout: new LineSplitter('stdout'), stderr: new LineSplitter('stderr') };
  /** Timestamp of the line each stream has begun but not finished. */
  private readonly open: Record<StreamName, string | null> = { stdout: null, stderr: null };

  constructor(private readonly tty: boolean) {}

  push(frame: Frame): StampedLine[] {
    const splitter = this.splitters[frame.stream];
    if (this.tty) return splitter.push(frame.data).map(stripStamp);
    const { data } = frame;
    const match = STAMP.exec(data.toString('latin1', 0, MAX_STAMP_BYTES));
    const stamp = match ? match[1]! : null;
    const contentStart = match ? match[0].length : 0;
    const started = this.open[frame.stream];
    const lines: StampedLine[] = splitter
      .push(data, contentStart)
      .map((line, i) => ({ stream: line.stream, text: line.text, truncated: line.truncated, timestamp: (i === 0 && started) || stamp }));
    if (data.length > contentStart) {
      const unfinished = data[data.length - 1] !== 0x0a;
      this.open[frame.stream] = unfinished ? (lines.length === 0 && started) || stamp : null;
    }
    return lines;
  }

  flush(): StampedLine[] {
    return (['stdout', 'stderr'] as const).flatMap((stream) => {
      const lines = this.splitters[stream].flush();
      return this.tty ? lines.map(stripStamp) : lines.map((line) => ({ ...line, timestamp: this.open[stream] }));
    });
  }
}

/** A stamp that ends a TTY line: the engine logged the line's terminator as a part of its own. */
const TRAILING_STAMP = /\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2}) ?$/;

function stripStamp(line: Line): StampedLine {
  const match = STAMP.exec(line.text);
  if (!match) return { ...line, timestamp: null };
  return { ...line, text: line.text.slice(match[0].length).replace(TRAILING_STAMP, ''), timestamp: match[1]! };
}

/**
 * Lines of a log read (frames in engine order). A last line without its newline is still being
 * written unless `final`: it is left out then, to arrive whole on the live stream.
 */
export function readStampedLines(frames: Frame[], tty: boolean, final: boolean): StampedLine[] {
  const reader = new StampedLineReader(tty);
  const lines = frames.flatMap((frame) => reader.push(frame));
  return final ? [...lines, ...reader.flush()] : lines;
}

/** Largest JSON object (an event or a stats sample) accepted from the engine. */
const MAX_JSON_LINE = 1024 * 1024;

/**
 * Opens an engine stream and feeds its chunks to `onChunk` until it ends or is closed. The
 * request is aborted when closed early, so no socket outlives its subscribers.
 */
function openStream(
  request: (signal: AbortSignal) => Promise<unknown>,
  onChunk: (chunk: Buffer) => void,
  onEnd: () => void,
  handlers: Pick<UpstreamHandlers<unknown>, 'open' | 'end'>,
): Upstream {
  const controller = new AbortController();
  let stream: Readable | undefined;
  let finished = false;
  const finish = (error?: AppError) => {
    if (finished) return;
    finished = true;
    if (!controller.signal.aborted) handlers.end(error);
  };
  request(controller.signal).then(
    (body) => {
      stream = body as Readable;
      if (controller.signal.aborted) {
        stream.destroy();
        return;
      }
      handlers.open?.();
      // Read in paused mode: everything buffered since the last read comes as one chunk, where
      // 'data' would fire for each HTTP chunk (Podman sends one per log line).
      stream.on('readable', () => {
        for (let chunk: Buffer | null; (chunk = stream!.read() as Buffer | null) !== null; ) onChunk(chunk);
      });
      stream.once('end', () => {
        onEnd();
        finish();
      });
      stream.once('close', () => finish());
      stream.once('error', (error) => finish(fromEngineError(error)));
    },
    (error: unknown) => finish(fromEngineError(error)),
  );
  return {
    close() {
      if (controller.signal.aborted) return;
      controller.abort();
      stream?.destroy();
    },
  };
}

/**
 * Follows a container's logs (both streams, with timestamps) from `sinceSeconds` on, as lines.
 * `tty` decides the format: the engines' content type cannot be trusted for that.
 */
export function followLogs(docker: Docker, id: string, tty: boolean, sinceSeconds: number, handlers: UpstreamHandlers<StampedLine>): Upstream {
  const read = frameReader(tty);
  const lines = new StampedLineReader(tty);
  return openStream(
    (signal) =>
      docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true, timestamps: true, since: sinceSeconds, abortSignal: signal }),
    (chunk) => {
      for (const frame of read(chunk)) for (const line of lines.push(frame)) handlers.data(line);
    },
    () => lines.flush().forEach((line) => handlers.data(line)),
    handlers,
  );
}

/** A reader of newline-delimited JSON objects; lines that do not parse are skipped. */
function jsonLines(onObject: (value: Record<string, unknown>) => void): (chunk: Buffer) => void {
  const splitter = new LineSplitter('stdout', MAX_JSON_LINE);
  return (chunk) => {
    for (const line of splitter.push(chunk)) {
      if (line.truncated || !line.text.trim()) continue;
      try {
        onObject(JSON.parse(line.text) as Record<string, unknown>);
      } catch {
        // Not JSON: nothing a subscriber could use.
      }
    }
  };
}

type RawEvent = {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  timeNano?: number | string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
};

/** Follows the engine's container events (create, start, die, stop, destroy, ...). */
export function watchContainerEvents(docker: Docker, handlers: UpstreamHandlers<EngineEvent>): Upstream {
  return openStream(
    (signal) => docker.getEvents({ filters: { type: ['container'] }, abortSignal: signal } as object),
    jsonLines((value) => {
      const raw = value as RawEvent;
      const action = raw.Action ?? raw.status;
      const id = raw.Actor?.ID ?? raw.id;
      if ((raw.Type && raw.Type !== 'container') || !action || !id) return;
      const attributes = raw.Actor?.Attributes ?? {};
      const timeNano = raw.timeNano !== undefined ? BigInt(raw.timeNano) : BigInt(raw.time ?? 0) * 1_000_000_000n;
      handlers.data({ id, name: attributes.name ?? '', action, timeNano, attributes });
    }),
    () => undefined,
    handlers,
  );
}

type RawStats = {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  pids_stats?: { current?: number };
};

/** CPU use since the previous sample as a percentage of one CPU, as `docker stats` shows it. */
function cpuPercent(raw: RawStats): number | null {
  const total = raw.cpu_stats?.cpu_usage?.total_usage;
  const previousTotal = raw.precpu_stats?.cpu_usage?.total_usage;
  const system = raw.cpu_stats?.system_cpu_usage;
  const previousSystem = raw.precpu_stats?.system_cpu_usage;
  if (total === undefined || previousTotal === undefined || !system || !previousSystem) return null;
  const cpuDelta = total - previousTotal;
  const systemDelta = system - previousSystem;
  if (systemDelta <= 0 || cpuDelta < 0) return 0;
  const cpus = raw.cpu_stats?.online_cpus || raw.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  return (cpuDelta / systemDelta) * cpus * 100;
}

export function toStatsSample(raw: RawStats): StatsSample {
  const networks = Object.values(raw.networks ?? {});
  const memory = raw.memory_stats;
  // Like `docker stats`: page cache the kernel can reclaim does not count as used.
  const cache = memory?.stats?.inactive_file ?? memory?.stats?.total_inactive_file ?? 0;
  return {
    read: raw.read && !raw.read.startsWith('0001-') ? new Date(raw.read) : new Date(),
    cpuPercent: cpuPercent(raw),
    memoryUsedBytes: memory?.usage !== undefined ? Math.max(0, memory.usage - cache) : null,
    memoryLimitBytes: memory?.limit ?? null,
    networkRxBytes: networks.reduce((sum, n) => sum + (n.rx_bytes ?? 0), 0),
    networkTxBytes: networks.reduce((sum, n) => sum + (n.tx_bytes ?? 0), 0),
    pids: raw.pids_stats?.current ?? null,
  };
}

type RawPodmanStats = {
  Error?: unknown;
  Stats?: { CPU?: number; MemUsage?: number; MemLimit?: number; NetInput?: number; NetOutput?: number; PIDs?: number; SystemNano?: number }[];
};

/** A sample from Podman's own stats stream, which reports CPU use as a percentage already. */
export function fromPodmanStats(raw: RawPodmanStats): StatsSample | null {
  const stats = raw.Error ? undefined : raw.Stats?.[0];
  if (!stats) return null;
  return {
    read: stats.SystemNano ? new Date(stats.SystemNano / 1_000_000) : new Date(),
    cpuPercent: stats.CPU ?? null,
    memoryUsedBytes: stats.MemUsage ?? null,
    memoryLimitBytes: stats.MemLimit ?? null,
    networkRxBytes: stats.NetInput ?? 0,
    networkTxBytes: stats.NetOutput ?? 0,
    pids: stats.PIDs ?? null,
  };
}

/** Podman's own stats endpoint: its Docker-compatible one samples only every 5 s. */
function podmanStats(docker: Docker, id: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) =>
    docker.modem.dial(
      {
        path: '/v4.0.0/libpod/containers/stats?',
        method: 'GET',
        options: { containers: [id], stream: true, interval: 1 },
        isStream: true,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        abortSignal: signal,
      } as Parameters<Docker['modem']['dial']>[0],
      (error, stream) => (error ? reject(error) : resolve(stream)),
    ),
  );
}

/** Follows a container's resource usage, a sample about every second. */
export function followStats(docker: Docker, id: string, podman: Promise<boolean>, handlers: UpstreamHandlers<StatsSample>): Upstream {
  let isPodman = false;
  return openStream(
    async (signal) => {
      isPodman = await podman;
      return isPodman ? podmanStats(docker, id, signal) : docker.getContainer(id).stats({ stream: true, abortSignal: signal } as object);
    },
    jsonLines((value) => {
      const sample = isPodman ? fromPodmanStats(value as RawPodmanStats) : toStatsSample(value as RawStats);
      if (sample) handlers.data(sample);
    }),
    () => undefined,
    handlers,
  );
}
