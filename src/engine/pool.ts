import { AppError, shuttingDown } from '../errors.js';

export type Work<T> = (signal: AbortSignal) => Promise<T>;

const aborted = () => new AppError('TIMEOUT', 'Operation aborted before it finished');

/** Weight of the newest hold time in a lane's running estimate. */
const HOLD_SMOOTHING = 0.2;

export interface LaneOptions {
  /** Operations that run at once. */
  slots: number;
  /** Deadline of one operation, waiting for its slot included, unless the caller gives one. */
  defaultTimeoutMs: number;
  /** Longest wait for a slot this lane admits: work that would wait longer is refused at once. */
  maxQueueWaitMs: number;
  now?: () => number;
}

/**
 * One queue of engine operations with a fixed number of slots. On a deadline the caller gets
 * TIMEOUT at once, the work's signal aborts so it can stop what it started, and its slot is
 * freed only when the work has actually wound down.
 *
 * Admission is bounded by the wait it implies: (work ahead ÷ slots) × how long a slot is held.
 * The hold time is the larger of the recent average and the youngest operation now running, so
 * slots taken by long execs refuse newcomers before any of those execs has finished.
 */
export class Lane {
  private running = new Map<symbol, number>();
  private readonly waiting: Array<() => void> = [];
  private readonly idleWaiters = new Set<() => void>();
  private averageHoldMs = 0;
  private readonly now: () => number;
  private refusing = false;
  /** Aborts every operation in flight, for the last step of a shutdown. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: LaneOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get slots(): number {
    return this.options.slots;
  }

  get defaultTimeoutMs(): number {
    return this.options.defaultTimeoutMs;
  }

  /** Operations in flight, including those queued for a slot. */
  get active(): number {
    return this.running.size + this.waiting.length;
  }

  /**
   * `cancel` is the caller's own (its client went away): a caller still queued then gives up its
   * place (TIMEOUT); work already running is its caller's to stop, which knows what to keep.
   */
  async run<T>(work: Work<T>, timeoutMs = this.options.defaultTimeoutMs, cancel?: AbortSignal): Promise<T> {
    if (this.refusing) throw shuttingDown();
    if (cancel?.aborted) throw aborted();
    this.admit();
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
      const slot = await Promise.race([this.acquire(queued), ended]);
      // Aborted while the slot was being granted: the work never starts.
      if (queued.aborted) {
        this.release(slot);
        throw aborted();
      }
      const task = work(controller.signal).finally(() => this.release(slot));
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

  /** The wait a newcomer would face for a slot, in milliseconds (0 while a slot is free). */
  impliedWaitMs(): number {
    if (this.running.size < this.options.slots) return 0;
    const now = this.now();
    const youngest = Math.min(...[...this.running.values()].map((startedAt) => now - startedAt));
    const holdMs = Math.max(this.averageHoldMs, youngest);
    return Math.ceil((this.waiting.length + 1) / this.options.slots) * holdMs;
  }

  private admit(): void {
    const waitMs = this.impliedWaitMs();
    if (waitMs <= this.options.maxQueueWaitMs) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new AppError('RATE_LIMITED', `The engine is busy; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  private acquire(signal: AbortSignal): Promise<symbol> {
    if (this.running.size < this.options.slots) return Promise.resolve(this.occupy());
    return new Promise<symbol>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', withdraw);
        resolve(this.occupy());
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

  private occupy(): symbol {
    const slot = Symbol('slot');
    this.running.set(slot, this.now());
    return slot;
  }

  private release(slot: symbol): void {
    const heldMs = this.now() - this.running.get(slot)!;
    this.running.delete(slot);
    this.averageHoldMs = this.averageHoldMs === 0 ? heldMs : this.averageHoldMs + HOLD_SMOOTHING * (heldMs - this.averageHoldMs);
    const next = this.waiting.shift();
    if (next) next();
    else this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.active === 0) for (const done of [...this.idleWaiters]) done();
  }
}

export interface WorkerPoolOptions {
  readSlots: number;
  writeSlots: number;
  defaultTimeoutMs: number;
  maxQueueWaitMs: number;
}

/**
 * Engine operations in two lanes, so cheap reads never queue behind execs: `read` for lists,
 * inspects and file reads (MAX_READ_WORKERS), `write` for everything that changes state or
 * runs a process (MAX_WORKERS).
 */
export class WorkerPool {
  readonly read: Lane;
  readonly write: Lane;

  constructor(options: WorkerPoolOptions) {
    const { defaultTimeoutMs, maxQueueWaitMs } = options;
    this.read = new Lane({ slots: options.readSlots, defaultTimeoutMs, maxQueueWaitMs });
    this.write = new Lane({ slots: options.writeSlots, defaultTimeoutMs, maxQueueWaitMs });
  }

  /** Operations in flight in both lanes, including those queued for a slot. */
  get active(): number {
    return this.read.active + this.write.active;
  }

  /** Shutdown, first step: both lanes refuse new work. */
  refuseNew(): void {
    this.read.refuseNew();
    this.write.refuseNew();
  }

  /** Shutdown, last step: both lanes stop what runs or waits. */
  stopAll(): void {
    this.read.stopAll();
    this.write.stopAll();
  }

  /** Resolves when both lanes are idle, or after `timeoutMs`; true when idle. */
  async drain(timeoutMs: number): Promise<boolean> {
    const [read, write] = await Promise.all([this.read.drain(timeoutMs), this.write.drain(timeoutMs)]);
    return read && write;
  }
}
