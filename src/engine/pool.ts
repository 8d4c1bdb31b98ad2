import { AppError } from '../errors.js';

export type Work<T> = (signal: AbortSignal) => Promise<T>;

/**
 * Bounds how many engine operations run at once (MAX_WORKERS) and how long each may take.
 * On a deadline the caller gets TIMEOUT at once, the work's signal aborts so it can stop what
 * it started, and its slot is freed only when the work has actually wound down.
 */
export class WorkerPool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly idleWaiters = new Set<() => void>();

  constructor(
    readonly size: number,
    readonly defaultTimeoutMs: number,
  ) {}

  /** Operations in flight, including those queued for a slot. */
  get active(): number {
    return this.running + this.waiting.length;
  }

  async run<T>(work: Work<T>, timeoutMs = this.defaultTimeoutMs): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new AppError('TIMEOUT', `Operation timed out after ${Math.round(timeoutMs / 100) / 10} s`));
      }, timeoutMs);
    });
    deadline.catch(() => undefined);
    try {
      await Promise.race([this.acquire(controller.signal), deadline]);
      const task = work(controller.signal).finally(() => this.release());
      task.catch(() => undefined);
      return await Promise.race([task, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when nothing runs or waits, or after `timeoutMs`; true when idle. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return true;
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.running < this.size) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', withdraw);
        this.running++;
        resolve();
      };
      // A caller that timed out while queued gives up its place without ever running.
      const withdraw = () => {
        const index = this.waiting.indexOf(grant);
        if (index !== -1) this.waiting.splice(index, 1);
        this.notifyIfIdle();
      };
      signal.addEventListener('abort', withdraw, { once: true });
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next();
    else this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.active === 0) for (const done of [...this.idleWaiters]) done();
  }
}
