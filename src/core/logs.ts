import { z } from 'zod';
import type { StreamName } from '../engine/streams.js';
import { encodeCursor, positionTime } from '../streams/cursor.js';
import type { ContainerService } from './containers.js';
import { DEFAULT_LOG_TAIL, type LiveService } from './live.js';
import { toLiveTarget, type LiveTarget } from './live-target.js';
import { parseInput } from './validation.js';

export interface LogEntry {
  /** Where a containerLogs subscription can resume after this line. */
  cursor: string;
  timestamp: Date | null;
  stream: StreamName;
  message: string;
}

export class LogService {
  readonly input;

  constructor(
    private readonly containers: ContainerService,
    private readonly live: LiveService,
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
    return this.readFor(toLiveTarget(await this.containers.get(ref)), input);
  }

  /** As read, for a container the caller has already inspected (GraphQL has, per request). */
  async readFor(target: LiveTarget, input: z.input<LogService['input']> = {}): Promise<LogEntry[]> {
    const options = parseInput(this.input, input);
    // tail=0 means "none" to a person; engines disagree on it, so answer without asking.
    if (options.tail === 0) return [];
    const { since, until } = options;
    const lines = await this.live.readHistory(target, options.tail, since);
    return lines
      .filter((line) => (line.stream === 'stdout' ? options.stdout : options.stderr))
      // Podman honours since/until only to the second, so they are applied precisely here.
      .map((line) => ({ line, timestamp: positionTime(line.position) }))
      .filter(({ timestamp }) => (!since || timestamp >= since) && (!until || timestamp <= until))
      .slice(-options.tail)
      .map(({ line, timestamp }) => ({
        cursor: encodeCursor(line.position),
        timestamp: options.timestamps ? timestamp : null,
        stream: line.stream,
        message: line.message,
      }));
  }
}
