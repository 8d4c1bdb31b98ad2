import type { ContainerEngine, LostRun } from './port.js';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;
/** A ping that takes longer than this counts as no answer. */
const PING_TIMEOUT_MS = 3000;

/**
 * Kills the processes of runs lost in an engine outage once the engine answers again: nobody
 * holds them any more (their subscribers were told the engine was lost), so left alone they
 * would run for ever. Polls with `_ping`, backing off while the engine stays away.
 */
export class OrphanReaper {
  private readonly lost = new Map<string, LostRun>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private delayMs = FIRST_RETRY_MS;

  constructor(private readonly engine: ContainerEngine) {}

  /** Runs lost and not killed yet. */
  get pending(): number {
    return this.lost.size;
  }

  adopt(run: LostRun): void {
    this.lost.set(run.marker, run);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.sweeping || this.lost.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sweep();
    }, this.delayMs);
    // Pending kills must not keep a stopping process alive.
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    this.sweeping = true;
    try {
      await this.engine.ping(AbortSignal.timeout(PING_TIMEOUT_MS));
      this.delayMs = FIRST_RETRY_MS;
      for (const run of [...this.lost.values()]) {
        if (await this.engine.killMarked(run.containerId, run.marker, run.user)) this.lost.delete(run.marker);
      }
    } catch {
      this.delayMs = Math.min(this.delayMs * 2, MAX_RETRY_MS);
    } finally {
      this.sweeping = false;
    }
    // Runs lost while this sweep ran, or whose kill found the engine gone again.
    this.schedule();
  }
}
