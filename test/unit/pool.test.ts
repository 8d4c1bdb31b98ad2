import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/engine/pool.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

describe('WorkerPool', () => {
  it('runs at most size operations at once', async () => {
    const pool = new WorkerPool(2, 1000);
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
    const pool = new WorkerPool(1, 50);
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
    const pool = new WorkerPool(1, 1000);
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
    const pool = new WorkerPool(1, 10_000);
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
    const pool = new WorkerPool(1, 10_000);
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
