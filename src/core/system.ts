import type { Engine, EngineInfo } from '../engine/engine.js';
import type { WorkerPool } from '../engine/pool.js';
import { AppError } from '../errors.js';

export interface Health {
  healthy: boolean;
  engine: EngineInfo | null;
  engineError: string | null;
  uptimeSeconds: number;
  timestamp: Date;
}

export interface ImageModel {
  id: string;
  tags: string[];
  sizeBytes: number;
  createdAt: Date;
}

/** Health answers fast even when the engine hangs: it never waits past this. */
const HEALTH_TIMEOUT_MS = 3000;

export class SystemService {
  readonly startedAt = new Date();
  /**
   * The engine's name and version, asked once per engine run: Podman takes seconds to answer
   * /version under load, while _ping, which health checks every time, takes milliseconds.
   */
  private engineInfo?: Promise<EngineInfo>;

  constructor(
    private readonly engine: Engine,
    private readonly pool: WorkerPool,
  ) {}

  uptimeSeconds(): number {
    return (Date.now() - this.startedAt.getTime()) / 1000;
  }

  /** Never throws: an unreachable engine is a health result, not an error. */
  async health(): Promise<Health> {
    const base = { uptimeSeconds: this.uptimeSeconds(), timestamp: new Date() };
    try {
      const signal = AbortSignal.timeout(HEALTH_TIMEOUT_MS);
      await this.engine.ping(signal);
      this.engineInfo ??= this.engine.info(signal);
      return { ...base, healthy: true, engine: await this.engineInfo, engineError: null };
    } catch (error) {
      // The engine may come back upgraded or replaced: ask its version again then.
      this.engineInfo = undefined;
      const message = error instanceof AppError ? error.message : 'engine did not answer';
      return { ...base, healthy: false, engine: null, engineError: message };
    }
  }

  async images(): Promise<ImageModel[]> {
    const images = await this.pool.read.run((signal) => this.engine.listImages(signal));
    return images
      .map((i) => ({
        id: i.Id,
        tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        sizeBytes: i.Size,
        createdAt: new Date(i.Created * 1000),
      }))
      .sort((a, b) => (a.tags[0] ?? a.id).localeCompare(b.tags[0] ?? b.id));
  }
}
