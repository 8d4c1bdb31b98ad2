import { AppError, shuttingDown } from '../errors.js';

export type Work<T> = (signal: AbortSignal) => Promise<T>;

const aborted = () => new AppError('TIMEOUT', 'Operation aborted before it finished');

/**
 * Bounds how many engine operations run at once (MAX_WORKERS) and how long each may take.
 * On a deadline the caller gets TIMEOUT at once, the work's signal aborts so it can stop what
 * it started, and its slot is freed only when the work has actually wound down.
 */
export class WorkerPool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly idleWaiters = new Set<() => void>();
  private refusing = false;
  /** Aborts every operation in flight, for the last step of a shutdown. */
  private readonly stopping = new AbortController();

  constructor(
    readonly size: number,
    readonly defaultTimeoutMs: number,
  ) {}

  /** Operations in flight, including those queued for a slot. */
  get active(): number {
    return this.running + this.waiting.length;
  }

  /**
   * `cancel` is the caller's own (its client went away): a caller still queued then gives up its
   * place (TIMEOUT); work already running is its caller's to stop, which knows what to keep.
   */
  async run<T>(work: Work<T>, timeoutMs = this.defaultTimeoutMs, cancel?: AbortSignal): Promise<T> {
    if (this.refusing) throw shuttingDown();
    if (cancel?.aborted) throw aborted();
    const controller = new AbortController();
    const abort = () => controller.abort();
    const queued = cancel ? AbortSignal.any([controller.signal, cancel]) : controller.signal;
    let timer: NodeJS.Timeout | undefined;
    let stop: (() => void) | undefined;
    // Each rejects before it aborts the work, so the caller learns why, not that it was aborted.
    const ended = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new AppError('TIMEOUT', `Operation timed out after ${Math.round(timeoutMs / 100) / 10} s`));
        abort();
      }, timeoutMs);
      stop = () => {
        reject(shuttingDown());
        abort();
      };
      this.stopping.signal.addEventListener('abort', stop, { once: true });
    });
    ended.catch(() => undefined);
    try {
      await Promise.race([this.acquire(queued), ended]);
      // Aborted while the slot was being granted: the work never starts.
      if (queued.aborted) {
        this.release();
        throw aborted();
      }
      const task = work(controller.signal).finally(() => this.release());
      task.catch(() => undefined);
      return await Promise.race([task, ended]);
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', stop!);
    }
  }

  /** Shutdown, first step: new work is refused with SHUTTING_DOWN; what runs or waits carries on. */
  refuseNew(): void {
    this.refusing = true;
  }

  /**
   * Shutdown, last step: every operation still running or waiting is stopped. Its caller gets
   * SHUTTING_DOWN at once; its slot is freed once its work has wound down (drain tells when).
   */
  stopAll(): void {
    this.refuseNew();
    this.stopping.abort();
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
      }, Math.max(0, timeoutMs));
      this.idleWaiters.add(done);
    });
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.running < this.size) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', withdraw);
        this.running++;
        resolve();
      };
      // A caller that timed out or left while queued gives up its place without ever running.
      const withdraw = () => {
        const index = this.waiting.indexOf(grant);
        if (index !== -1) this.waiting.splice(index, 1);
        reject(aborted());
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
