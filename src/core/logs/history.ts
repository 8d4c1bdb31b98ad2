import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveTarget } from '../live-target.js';
import type { LogLine } from './lines.js';
import type { LogSources } from './sources.js';

/** History lines a log read or subscription starts with when the client does not say. */
export const DEFAULT_LOG_TAIL = 100;

/** Subscribers asking for the same history within this window share one engine read. */
const HISTORY_BATCH_MS = 25;

/** A container's past log lines, from its log source. */
export class LogHistory {
  /** Reads waiting to start, by container and window; see shared. */
  private readonly pending = new Map<string, Promise<LogLine[]>>();

  constructor(private readonly sources: LogSources) {}

  /** The last `tail` lines, or every line since `since`. */
  async read(target: LiveTarget, tail: number, since: Date | undefined): Promise<LogLine[]> {
    return (await this.sources.of(target)).read(tail, since);
  }

  /**
   * read for many subscribers at once: those asking for the same history within
   * HISTORY_BATCH_MS share one read. The read starts only after the last of them asked, that is
   * after each one joined the live stream, so history plus held live lines still leave no gap.
   */
  shared(target: LiveTarget, tail: number, since: Date | undefined): Promise<LogLine[]> {
    const key = `${target.id} ${tail} ${since?.getTime() ?? ''}`;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = sleep(HISTORY_BATCH_MS).then(() => {
        this.pending.delete(key);
        return this.read(target, tail, since);
      });
      this.pending.set(key, pending);
    }
    return pending;
  }
}
