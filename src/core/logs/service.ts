import { z } from 'zod';
import type { ContainerEngine } from '../../engine/port.js';
import type { WorkerPool } from '../../engine/pool.js';
import type { StreamName } from '../../engine/streams.js';
import { encodeCursor, positionTime } from '../../streams/cursor.js';
import type { LiveStreamLimits } from '../../streams/gap.js';
import { FanOutHub } from '../../streams/hub.js';
import { createBatchSubscriber, createSubscriber } from '../../streams/subscriber.js';
import type { Caller } from '../caller.js';
import type { ContainerService } from '../containers.js';
import type { EventService } from '../events.js';
import { toLiveTarget, type LiveTarget } from '../live-target.js';
import { parseInput } from '../validation.js';
import { followLogBatchesInput, followLogsInput, logFeed, type FollowLogsOptions } from './follow.js';
import { DEFAULT_LOG_TAIL, LogHistory } from './history.js';
import type { LogEnd, LogLine } from './lines.js';
import { LogSources } from './sources.js';

export interface LogLimits extends LiveStreamLimits {
  maxLogTail: number;
  /**
   * Whether logs are read from the engine's log files where they are readable (engine on this
   * host): see engine/logfile.ts.
   */
  readLogFiles: boolean;
}

export interface LogEntry {
  /** Where a containerLogs subscription can resume after this line. */
  cursor: string;
  timestamp: Date | null;
  stream: StreamName;
  message: string;
}

/**
 * Container logs: one-shot reads, and live subscriptions that share one upstream per container
 * (each subscriber with its own bounded queue).
 */
export class LogService {
  readonly hub: FanOutHub<LogLine | LogEnd>;
  /** The one-shot read's arguments. */
  readonly input;
  private readonly sources: LogSources;
  private readonly history: LogHistory;

  constructor(
    engine: ContainerEngine,
    pool: WorkerPool,
    events: EventService,
    private readonly containers: ContainerService,
    private readonly limits: LogLimits,
  ) {
    this.hub = new FanOutHub('logs', limits.lingerMs);
    this.sources = new LogSources(engine, pool, events, limits.readLogFiles);
    this.history = new LogHistory(this.sources);
    this.input = z
      .object({
        tail: z.number().int().min(0).max(limits.maxLogTail).default(DEFAULT_LOG_TAIL),
        since: z.date().optional(),
        until: z.date().optional(),
        timestamps: z.boolean().default(true),
        stdout: z.boolean().default(true),
        stderr: z.boolean().default(true),
      })
      .refine((o) => !o.since || !o.until || o.since <= o.until, { message: 'since must not be after until', path: ['since'] });
  }

  get maxTail(): number {
    return this.limits.maxLogTail;
  }

  async read(caller: Caller, ref: string, input: z.input<LogService['input']> = {}): Promise<LogEntry[]> {
    return this.readFor(toLiveTarget(await this.containers.find(caller, ref)), input);
  }

  /** As read, for a container the caller has already inspected (GraphQL has, per request). */
  async readFor(target: LiveTarget, input: z.input<LogService['input']> = {}): Promise<LogEntry[]> {
    const options = parseInput(this.input, input);
    // tail=0 means "none" to a person; engines disagree on it, so answer without asking.
    if (options.tail === 0) return [];
    const { since, until } = options;
    const lines = await this.history.read(target, options.tail, since);
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

  /** History then live lines, each with a cursor; ends with a LogEnd (see logFeed). */
  followLogs(target: LiveTarget, input: z.input<typeof followLogsInput>) {
    const feed = this.feed(target, parseInput(followLogsInput, input));
    return createSubscriber(feed.limits, feed.attach);
  }

  /** As followLogs, with every event waiting when the consumer asks (up to maxBatch) delivered at once. */
  followLogBatches(target: LiveTarget, input: z.input<typeof followLogBatchesInput>) {
    const { maxBatch, ...options } = parseInput(followLogBatchesInput, input);
    const feed = this.feed(target, options);
    return createBatchSubscriber(feed.limits, maxBatch, feed.attach);
  }

  private feed(target: LiveTarget, options: FollowLogsOptions) {
    return logFeed(target, options, {
      joinLive: (listener) => this.hub.join(target.id, listener, (handlers) => this.sources.follow(target, handlers)),
      history: this.history,
      queueBytes: this.limits.queueBytes,
      maxLogTail: this.limits.maxLogTail,
    });
  }
}
