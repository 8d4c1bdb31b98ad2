import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Engine } from '../engine/engine.js';
import { followLogs, readStampedLines, type StampedLine } from '../engine/live.js';
import { followLogFile, readLogFile } from '../engine/logfile.js';
import type { WorkerPool } from '../engine/pool.js';
import type { StreamName } from '../engine/streams.js';
import { fromEngineError, type AppError } from '../errors.js';
import { comparePositions, CursorClock, decodeCursor, encodeCursor, positionTime, type LogPosition } from '../streams/cursor.js';
import { FanOutHub } from '../streams/hub.js';
import { liveQueueLimits, queuedSize, type LiveStreamLimits, type StreamGap } from '../streams/gap.js';
import { createBatchSubscriber, createSubscriber, type Sink } from '../streams/subscriber.js';
import type { Upstream, UpstreamHandlers } from '../streams/upstream.js';
import type { EventService } from './events.js';
import type { LiveTarget } from './live-target.js';
import { linearPattern } from './pattern.js';
import { parseInput } from './validation.js';

/** Its cursor and time derive from `position`, when a client asks for them. */
export interface LogLine {
  kind: 'line';
  position: LogPosition;
  stream: StreamName;
  message: string;
  truncated: boolean;
}

export type LogEndReason = 'STOPPED' | 'REMOVED' | 'FAILED' | 'SHUTDOWN';

/** The last event of a log subscription: why it stopped. */
export interface LogEnd {
  kind: 'end';
  reason: LogEndReason;
  exitCode: number | null;
  message: string;
}

export type LogEvent = LogLine | StreamGap | LogEnd;

export interface LiveLimits extends LiveStreamLimits {
  maxLogTail: number;
  /**
   * Whether logs are read from the engine's log files where they are readable (engine on this
   * host): see engine/logfile.ts.
   */
  readLogFiles: boolean;
}

const cursorInput = z.string().max(40).refine((c) => decodeCursor(c) !== null, 'must be a cursor from an earlier log line');

/** History lines a log read or subscription starts with when the client does not say. */
export const DEFAULT_LOG_TAIL = 100;

const logWindow = z.object({
  tail: z.number().int().min(0).optional(),
  since: z.date().optional(),
  after: cursorInput.optional(),
  stdout: z.boolean().default(true),
  stderr: z.boolean().default(true),
  filter: linearPattern.optional(),
});

// A resume delivers every line after its cursor; a tail would leave a gap before those lines.
const tailNotWithAfter = (o: { tail?: number; after?: string }) => o.after === undefined || o.tail === undefined;
const TAIL_WITH_AFTER = { message: 'must not be given together with after', path: ['tail'] };

export const followLogsInput = logWindow.refine(tailNotWithAfter, TAIL_WITH_AFTER);

export const followLogBatchesInput = logWindow
  .extend({ maxBatch: z.number().int().min(1).max(5000).default(500) })
  .refine(tailNotWithAfter, TAIL_WITH_AFTER);

const NANOS_PER_SECOND = 1_000_000_000n;

/** Gives a line its position: from its engine timestamp, in the order the lines were read. */
function toLogLine(line: StampedLine, clock: CursorClock): LogLine {
  const position = line.nanos === undefined ? clock.nextStamped(line.timestamp) : clock.next(line.nanos);
  return { kind: 'line', position, stream: line.stream, message: line.text, truncated: line.truncated };
}

const secondOf = (line: LogLine) => line.position.nanos / NANOS_PER_SECOND;

/** Events after which a container's log no longer grows. */
const LOG_ENDING_ACTIONS = new Set(['die', 'died', 'destroy', 'remove']);

/** Subscribers asking for the same history within this window share one engine read. */
const HISTORY_BATCH_MS = 25;

/**
 * Live logs: one upstream per container shared by every subscriber; each subscriber has its
 * own bounded queue.
 */
export class LiveService {
  readonly logHub: FanOutHub<LogLine | LogEnd>;
  /** History reads waiting to start, by container and window; see sharedHistory. */
  private readonly pendingHistory = new Map<string, Promise<LogLine[]>>();

  constructor(
    private readonly engine: Engine,
    private readonly pool: WorkerPool,
    private readonly events: EventService,
    private readonly limits: LiveLimits,
  ) {
    this.logHub = new FanOutHub('logs', limits.lingerMs);
  }

  /**
   * History (tail, since, or everything after a cursor) then live lines, each with a cursor.
   * Lines arriving while the history is read are held back and deduplicated by cursor, so the
   * join is exact. Ends with a LogEnd when the container stops or is removed.
   */
  followLogs(target: LiveTarget, input: z.input<typeof followLogsInput>) {
    const feed = this.logFeed(target, parseInput(followLogsInput, input));
    return createSubscriber(feed.limits, feed.attach);
  }

  /** As followLogs, with every event waiting when the consumer asks (up to maxBatch) delivered at once. */
  followLogBatches(target: LiveTarget, input: z.input<typeof followLogBatchesInput>) {
    const { maxBatch, ...options } = parseInput(followLogBatchesInput, input);
    const feed = this.logFeed(target, options);
    return createBatchSubscriber(feed.limits, maxBatch, feed.attach);
  }

  private logFeed(target: LiveTarget, options: z.output<typeof followLogsInput>) {
    const after = options.after ? decodeCursor(options.after) : null;
    const tail = Math.min(options.tail ?? (after || options.since ? this.limits.maxLogTail : DEFAULT_LOG_TAIL), this.limits.maxLogTail);
    const wanted = (line: LogLine) =>
      (line.stream === 'stdout' ? options.stdout : options.stderr) && (!options.filter || options.filter.test(line.message));

    const limits = liveQueueLimits<LogEvent>(this.limits.queueBytes, (before) => (before?.kind === 'line' ? encodeCursor(before.position) : (options.after ?? null)));
    const attach = (sink: Sink<LogEvent>) => {
      // Everything up to `seen` has been considered (delivered or filtered out).
      let seen: LogPosition | null = after;
      // Live items that arrive during the history replay, bounded like the queue itself; once
      // over, later lines are only counted, so what was dropped is one contiguous stretch.
      let held: (LogLine | LogEnd)[] = [];
      let holding = true;
      let heldBytes = 0;
      let heldDropped = 0;
      // A resume reads what overflowed the hold again from the log rather than skip it.
      let heldOverflowed = false;
      const hold = (item: LogLine | LogEnd) => {
        const size = queuedSize(item);
        if (item.kind === 'end' || (heldDropped === 0 && heldBytes + size <= this.limits.queueBytes)) {
          held.push(item);
          heldBytes += size;
        } else if (after) {
          held = held.filter((h) => h.kind === 'end');
          heldBytes = 0;
          heldOverflowed = true;
        } else heldDropped++;
      };
      // Without history, only lines written after joining: a newly opened upstream replays its
      // first second, which may hold older lines. Whole-second stamps (Podman) compare by second.
      const joinedNanos = BigInt(Date.now()) * 1_000_000n;
      const joinedSecond = joinedNanos - (joinedNanos % NANOS_PER_SECOND);
      const beforeJoining = ({ position: { nanos } }: LogLine) =>
        nanos < joinedSecond || (nanos < joinedNanos && nanos % NANOS_PER_SECOND !== 0n);
      const onlyNew = tail === 0 && !after && !options.since;
      const deliver = (item: LogLine | LogEnd) => {
        if (item.kind === 'end') return sink.finish(item);
        if (onlyNew && beforeJoining(item)) return;
        if (seen && comparePositions(item.position, seen) <= 0) return;
        seen = item.position;
        if (wanted(item)) sink.push(item);
      };
      const leave = this.logHub.join(
        target.id,
        {
          data: (item) => (holding ? hold(item) : deliver(item)),
          end: (error) => {
            const failed: LogEnd = { kind: 'end', reason: endReason(error) ?? 'FAILED', exitCode: null, message: error?.message ?? 'log stream ended' };
            if (holding) hold(failed);
            else deliver(failed);
          },
        },
        (handlers) => this.openLogUpstream(target, handlers),
      );

      // The history replay goes at the consumer's pace; the loop that feeds it starts once attached.
      const replay = async () => {
        const read = tail === 0 ? [] : await this.sharedHistory(target, tail, after ? positionTime(after) : options.since);
        const sinceNanos = options.since ? BigInt(options.since.getTime()) * 1_000_000n : null;
        const fresh = read.filter((line) => (sinceNanos === null || line.position.nanos >= sinceNanos) && (!after || comparePositions(line.position, after) > 0));
        // A resume takes every line after its cursor; since takes at most MAX_LOG_TAIL of them.
        const history = after ? fresh : fresh.slice(-tail);
        if (!after && fresh.length > tail && options.since) sink.push({ kind: 'gap', missed: fresh.length - tail, resumeCursor: null });
        const replayLines = async (lines: LogLine[]) => {
          for (const line of lines) {
            if (sink.closed) return;
            await sink.ready();
            deliver(line);
          }
        };
        await replayLines(history);
        // Live lines that overflowed the hold meanwhile are in the log: read on from the last
        // line delivered until a read and its delivery went by without an overflow.
        while (heldOverflowed && seen && !sink.closed) {
          heldOverflowed = false;
          const from: LogPosition = seen;
          const page = await this.readHistory(target, this.limits.maxLogTail, positionTime(from));
          await replayLines(page.filter((line) => comparePositions(line.position, from) > 0));
        }
        let lastHeld: LogLine | undefined;
        let end: LogEnd | undefined;
        for (let item = held.shift(); item; item = held.shift()) {
          if (sink.closed) return;
          heldBytes -= queuedSize(item);
          if (item.kind === 'end') {
            // The upstream's own LogEnd comes first; a later one only says it went away.
            end ??= item;
            continue;
          }
          await sink.ready();
          lastHeld = item;
          deliver(item);
        }
        if (heldDropped > 0) sink.push({ kind: 'gap', missed: heldDropped, resumeCursor: lastHeld ? encodeCursor(lastHeld.position) : seen ? encodeCursor(seen) : null });
        holding = false;
        if (end) deliver(end);
      };
      replay().catch((error: unknown) => {
        const mapped = fromEngineError(error);
        sink.finish({ kind: 'end', reason: endReason(mapped) ?? 'FAILED', exitCode: null, message: mapped.message });
      });
      return leave;
    };
    return { limits, attach };
  }

  /**
   * readHistory for many subscribers at once: those asking for the same history within
   * HISTORY_BATCH_MS share one read. The read starts only after the last of them asked, that is
   * after each one joined the live stream, so history plus held live lines still leave no gap.
   */
  private sharedHistory(target: LiveTarget, tail: number, since: Date | undefined): Promise<LogLine[]> {
    const key = `${target.id} ${tail} ${since?.getTime() ?? ''}`;
    let pending = this.pendingHistory.get(key);
    if (!pending) {
      pending = sleep(HISTORY_BATCH_MS).then(() => {
        this.pendingHistory.delete(key);
        return this.readHistory(target, tail, since);
      });
      this.pendingHistory.set(key, pending);
    }
    return pending;
  }

  /**
   * The last `tail` lines, or every line since `since`; the logs query reads through here too.
   * From a log file, positions come from its nanosecond times. Through the API, positions count
   * lines from the start of a second, as the live stream does, so with second-precision
   * timestamps (Podman) the lines are read again from the start of a second, or the two paths
   * would number the same line differently. That read is also the only one that returns a line
   * the engine logged in pieces whole: Podman 4's tail read leaves such a line only its last
   * piece and appends the earlier ones to the line before it. Hence the one line more than
   * asked for: it began before any piece of the lines asked for, so reading from its second on
   * takes them all in. Docker's (sub-second) tail reads are used as they are.
   */
  async readHistory(target: LiveTarget, tail: number, since: Date | undefined): Promise<LogLine[]> {
    const file = await this.readableLogFile(target);
    if (file) {
      const window = since ? { sinceNanos: BigInt(since.getTime()) * 1_000_000n } : { tail };
      const clock = new CursorClock();
      const lines = (await readLogFile(file, { ...window, final: !target.running })).map((line) => toLogLine(line, clock));
      return since ? lines : lines.slice(-tail);
    }
    if (since) return this.readLines(target, { since: Math.floor(since.getTime() / 1000) });
    const recent = await this.readLines(target, { tail: tail + 1 });
    if (recent.length === 0 || recent.some((line) => line.position.nanos % NANOS_PER_SECOND !== 0n)) return recent.slice(-tail);
    // The tail took the whole log: read it all again without one, numbered from its very start.
    if (recent.length <= tail) return this.readLines(target, {});
    const fromSecondStart = await this.readLines(target, { since: Number(secondOf(recent[0]!)) });
    return fromSecondStart.slice(-tail);
  }

  /** The container's log file, when files are to be read and this one can be. */
  private async readableLogFile(target: LiveTarget): Promise<string | null> {
    if (!this.limits.readLogFiles || !target.logPath) return null;
    return access(target.logPath, constants.R_OK).then(
      () => target.logPath,
      () => null,
    );
  }

  private async readLines(target: LiveTarget, window: { tail?: number; since?: number }): Promise<LogLine[]> {
    const frames = await this.pool.read.run((signal) =>
      this.engine.logs(target.id, target.tty, { ...window, timestamps: true, stdout: true, stderr: true }, signal),
    );
    const clock = new CursorClock();
    return readStampedLines(frames, target.tty, !target.running).map((line) => toLogLine(line, clock));
  }

  /** The container's log file if readable, else the engine's log stream; opened once that is known. */
  private openLogUpstream(target: LiveTarget, handlers: UpstreamHandlers<LogLine | LogEnd>): Upstream {
    let upstream: Upstream | undefined;
    let closed = false;
    void this.readableLogFile(target).then((file) => {
      if (!closed) upstream = file ? this.fileUpstream(target, file, handlers) : this.engineLogUpstream(target, handlers);
    });
    return {
      close() {
        closed = true;
        upstream?.close();
      },
    };
  }

  /** Follows from the start of the current second: the joins dedupe what history already gave. */
  private engineLogUpstream(target: LiveTarget, handlers: UpstreamHandlers<LogLine | LogEnd>): Upstream {
    const clock = new CursorClock();
    return followLogs(this.engine, target.id, target.tty, Math.floor(Date.now() / 1000), {
      data: (line) => handlers.data(toLogLine(line, clock)),
      end: (error) => this.endLogUpstream(target, error?.message, handlers),
    });
  }

  /**
   * Follows the log file; the engine's events tell when the container stopped and the file is
   * complete (a file has no end of its own). A stop before the events were joined is caught by
   * one inspect after joining.
   */
  private fileUpstream(target: LiveTarget, file: string, handlers: UpstreamHandlers<LogLine | LogEnd>): Upstream {
    const clock = new CursorClock();
    const follower = followLogFile(file, {
      data: (line) => handlers.data(toLogLine(line, clock)),
      end: (error) => {
        leaveEvents();
        this.endLogUpstream(target, error?.message, handlers);
      },
    });
    const leaveEvents = this.events.listen({
      data: (event) => event.id === target.id && LOG_ENDING_ACTIONS.has(event.action) && follower.finish(),
      end: () => follower.finish(),
    });
    if (!target.running) follower.finish();
    else {
      this.pool.read.run((signal) => this.engine.inspectContainer(target.id, signal)).then(
        (info) => !info.State.Running && follower.finish(),
        () => follower.finish(),
      );
    }
    return {
      close() {
        leaveEvents();
        follower.close();
      },
    };
  }

  private endLogUpstream(target: LiveTarget, failure: string | undefined, handlers: UpstreamHandlers<LogLine | LogEnd>): void {
    void this.describeEnd(target, failure).then((end) => {
      handlers.data(end);
      handlers.end();
    });
  }

  /** Why a container's log stream ended: it stopped (with its exit code) or is gone. */
  private async describeEnd(target: LiveTarget, failure: string | undefined): Promise<LogEnd> {
    try {
      const info = await this.pool.read.run((signal) => this.engine.inspectContainer(target.id, signal));
      if (info.State.Running && failure) return { kind: 'end', reason: 'FAILED', exitCode: null, message: failure };
      const exitCode = info.State.ExitCode ?? null;
      return { kind: 'end', reason: 'STOPPED', exitCode, message: `Container ${target.name} stopped (exit code ${exitCode})` };
    } catch (error) {
      const mapped = fromEngineError(error);
      if (mapped.code === 'NOT_FOUND') return { kind: 'end', reason: 'REMOVED', exitCode: null, message: `Container ${target.name} was removed` };
      return { kind: 'end', reason: 'FAILED', exitCode: null, message: failure ?? mapped.message };
    }
  }
}

/** The LogEnd reason an error itself tells, if any. */
function endReason(error: AppError | undefined): LogEndReason | undefined {
  if (error?.code === 'NOT_FOUND') return 'REMOVED';
  if (error?.code === 'SHUTTING_DOWN') return 'SHUTDOWN';
  return undefined;
}

