import { z } from 'zod';
import type { Engine } from '../engine/engine.js';
import type { WorkerPool } from '../engine/pool.js';
import { LineSplitter, type Frame, type Line, type StreamName } from '../engine/streams.js';
import { containerRef, parseInput } from './validation.js';

export interface LogEntry {
  timestamp: Date | null;
  stream: StreamName;
  message: string;
}

export const DEFAULT_LOG_TAIL = 100;

const TIMESTAMPED = /^(\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})) ?(.*)$/s;

/** Splits engine frames into entries, reading the engine's leading timestamp when asked for. */
export function framesToEntries(frames: Frame[], timestamps: boolean): LogEntry[] {
  const splitters = { stdout: new LineSplitter('stdout'), stderr: new LineSplitter('stderr') };
  const lines: Line[] = [];
  for (const frame of frames) lines.push(...splitters[frame.stream].push(frame.data));
  lines.push(...splitters.stdout.flush(), ...splitters.stderr.flush());
  return lines.map((line) => {
    const match = timestamps ? TIMESTAMPED.exec(line.text) : null;
    if (!match) return { timestamp: null, stream: line.stream, message: line.text };
    return { timestamp: new Date(match[1]!), stream: line.stream, message: match[2]! };
  });
}

export class LogService {
  readonly input;

  constructor(
    private readonly engine: Engine,
    private readonly pool: WorkerPool,
    readonly maxTail: number,
  ) {
    this.input = z
      .object({
        tail: z.number().int().min(0).max(maxTail).default(DEFAULT_LOG_TAIL),
        since: z.date().optional(),
        until: z.date().optional(),
        timestamps: z.boolean().default(true),
        stdout: z.boolean().default(true),
        stderr: z.boolean().default(true),
      })
      .refine((o) => !o.since || !o.until || o.since <= o.until, { message: 'since must not be after until', path: ['since'] });
  }

  async read(ref: string, input: z.input<LogService['input']> = {}): Promise<LogEntry[]> {
    const id = parseInput(containerRef, ref);
    const options = parseInput(this.input, input);
    return this.pool.run(async (signal) => {
      const info = await this.engine.inspectContainer(id, signal);
      // tail=0 means "none" to a person; engines disagree on it, so answer without asking.
      if (options.tail === 0) return [];
      const frames = await this.engine.logs(
        info.Id,
        Boolean(info.Config.Tty),
        {
          tail: options.tail,
          since: options.since ? options.since.getTime() / 1000 : undefined,
          until: options.until ? options.until.getTime() / 1000 : undefined,
          // Always asked for: Podman honours since/until only to the second, so they are
          // applied precisely here; the timestamps are dropped after if not wanted.
          timestamps: true,
          stdout: options.stdout,
          stderr: options.stderr,
        },
        signal,
      );
      const { since, until } = options;
      return framesToEntries(frames, true)
        .filter((e) => !e.timestamp || ((!since || e.timestamp >= since) && (!until || e.timestamp <= until)))
        .map((e) => (options.timestamps ? e : { ...e, timestamp: null }));
    });
  }
}
