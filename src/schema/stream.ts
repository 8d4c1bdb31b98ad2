import { toLiveTarget } from '../core/live-target.js';
import type { ProcessLost } from '../engine/interactive.js';
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
