import type { Logger } from 'pino';
import type { ActivityStore } from './activity.js';
import type { ExecutionStore } from './executions.js';
import type { RecordingStore } from './recordings.js';

/** How often the history is pruned (and once at start). */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

export interface RetentionLimits {
  retentionMs: number;
  maxExecutions: number;
}

/** Deletes history older than the retention and executions beyond the newest `maxExecutions`, in the background. */
export class HistoryRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly executions: ExecutionStore,
    private readonly activity: ActivityStore,
    private readonly recordings: RecordingStore,
    private readonly limits: RetentionLimits,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const prune = () => (this.running = this.prune());
    prune();
    this.timer = setInterval(prune, PRUNE_INTERVAL_MS).unref();
  }

  /** Stops the timer and waits for a pruning that is under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async prune(now = new Date()): Promise<void> {
    const cutoff = new Date(now.getTime() - this.limits.retentionMs);
    try {
      const executions = (await this.executions.prune(cutoff)) + (await this.executions.keepNewest(this.limits.maxExecutions));
      const activity = await this.activity.prune(cutoff);
      const recordings = await this.recordings.prune(cutoff);
      if (executions || activity || recordings) this.logger.info({ executions, activity, recordings }, 'history: pruned');
    } catch (error) {
      // The next round tries again; a store that stays down shows in health.
      this.logger.warn({ err: error }, 'history: pruning failed');
    }
  }
}
