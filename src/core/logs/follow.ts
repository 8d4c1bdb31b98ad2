import { z } from 'zod';
import { fromEngineError, type AppError } from '../../errors.js';
import { comparePositions, decodeCursor, encodeCursor, positionTime, type LogPosition } from '../../streams/cursor.js';
import { liveQueueLimits, queuedSize } from '../../streams/gap.js';
import type { Listener } from '../../streams/hub.js';
import type { Sink } from '../../streams/subscriber.js';
import type { LiveTarget } from '../live-target.js';
import { linearPattern } from '../pattern.js';
import { DEFAULT_LOG_TAIL, type LogHistory } from './history.js';
import { NANOS_PER_SECOND, type LogEnd, type LogEndReason, type LogEvent, type LogLine } from './lines.js';

const cursorInput = z.string().max(40).refine((c) => decodeCursor(c) !== null, 'must be a cursor from an earlier log line');

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

export type FollowLogsOptions = z.output<typeof followLogsInput>;

/** What a log feed draws on. */
export interface LogFeedSources {
  /** Adds a listener to the container's live log, shared with its other followers; returns the function that removes it. */
  joinLive(listener: Listener<LogLine | LogEnd>): () => void;
  history: LogHistory;
  /** Bytes one subscriber may have queued, and held while its history is replayed. */
  queueBytes: number;
  maxLogTail: number;
}

/**
 * A log subscription's queue bounds and what attaches it: history (tail, since, or everything
 * after a cursor) then live lines, each with a cursor. Lines arriving while the history is read
 * are held back and deduplicated by cursor, so the join is exact. Ends with a LogEnd when the
 * container stops or is removed.
 */
export function logFeed(target: LiveTarget, options: FollowLogsOptions, log: LogFeedSources) {
  const after = options.after ? decodeCursor(options.after) : null;
  const tail = Math.min(options.tail ?? (after || options.since ? log.maxLogTail : DEFAULT_LOG_TAIL), log.maxLogTail);
  const wanted = (line: LogLine) =>
    (line.stream === 'stdout' ? options.stdout : options.stderr) && (!options.filter || options.filter.test(line.message));

  const limits = liveQueueLimits<LogEvent>(log.queueBytes, (before) => (before?.kind === 'line' ? encodeCursor(before.position) : (options.after ?? null)));
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
      if (item.kind === 'end' || (heldDropped === 0 && heldBytes + size <= log.queueBytes)) {
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
    const leave = log.joinLive({
      data: (item) => (holding ? hold(item) : deliver(item)),
      end: (error) => {
        const failed: LogEnd = { kind: 'end', reason: endReason(error) ?? 'FAILED', exitCode: null, message: error?.message ?? 'log stream ended' };
        if (holding) hold(failed);
        else deliver(failed);
      },
    });

    // The history replay goes at the consumer's pace; the loop that feeds it starts once attached.
    const replay = async () => {
      const read = tail === 0 ? [] : await log.history.shared(target, tail, after ? positionTime(after) : options.since);
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
        const page = await log.history.read(target, log.maxLogTail, positionTime(from));
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

/** The LogEnd reason an error itself tells, if any. */
function endReason(error: AppError | undefined): LogEndReason | undefined {
  if (error?.code === 'NOT_FOUND') return 'REMOVED';
  if (error?.code === 'SHUTTING_DOWN') return 'SHUTDOWN';
  return undefined;
}

