import type { QueueLimits } from './subscriber.js';

/** Told to a subscriber that could not keep up: it missed `missed` items after `resumeCursor`. */
export interface StreamGap {
  kind: 'gap';
  missed: number;
  resumeCursor: string | null;
}

/** Per-item bookkeeping cost on top of its text, so tiny items are bounded too. */
const ITEM_OVERHEAD = 128;
/** Hard cap on queued items, whatever their size. */
const MAX_QUEUED_ITEMS = 100_000;

/** What one queued item of a live stream counts against its subscriber's byte bound. */
export const queuedSize = (item: object): number => ITEM_OVERHEAD + ('message' in item && typeof item.message === 'string' ? item.message.length : 0);

/**
 * The queue of one subscriber of a live stream (logs, events, stats): at most `queueBytes` of
 * text; past that it misses items and is told so with a gap, which resumes after the cursor
 * `resumeCursor` gives for the last item it was delivered.
 */
export function liveQueueLimits<T extends { kind: string }>(queueBytes: number, resumeCursor: (before: T | undefined) => string | null): QueueLimits<T | StreamGap> {
  return {
    maxItems: MAX_QUEUED_ITEMS,
    maxBytes: queueBytes,
    sizeOf: queuedSize,
    gap: (missed, before) => ({ kind: 'gap', missed, resumeCursor: resumeCursor(before as T | undefined) }),
  };
}

/** What every live service (logs, events, stats) is configured with. */
export interface LiveStreamLimits {
  /** Bytes one subscriber may have queued before it starts missing items. */
  queueBytes: number;
  /** How long an upstream stays open after its last subscriber left. */
  lingerMs: number;
}
