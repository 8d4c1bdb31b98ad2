import { toLiveTarget } from '../core/live-target.js';
import type { ProcessLost } from '../engine/port.js';
import { encodeCursor, type LogPosition } from '../streams/cursor.js';
import type { StreamGap } from '../streams/gap.js';
import type { Context } from './context.js';
import { builder } from './builder.js';

export const StreamGapRef = builder.objectRef<StreamGap>('StreamGap').implement({
  description:
    'This subscriber could not keep up and missed items; the others were not slowed. Items flow again after it. ' +
    'For logs, a new subscription with `after: resumeCursor` fetches exactly what was missed.',
  fields: (t) => ({
    missed: t.exposeInt('missed', { description: 'How many items were dropped.' }),
    resumeCursor: t.exposeString('resumeCursor', { nullable: true, description: 'Cursor of the last item delivered before the gap.' }),
  }),
});

/** The container a live stream is about, resolved through the context so its scope applies. */
export async function liveTarget(ctx: Context, ref: string) {
  return toLiveTarget(await ctx.inspect(ref));
}

/**
 * A process stream's events as the schema has them; a loss is its last event and reaches the
 * subscriber as an error with its code (an error thrown by the stream itself would reach
 * graphql-ws clients without one).
 */
export function unlessLost<E extends { kind: string }>(event: E | ProcessLost): E {
  if (event.kind === 'lost') throw (event as ProcessLost).error;
  return event as E;
}

/**
 * Subscriptions that resume from a cursor (`after`). Over server-sent events each of their events
 * carries its cursor as the event's id, and the Last-Event-ID of a reconnect stands in for `after`.
 */
export const RESUMABLE_SUBSCRIPTIONS: ReadonlySet<string> = new Set(['containerLogs', 'containerLogBatches', 'terminal']);

/**
 * The cursor to resume after a resumable subscription's event: a log line's, the last line's of
 * a batch, a terminal output's. Gaps and ends move no cursor.
 */
export function eventCursor(event: unknown): string | undefined {
  if (Array.isArray(event)) {
    for (let i = event.length - 1; i >= 0; i--) {
      const cursor = eventCursor(event[i]);
      if (cursor !== undefined) return cursor;
    }
    return undefined;
  }
  const item = event as { kind?: string; position?: LogPosition; cursor?: string } | null;
  if (item?.kind === 'line' && item.position) return encodeCursor(item.position);
  if (item?.kind === 'output') return item.cursor;
  return undefined;
}

/** `after` as a resumable subscription takes it: a reconnect's Last-Event-ID is newer than the argument it repeats. */
export const resumeAfter = (ctx: Context, after: string | null | undefined): string | undefined => ctx.lastEventId ?? after ?? undefined;
