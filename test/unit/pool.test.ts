import { describe, expect, it } from 'vitest';
import { Lane, WorkerPool } from '../../src/engine/pool.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

const lane = (options: Partial<ConstructorParameters<typeof Lane>[0]>) =>
  new Lane({ slots: 1, defaultTimeoutMs: 1000, maxQueueWaitMs: 60_000, ...options });

describe('Lane', () => {
  it('runs at most size operations at once', async () => {
    const pool = lane({ slots: 2, defaultTimeoutMs: 1000 });
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        pool.run(async () => {
          peak = Math.max(peak, ++running);
          await sleep(20);
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(pool.active).toBe(0);
  });

  it('times out, aborts the work and frees the slot when the work winds down', async () => {
    const pool = lane({ slots: 1, defaultTimeoutMs: 50 });
    let aborted = false;
    const slow = pool.run(async (signal) => {
      await sleep(10_000, signal);
      aborted = signal.aborted;
    });
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT' });
    await pool.drain(100);
    expect(aborted).toBe(true);
    expect(pool.active).toBe(0);
  });

  it('times out a caller still waiting for a slot, without ever running it', async () => {
    const pool = lane({ slots: 1, defaultTimeoutMs: 1000 });
    const holder = pool.run(() => sleep(150));
    let ran = false;
    await expect(
      pool.run(async () => {
        ran = true;
      }, 50),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    await holder;
    expect(ran).toBe(false);
    expect(await pool.drain(100)).toBe(true);
  });

  it('withdraws a queued caller that leaves, and leaves running work to its caller', async () => {
    const pool = lane({ slots: 1, defaultTimeoutMs: 10_000 });
    const leaving = new AbortController();
    let started!: () => void;
    const runs = new Promise<void>((resolve) => (started = resolve));
    const running = pool.run(async (signal) => {
      started();
      await sleep(50, signal);
      return signal.aborted ? 'stopped' : 'finished';
    }, undefined, leaving.signal);
    let ran = false;
    const queued = pool.run(async () => {
      ran = true;
    }, undefined, leaving.signal);
    const withdrawn = expect(queued).rejects.toMatchObject({ code: 'TIMEOUT' });
    await runs;
    leaving.abort();
    expect(await running).toBe('finished');
    await withdrawn;
    expect(ran).toBe(false);
    expect(await pool.drain(100)).toBe(true);
    await expect(pool.run(async () => 'late', undefined, leaving.signal)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('refuses new work once shutting down, then stops what still runs or waits with SHUTTING_DOWN', async () => {
    const pool = lane({ slots: 1, defaultTimeoutMs: 10_000 });
    let aborted = false;
    const running = pool.run(async (signal) => {
      await sleep(10_000, signal);
      aborted = signal.aborted;
    });
    const queued = pool.run(async () => undefined);
    pool.refuseNew();
    await expect(pool.run(async () => undefined)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    pool.stopAll();
    await Promise.all([
      expect(running).rejects.toMatchObject({ code: 'SHUTTING_DOWN' }),
      expect(queued).rejects.toMatchObject({ code: 'SHUTTING_DOWN' }),
    ]);
    expect(await pool.drain(1000)).toBe(true);
    expect(aborted).toBe(true);
  });
});

describe('Lane admission', () => {
  it('refuses at once, with a retry hint, while every slot is held longer than the bound', async () => {
    let clock = 0;
    const pool = lane({ slots: 2, maxQueueWaitMs: 2000, now: () => clock });
    const release: Array<() => void> = [];
    const held = [0, 1].map(() => pool.run(() => new Promise<void>((resolve) => release.push(resolve))));
    // Slots held for less than the bound: a newcomer queues.
    clock = 1500;
    const queued = pool.run(async () => 'ran');
    // Held past the bound: the next one is refused without waiting.
    clock = 2500;
    await expect(pool.run(async () => 'never')).rejects.toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 3 } });
    release.forEach((done) => done());
    await Promise.all(held);
    expect(await queued).toBe('ran');
  });

  it('judges the wait by how long slots were recently held, and by the queue ahead', async () => {
    let clock = 0;
    const pool = lane({ slots: 1, maxQueueWaitMs: 2000, now: () => clock });
    // One operation that held its slot for 900 ms sets the estimate.
    await pool.run(async () => {
      clock += 900;
    });
    let release!: () => void;
    const holder = pool.run(() => new Promise<void>((resolve) => (release = resolve)));
    const first = pool.run(async () => 'first'); // waits ~900 ms
    const second = pool.run(async () => 'second'); // waits ~1800 ms
    await expect(pool.run(async () => 'third')).rejects.toMatchObject({ code: 'RATE_LIMITED' }); // ~2700 ms
    release();
    await holder;
    expect([await first, await second]).toEqual(['first', 'second']);
    expect(pool.active).toBe(0);
  });
});

describe('WorkerPool', () => {
  it('keeps reads moving while every write slot is held', async () => {
    const pool = new WorkerPool({ readSlots: 1, writeSlots: 1, defaultTimeoutMs: 1000, maxQueueWaitMs: 60_000 });
    let release!: () => void;
    const write = pool.write.run(() => new Promise<void>((resolve) => (release = resolve)));
    expect(await pool.read.run(async () => 'read')).toBe('read');
    expect(pool.active).toBe(1);
    release();
    await write;
    expect(await pool.drain(100)).toBe(true);
  });
});
