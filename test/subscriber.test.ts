import { describe, expect, it } from 'vitest';
import { BoundedQueue, createBatchSubscriber, createSubscriber, isSharedBatch, type Sink } from '../src/streams/subscriber.js';

type Item = { n: number } | { missed: number; after: number | null };
const gap = (missed: number, before: Item | undefined): Item => ({
  missed,
  after: before && 'n' in before ? before.n : null,
});

/** A subscriber whose sink the test drives by hand, and how often its teardown ran. */
function manual(limits: { maxItems: number; maxBytes?: number } = { maxItems: 4 }) {
  const state = { sink: undefined as Sink<Item> | undefined, teardowns: 0 };
  const iterable = createSubscriber<Item>({ ...limits, sizeOf: () => 10, gap }, (sink) => {
    state.sink = sink;
    return () => state.teardowns++;
  });
  return { iterable, state };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('BoundedQueue', () => {
  it('drops when full, then resumes with one gap naming the last item before the loss', () => {
    const queue = new BoundedQueue<Item>({ maxItems: 4, gap });
    for (let n = 1; n <= 10; n++) queue.offer({ n });
    expect(queue.length).toBe(4);
    const taken: Item[] = [];
    // Draining one is not enough: offers keep being dropped until half the queue is free.
    taken.push((queue.take() as { value: Item }).value);
    expect(queue.offer({ n: 11 })).toBe(false);
    taken.push((queue.take() as { value: Item }).value);
    expect(queue.offer({ n: 12 })).toBe(true);
    for (let t = queue.take(); t.present; t = queue.take()) taken.push(t.value);
    expect(taken).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { missed: 7, after: 4 }, { n: 12 }]);
  });

  it('delivers a pending gap once the queue is empty even if nothing new arrives', () => {
    const queue = new BoundedQueue<Item>({ maxItems: 1, gap });
    queue.offer({ n: 1 });
    queue.offer({ n: 2 });
    expect(queue.take()).toEqual({ present: true, value: { n: 1 } });
    expect(queue.take()).toEqual({ present: true, value: { missed: 1, after: 1 } });
    expect(queue.take()).toEqual({ present: false });
  });

  it('bounds bytes as well as items, but always takes one item into an empty queue', () => {
    const queue = new BoundedQueue<Item>({ maxItems: 100, maxBytes: 25, sizeOf: () => 10, gap });
    expect([1, 2, 3].map((n) => queue.offer({ n }))).toEqual([true, true, false]);
    const big = new BoundedQueue<Item>({ maxItems: 100, maxBytes: 5, sizeOf: () => 10, gap });
    expect(big.offer({ n: 1 })).toBe(true);
    expect(big.offer({ n: 2 })).toBe(false);
  });
});

describe('createBatchSubscriber', () => {
  it('delivers everything waiting at once, at most maxBatch, with byte accounting and the gap kept', async () => {
    let sink: Sink<Item> | undefined;
    const limits = { maxItems: 8, maxBytes: 1000, sizeOf: () => 10, gap };
    const batches = createBatchSubscriber<Item>(limits, 3, (attached) => {
      sink = attached;
      return () => undefined;
    });
    const first = batches.next();
    await tick();
    sink!.push({ n: 1 });
    expect((await first).value).toEqual([{ n: 1 }]);
    // The consumer is busy: 8 items wait (the last 3 overflow), and each read takes up to 3 of them.
    for (let n = 2; n <= 12; n++) sink!.push({ n });
    const read: Item[][] = [];
    for (let i = 0; i < 4; i++) read.push((await batches.next()).value as Item[]);
    expect(read).toEqual([[{ n: 2 }, { n: 3 }, { n: 4 }], [{ n: 5 }, { n: 6 }, { n: 7 }], [{ n: 8 }, { n: 9 }], [{ missed: 3, after: 9 }]]);
    expect(sink!.push({ n: 13 })).toBe(true);
    expect((await batches.next()).value).toEqual([{ n: 13 }]);
    await batches.return();
  });
});

describe('shared batches', () => {
  it('hands subscribers that take the same items the same array, and others their own', async () => {
    const sinks: Sink<Item>[] = [];
    const subscribe = () => createBatchSubscriber<Item>({ maxItems: 8, gap }, 10, (sink) => (sinks.push(sink), () => undefined));
    const [a, b, c] = [subscribe(), subscribe(), subscribe()];
    const firstReads = [a.next(), b.next(), c.next()];
    await tick();
    const items: Item[] = [{ n: 1 }, { n: 2 }, { n: 3 }];
    for (const item of items) for (const sink of sinks.slice(0, 2)) sink.push(item);
    sinks[2]!.push(items[0]!);
    const [fromA, fromB, fromC] = (await Promise.all(firstReads)).map((r) => r.value as Item[]);
    expect(fromA).toEqual(items);
    expect(fromB).toBe(fromA);
    expect(isSharedBatch(fromA)).toBe(true);
    expect(fromC).toEqual([items[0]]);
    expect(fromC).not.toBe(fromA);
    // Equal items that are not the same objects are not the same batch.
    const nextA = a.next();
    const nextB = b.next();
    await tick();
    sinks[0]!.push({ n: 4 });
    sinks[1]!.push({ n: 4 });
    const [laterA, laterB] = await Promise.all([nextA, nextB]);
    expect(laterB.value).toEqual(laterA.value);
    expect(laterB.value).not.toBe(laterA.value);
    await Promise.all([a.return(), b.return(), c.return()]);
  });
});

describe('createSubscriber', () => {
  it('attaches only when read, delivers in order and tears down once when the consumer returns', async () => {
    const { iterable, state } = manual();
    expect(state.sink).toBeUndefined();
    const first = iterable.next();
    await tick();
    state.sink!.push({ n: 1 });
    state.sink!.push({ n: 2 });
    expect(await first).toEqual({ value: { n: 1 }, done: false });
    expect(await iterable.next()).toEqual({ value: { n: 2 }, done: false });
    await iterable.return();
    await tick();
    expect(state.teardowns).toBe(1);
    expect(state.sink!.closed).toBe(true);
    expect(state.sink!.push({ n: 3 })).toBe(false);
  });

  it('tears down a consumer that leaves while waiting for an item (an idle client disconnecting)', async () => {
    const { iterable, state } = manual();
    const pending = iterable.next();
    await tick();
    await iterable.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    await tick();
    expect(state.teardowns).toBe(1);
  });

  it('never throws into the producer when the consumer does not read, and reports the loss', async () => {
    const { iterable, state } = manual({ maxItems: 4 });
    void iterable.next();
    await tick();
    // Far beyond the Repeater's own limit of 1024 pending pushes.
    for (let n = 1; n <= 5000; n++) expect(() => state.sink!.push({ n })).not.toThrow();
    const received: Item[] = [];
    for (let i = 0; i < 4; i++) received.push((await iterable.next()).value as Item);
    // The pending first read took item 1; 2..4 stayed queued; the rest were missed.
    expect(received).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }, { missed: 4996, after: 4 }]);
    state.sink!.push({ n: 5001 });
    expect((await iterable.next()).value).toEqual({ n: 5001 });
    await iterable.return();
  });

  it('lets a producer that can wait go at the pace of the consumer', async () => {
    const { iterable, state } = manual({ maxItems: 4 });
    const first = iterable.next();
    await tick();
    for (let n = 1; n <= 4; n++) state.sink!.push({ n });
    let ready = false;
    void state.sink!.ready().then(() => (ready = true));
    await first;
    await tick();
    // 1 is delivered; 2, 3 and 4 still fill more than half the queue.
    expect(ready).toBe(false);
    expect(await iterable.next()).toEqual({ value: { n: 2 }, done: false });
    await tick();
    expect(ready).toBe(true);
    await iterable.return();
    await expect(state.sink!.ready()).resolves.toBeUndefined();
  });

  it('ends after delivering what was queued, and throws the end error last', async () => {
    const { iterable, state } = manual();
    void iterable.next().then(() => undefined);
    await tick();
    state.sink!.push({ n: 1 });
    state.sink!.push({ n: 2 });
    state.sink!.end(new Error('container removed'));
    expect(state.sink!.push({ n: 3 })).toBe(false);
    expect(await iterable.next()).toEqual({ value: { n: 2 }, done: false });
    await expect(iterable.next()).rejects.toThrow('container removed');
    expect(state.teardowns).toBe(1);
  });

  it('finishes with a last item even when the queue is full, after the gap', async () => {
    const { iterable, state } = manual({ maxItems: 2 });
    void iterable.next().then(() => undefined);
    await tick();
    for (let n = 1; n <= 5; n++) state.sink!.push({ n });
    state.sink!.finish({ n: 99 });
    expect(state.sink!.push({ n: 6 })).toBe(false);
    const rest: Item[] = [];
    for (let r = await iterable.next(); !r.done; r = await iterable.next()) rest.push(r.value);
    // Items 1 and 2 filled the queue (1 went to the pending read); 3..5 were missed.
    expect(rest).toEqual([{ n: 2 }, { missed: 3, after: 2 }, { n: 99 }]);
    expect(state.teardowns).toBe(1);
  });

  it('ends cleanly without an error, and fails the consumer when attaching fails', async () => {
    const { iterable, state } = manual();
    const first = iterable.next();
    await tick();
    state.sink!.end();
    expect(await first).toEqual({ value: undefined, done: true });
    expect(state.teardowns).toBe(1);

    const failing = createSubscriber<Item>({ maxItems: 1, gap }, () => {
      throw new Error('no such container');
    });
    await expect(failing.next()).rejects.toThrow('no such container');
  });
});
