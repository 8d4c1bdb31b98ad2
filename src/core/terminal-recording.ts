import type { RecordingEvent, RecordingEventKind, RecordingStore } from '../store/recordings.js';
import { AppError } from '../errors.js';

/**
 * One terminal's recording as it happens. Events are written in order, in batches: whatever
 * arrives while a batch is being written goes into the next one, so a busy terminal costs one
 * transaction per batch, not per chunk. `append` resolves once its event is in the database,
 * which is when a terminal shows output to its watchers: what a watcher has seen is recorded.
 */
export class TerminalRecording {
  private seq = 0;
  private pending: RecordingEvent[] = [];
  /** The batch now filling, written once the one before it is. */
  private filling: Promise<void> | undefined;
  /** The last batch written (never rejects: a failure is kept in `failure`). */
  private written: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    private readonly store: RecordingStore,
    readonly id: string,
    private readonly startedAt: number,
  ) {}

  append(kind: RecordingEventKind, data: string, tokenId: string | null = null): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.pending.push({ seq: ++this.seq, offsetMs: Date.now() - this.startedAt, kind, data, tokenId });
    if (!this.filling) {
      const batch = this.written.then(async () => {
        this.filling = undefined;
        const events = this.pending;
        this.pending = [];
        if (this.failure) throw this.failure;
        await this.store.append(this.id, events).catch((error: unknown) => {
          this.failure ??= new AppError('STORE_UNAVAILABLE', 'The history store cannot record this terminal, so it was closed; what it showed until then is recorded', { cause: String(error) });
          throw this.failure;
        });
      });
      this.filling = batch;
      this.written = batch.catch(() => undefined);
    }
    return this.filling;
  }

  /** Once everything appended is written, notes when the terminal ended (a recording whose end could not be stored reads as still running). */
  async end(exitCode: number | null): Promise<void> {
    await this.written;
    await this.store.end(this.id, new Date(), exitCode).catch(() => undefined);
  }
}
