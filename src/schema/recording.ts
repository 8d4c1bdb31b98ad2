import { RECORDING_SHAPE } from '../core/recordings.js';
import type { Recording, RecordingEvent } from '../store/recordings.js';
import { builder } from './builder.js';
import { historyConnection, newest } from './history.js';
import { ContainerRef, stripNulls } from './container.js';
import { DateTimeScalar } from './scalars.js';

const RecordingInputRef = builder.objectRef<RecordingEvent>('RecordingInput').implement({
  description: 'Keys typed or pasted into a recorded terminal.',
  fields: (t) => ({
    offsetSeconds: t.float({ description: 'Since the terminal opened.', resolve: (e) => e.offsetMs / 1000 }),
    caller: t.string({ description: 'The id of the token that typed it.', resolve: (e) => e.tokenId ?? '' }),
    data: t.exposeString('data'),
  }),
});

export const RecordingRef = builder.objectRef<Recording>('Recording').implement({
  description: 'A terminal session as it happened: output, input with who typed it, and every resize.',
  fields: (t) => ({
    id: t.exposeID('id', { description: "The terminal's id." }),
    containerId: t.string({ resolve: (r) => r.container.id }),
    containerName: t.string({ resolve: (r) => r.container.name }),
    caller: t.string({ description: 'The id of the token that opened it.', resolve: (r) => r.actor.tokenId }),
    user: t.exposeString('user', { nullable: true }),
    command: t.exposeStringList('command', { nullable: true, description: "Null for the user's login shell." }),
    cols: t.exposeInt('cols', { description: 'The size it opened with.' }),
    rows: t.exposeInt('rows'),
    startedAt: t.field({ type: DateTimeScalar, resolve: (r) => r.startedAt }),
    endedAt: t.field({ type: DateTimeScalar, nullable: true, description: 'Null while it runs.', resolve: (r) => r.endedAt }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    cast: t.string({
      description: 'The whole recording as asciicast v2, which asciinema players replay; also GET /recordings/ID.cast.',
      resolve: async (r, _, ctx) => ctx.services.recordings.cast(r),
    }),
    inputs: t.field({
      type: [RecordingInputRef],
      description: 'What was typed, by whom, in order.',
      resolve: async (r, _, ctx) => (await ctx.services.recordings.events(r)).filter((e) => e.kind === 'i'),
    }),
  }),
});

const RecordingFilterInput = builder.inputType('RecordingFilter', {
  fields: (t) => ({
    container: t.string({ required: false, description: 'Exact name or full ID; also finds removed containers.' }),
    caller: t.string({ required: false, description: 'The id of the token that opened it.' }),
    since: t.field({ type: DateTimeScalar, required: false }),
    until: t.field({ type: DateTimeScalar, required: false }),
  }),
});

builder.queryFields((t) => ({
  recording: t.field({
    type: RecordingRef,
    description: 'A terminal recording (kept for HISTORY_RETENTION_DAYS).',
    authScopes: { viewer: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => ctx.services.recordings.find(ctx, String(id)),
  }),
  recordings: t.connection(
    {
      type: RecordingRef,
      description: "Terminal recordings the token's scope can see, newest first.",
      authScopes: { viewer: true },
      args: { filter: t.arg({ type: RecordingFilterInput, required: false }) },
      resolve: (_, args, ctx) => historyConnection(args, RECORDING_SHAPE, (page) => ctx.services.recordings.page(ctx, stripNulls(args.filter ?? {}), page)),
    },
    { name: 'RecordingConnection' },
    { name: 'RecordingEdge' },
  ),
}));

builder.objectField(ContainerRef, 'recordings', (t) =>
  t.field({
    type: [RecordingRef],
    description: 'Terminal recordings in this container, newest first (`recordings(filter:)` pages through all).',
    args: { limit: t.arg.int({ required: false, defaultValue: 20 }) },
    resolve: (c, { limit }, ctx) => ctx.services.recordings.page(ctx, { container: c.id }, newest(limit)),
  }),
);
