import { z } from 'zod';
import { notFound } from '../errors.js';
import type { PageArgs } from '../store/pages.js';
import type { Recording, RecordingEvent, RecordingStore } from '../store/recordings.js';
import { readable, visibleIn, visiblePage, type RecordShape } from './history.js';
import type { Caller } from './caller.js';
import { containerRef, parseInput } from './validation.js';

const recordingFilter = z.object({
  container: containerRef.optional(),
  caller: z.string().min(1).max(128).optional(),
  since: z.date().optional(),
  until: z.date().optional(),
});

const recordingId = z.uuid('must be a recording id');

export const RECORDING_SHAPE: RecordShape<Recording> = { container: (r) => r.container, key: (r) => ({ at: r.startedAt.toISOString(), id: r.id }) };

/** The terminal recordings a caller may see: those of its containers, also once they are gone. */
export class RecordingService {
  /** A recording's events, read once for all the fields of one answer that need them (cast, inputs). */
  private readonly eventsOf = new WeakMap<Recording, Promise<RecordingEvent[]>>();

  constructor(private readonly store: RecordingStore) {}

  async find(caller: Caller, id: string): Promise<Recording> {
    const recording = await readable(() => this.store.get(parseInput(recordingId, id)));
    if (!recording || !visibleIn(caller, recording.container)) throw notFound(`No such recording: ${id}`);
    return recording;
  }

  async page(caller: Caller, input: z.input<typeof recordingFilter>, page: PageArgs): Promise<Recording[]> {
    const filter = parseInput(recordingFilter, input);
    return visiblePage(caller, page, RECORDING_SHAPE, (next) => this.store.page(filter, next));
  }

  /** What happened in the terminal, in order; the caller must be allowed to see the recording. */
  async events(recording: Recording): Promise<RecordingEvent[]> {
    let events = this.eventsOf.get(recording);
    if (!events) {
      events = readable(() => this.store.events(recording.id));
      this.eventsOf.set(recording, events);
    }
    return events;
  }

  /** The recording as asciicast v2 (what asciinema's players read). */
  async cast(recording: Recording): Promise<string> {
    return toAsciicast(recording, await this.events(recording));
  }
}

/**
 * asciicast v2: a JSON header line, then one `[seconds, code, data]` line per event, where the
 * code is `o` (output), `i` (input) or `r` (resize to `COLSxROWS`).
 */
function toAsciicast(recording: Recording, events: RecordingEvent[]): string {
  const header = {
    version: 2,
    width: recording.cols,
    height: recording.rows,
    timestamp: Math.floor(recording.startedAt.getTime() / 1000),
    ...(recording.endedAt && { duration: (recording.endedAt.getTime() - recording.startedAt.getTime()) / 1000 }),
    title: `${recording.container.name}: ${recording.command?.join(' ') ?? 'login shell'}`,
    env: { TERM: 'xterm-256color' },
  };
  const lines = events.map((event) => JSON.stringify([event.offsetMs / 1000, event.kind, event.data]));
  return `${[JSON.stringify(header), ...lines].join('\n')}\n`;
}
