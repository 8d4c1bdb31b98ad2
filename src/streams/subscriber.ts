import { Repeater } from '@repeaterjs/repeater';

/**
 * What a producer sees of one subscriber. Safe to call from any event listener: `push` never
 * throws and never blocks, whatever the consumer does.
 */
export interface Sink<T> {
  /** Queues an item; false when it was dropped (queue full, or the subscriber has ended). */
  push(item: T): boolean;
  /**
   * Ends the subscriber once everything already queued has been delivered; with an error, it
   * is thrown to the consumer last (graphql-ws reports it without an error code, so prefer a
   * final item).
   */
  end(error?: Error): void;
  /**
   * Queues `last` even when the queue is full (after any pending gap), then ends as `end()`
   * does: for a closing item the subscriber must not miss, such as an exit code.
   */
  finish(last: T): void;
  /**
   * Resolves once the queue has drained to half its limits (at once if it has), or the
   * subscriber has closed: a producer that can wait, such as a history replay, goes at the
   * consumer's pace this way instead of overflowing its queue.
   */
  ready(): Promise<void>;
  /** True once the subscriber has ended or its consumer has gone. */
  readonly closed: boolean;
}

/** Called once when the subscriber ends, for whatever reason. */
export type Teardown = () => void;

export interface QueueLimits<T> {
  /** Most items queued for this subscriber. */
  maxItems: number;
  /** Most bytes queued, as measured by `sizeOf`; unbounded when either is left out. */
  maxBytes?: number;
  sizeOf?: (item: T) => number;
  /**
   * Builds the item that tells a slow subscriber it missed `missed` items after `before` (the
   * last item it was given before the loss, undefined if none), so it can resume from there.
   */
  gap: (missed: number, before: T | undefined) => T;
}

/**
 * An async iterable with its own bounded queue, for one subscriber of a fan-out.
 *
 * Overflow policy: a subscriber whose queue is full is not slowed down for, nor may it slow
 * anyone else. New items are dropped and counted until its queue has drained to half; then it
 * receives one `gap(missed, before)` item followed by new items again. Nothing grows without
 * bound and nothing throws into the producer.
 *
 * `attach` runs when the consumer starts reading (so a subscription that is never read costs
 * nothing); it connects the sink to a producer and returns the teardown, which runs exactly
 * once: when the consumer leaves (including a client that disconnects while idle, which an
 * `async function*` would miss), when the producer calls `end`, or when `attach` itself fails.
 */
export function createSubscriber<T>(limits: QueueLimits<T>, attach: (sink: Sink<T>) => Teardown | Promise<Teardown>): Repeater<T> {
  return deliverFromQueue(limits, attach, (queue) => queue.take());
}

/**
 * As createSubscriber, but each delivery is every item waiting (at most `maxBatch`) when the
 * consumer asks for more. Nothing is held back to fill a batch: while the consumer keeps up it
 * gets one item at a time; when it falls behind, one delivery (one message on the wire, one
 * execution) carries many, so its cost per item falls exactly when items come fastest.
 *
 * Batches are shared: subscribers of one fan-out that take the same items get the same array,
 * so that its execution can be shared too (isSharedBatch).
 */
export function createBatchSubscriber<T>(
  limits: QueueLimits<T>,
  maxBatch: number,
  attach: (sink: Sink<T>) => Teardown | Promise<Teardown>,
): Repeater<T[]> {
  return deliverFromQueue(limits, attach, (queue) => {
    const taken = queue.takeUpTo(maxBatch);
    return taken.present ? { present: true, value: share(taken.value) } : taken;
  });
}

/** Shared batches, by their first item; a few per item, as subscribers may take more or fewer. */
const batchesByFirstItem = new WeakMap<object, unknown[][]>();
const sharedBatches = new WeakSet<object>();
const BATCHES_PER_FIRST_ITEM = 4;

/** The shared array with exactly these items, in this order; the batch itself becomes it if there is none. */
function share<T>(batch: T[]): T[] {
  const first = batch[0];
  if (typeof first !== 'object' || first === null) return batch;
  let candidates = batchesByFirstItem.get(first) as T[][] | undefined;
  const same = candidates?.find((candidate) => candidate.length === batch.length && candidate.every((item, i) => item === batch[i]));
  if (same) return same;
  if (!candidates) batchesByFirstItem.set(first, (candidates = []));
  if (candidates.length === BATCHES_PER_FIRST_ITEM) candidates.shift();
  candidates.push(batch);
  sharedBatches.add(batch);
  return batch;
}

/** Whether a value is a batch that other subscribers of the same stream may have received too. */
export const isSharedBatch = (value: unknown): value is unknown[] => typeof value === 'object' && value !== null && sharedBatches.has(value);

function deliverFromQueue<T, D>(
  limits: QueueLimits<T>,
  attach: (sink: Sink<T>) => Teardown | Promise<Teardown>,
  next: (queue: BoundedQueue<T>) => Taken<D>,
): Repeater<D> {
  return new Repeater<D>(async (push, stop) => {
    const queue = new BoundedQueue(limits);
    let wake: (() => void) | undefined;
    let ending: { error?: Error } | undefined;
    let closed = false;
    let readyWaiters: (() => void)[] = [];
    const releaseReady = () => {
      if (readyWaiters.length === 0 || !(closed || queue.drainedToHalf())) return;
      const waiters = readyWaiters;
      readyWaiters = [];
      for (const resolve of waiters) resolve();
    };
    const sink: Sink<T> = {
      push(item) {
        if (closed || ending) return false;
        const accepted = queue.offer(item);
        wake?.();
        return accepted;
      },
      end(error) {
        if (closed || ending) return;
        ending = { error };
        wake?.();
      },
      finish(last) {
        if (closed || ending) return;
        queue.force(last);
        sink.end();
      },
      ready() {
        if (closed || queue.drainedToHalf()) return Promise.resolve();
        return new Promise((resolve) => readyWaiters.push(resolve));
      },
      get closed() {
        return closed || ending !== undefined;
      },
    };
    let teardown: Teardown | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      wake?.();
      releaseReady();
      teardown?.();
    };
    void stop.then(close);

    try {
      teardown = await attach(sink);
      if (closed) teardown();
      while (!closed) {
        const item = next(queue);
        if (item.present) {
          releaseReady();
          await push(item.value);
          continue;
        }
        if (ending) {
          close();
          stop(ending.error);
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } catch (error) {
      close();
      stop(error);
    }
  });
}

type Taken<T> = { present: true; value: T } | { present: false };

/** The queue behind one subscriber: bounded in items and bytes, with gap accounting. */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private bytes = 0;
  private missed = 0;
  /** The last item accepted before items started being dropped. */
  private beforeGap: T | undefined;
  private lastAccepted: T | undefined;

  constructor(private readonly limits: QueueLimits<T>) {}

  get length(): number {
    return this.items.length;
  }

  /** Accepts the item unless the queue is full or still draining after an overflow. */
  offer(item: T): boolean {
    const size = this.limits.sizeOf?.(item) ?? 0;
    if (this.missed > 0 ? !this.drainedToHalf() : !this.hasRoomFor(size)) {
      if (this.missed === 0) this.beforeGap = this.lastAccepted;
      this.missed++;
      return false;
    }
    this.append(item, size);
    return true;
  }

  /** Accepts the item whatever the limits, after any pending gap; like a gap, it may exceed them by one. */
  force(item: T): void {
    this.append(item, this.limits.sizeOf?.(item) ?? 0);
  }

  private append(item: T, size: number): void {
    this.flushGap();
    this.items.push(item);
    this.bytes += size;
    this.lastAccepted = item;
  }

  /** The next item to deliver; a pending gap is delivered once everything before it is. */
  take(): Taken<T> {
    if (this.items.length === 0) this.flushGap();
    if (this.items.length === 0) return { present: false };
    const value = this.items.shift() as T;
    this.bytes -= this.limits.sizeOf?.(value) ?? 0;
    return { present: true, value };
  }

  /** The next items to deliver, oldest first, at most `max` of them: as many takes at once. */
  takeUpTo(max: number): Taken<T[]> {
    if (this.items.length === 0) this.flushGap();
    if (this.items.length === 0) return { present: false };
    const value = this.items.splice(0, max);
    for (const item of value) this.bytes -= this.limits.sizeOf?.(item) ?? 0;
    return { present: true, value };
  }

  private hasRoomFor(size: number): boolean {
    if (this.items.length >= this.limits.maxItems) return false;
    const { maxBytes } = this.limits;
    // An empty queue takes any single item, so one large item cannot wedge a subscriber.
    return maxBytes === undefined || this.items.length === 0 || this.bytes + size <= maxBytes;
  }

  /** Whether the queue holds at most half of what its limits allow. */
  drainedToHalf(): boolean {
    const { maxItems, maxBytes } = this.limits;
    return this.items.length <= maxItems / 2 && (maxBytes === undefined || this.bytes <= maxBytes / 2);
  }

  private flushGap(): void {
    if (this.missed === 0) return;
    // The gap item itself may exceed the limits by one: it replaces many dropped items.
    const gap = this.limits.gap(this.missed, this.beforeGap);
    this.items.push(gap);
    this.bytes += this.limits.sizeOf?.(gap) ?? 0;
    this.missed = 0;
    this.beforeGap = undefined;
  }
}
