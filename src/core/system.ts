import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerPool } from '../engine/pool.js';
import type { ContainerEngine, EngineInfo, ImageModel } from '../engine/port.js';
import { AppError } from '../errors.js';
import type { HistoryDatabase } from '../store/database.js';

export interface Health {
  healthy: boolean;
  engine: EngineInfo | null;
  engineError: string | null;
  uptimeSeconds: number;
  timestamp: Date;
}

export interface StoreHealth {
  /** `sqlite` or `postgres`. */
  database: string;
  healthy: boolean;
  error: string | null;
}

export type { ImageModel };

/** Health answers within this, with the last known state if the engine's answer is slower. */
const HEALTH_ANSWER_MS = 1000;

type PingOutcome = { ok: true } | { ok: false; message: string };

export class SystemService {
  readonly startedAt = new Date();
  /**
   * The engine's name and version, asked once per engine run: Podman takes seconds to answer
   * /version under load, while _ping, which health checks every time, takes milliseconds.
   */
  private engineInfo?: Promise<EngineInfo>;
  /** The one ping in flight: probes arriving meanwhile share it rather than pile up on a busy engine. */
  private ping?: Promise<PingOutcome>;
  private lastAnswerAt = performance.now();
  private lastOutcome: PingOutcome = { ok: true };

  /** `silentLimitMs`: how long a busy engine may leave pings unanswered before it counts as down. */
  constructor(
    private readonly engine: ContainerEngine,
    private readonly pool: WorkerPool,
    private readonly silentLimitMs: number,
    private readonly database: HistoryDatabase,
  ) {}

  uptimeSeconds(): number {
    return (Date.now() - this.startedAt.getTime()) / 1000;
  }

  /**
   * Never throws: an unreachable engine is a health result, not an error. An engine that refuses
   * the connection is unhealthy at once; one that is merely slow (busy starting processes) stays
   * healthy until it has not answered for `silentLimitMs`.
   */
  async health(): Promise<Health> {
    const base = { uptimeSeconds: this.uptimeSeconds(), timestamp: new Date() };
    const pending = (this.ping ??= this.pingOnce());
    const outcome = await Promise.race([pending, sleep(HEALTH_ANSWER_MS, undefined, { ref: false })]);
    const silentMs = performance.now() - this.lastAnswerAt;
    const known: PingOutcome =
      outcome ?? (silentMs > this.silentLimitMs ? { ok: false, message: `engine did not answer for ${Math.round(silentMs / 1000)} s` } : this.lastOutcome);
    if (!known.ok) return { ...base, healthy: false, engine: null, engineError: known.message };
    // Asked once per engine run; only the first answer waits for it (a busy Podman takes seconds).
    this.engineInfo ??= this.engine.info(AbortSignal.timeout(this.silentLimitMs));
    const engine = await this.engineInfo.catch(() => {
      this.engineInfo = undefined;
      return null;
    });
    return { ...base, healthy: true, engine, engineError: null };
  }

  private async pingOnce(): Promise<PingOutcome> {
    const silence = AbortSignal.timeout(this.silentLimitMs);
    try {
      await this.engine.ping(silence);
      this.lastOutcome = { ok: true };
    } catch (error) {
      // The engine may come back upgraded or replaced: ask its version again then.
      this.engineInfo = undefined;
      const message = silence.aborted || !(error instanceof AppError) ? `engine did not answer for ${this.silentLimitMs / 1000} s` : error.message;
      this.lastOutcome = { ok: false, message };
    } finally {
      this.lastAnswerAt = performance.now();
      this.ping = undefined;
    }
    return this.lastOutcome;
  }

  /** Whether the history database answers (within the time health answers in). */
  async storeHealth(): Promise<StoreHealth> {
    const silent = sleep(HEALTH_ANSWER_MS, `no answer within ${HEALTH_ANSWER_MS} ms`, { ref: false });
    const error = await Promise.race([this.database.problem(), silent]);
    return { database: this.database.dialect, healthy: error === null, error };
  }

  async images(): Promise<ImageModel[]> {
    const images = await this.pool.read.run((signal) => this.engine.listImages(signal));
    return images.sort((a, b) => (a.tags[0] ?? a.id).localeCompare(b.tags[0] ?? b.id));
  }
}
