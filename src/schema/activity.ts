import { ACTIVITY_KINDS, ACTIVITY_SHAPE } from '../core/activity.js';
import type { Activity } from '../store/activity.js';
import type { StreamGap } from '../streams/gap.js';
import { builder } from './builder.js';
import { historyConnection } from './history.js';
import { stripNulls } from './container.js';
import { ExecutionRef } from './execution.js';
import { RecordingRef } from './recording.js';
import { DateTimeScalar } from './scalars.js';
import { StreamGapRef } from './stream.js';

const ActivityKindEnum = builder.enumType('ActivityKind', { values: ACTIVITY_KINDS });

const text = (activity: Activity, key: string) => {
  const value = activity.detail[key];
  return typeof value === 'string' ? value : null;
};

export const ActivityRef = builder.objectRef<Activity>('Activity').implement({
  description: 'Something a token did, or tried to do, through podgraph.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: DateTimeScalar, resolve: (a) => a.at }),
    kind: t.field({ type: ActivityKindEnum, resolve: (a) => a.kind as (typeof ACTIVITY_KINDS)[number] }),
    caller: t.string({ description: 'The id of the token that acted.', resolve: (a) => a.actor.tokenId }),
    callerRole: t.string({ resolve: (a) => a.actor.role }),
    containerId: t.string({ nullable: true, resolve: (a) => a.container?.id ?? null }),
    containerName: t.string({ nullable: true, description: 'Null for an attempt refused before its container was known.', resolve: (a) => a.container?.name ?? null }),
    outcome: t.exposeString('outcome', { description: '`ok`, or the error code the action ended with.' }),
    ref: t.string({ nullable: true, description: 'The reference a refused attempt named.', resolve: (a) => text(a, 'ref') }),
    path: t.string({ nullable: true, description: 'FILE_WRITE, FILE_DELETE.', resolve: (a) => text(a, 'path') }),
    username: t.string({ nullable: true, description: 'USER_ADD, USER_REMOVE.', resolve: (a) => text(a, 'username') }),
    terminalId: t.string({ nullable: true, description: 'TERMINAL_OPEN, TERMINAL_CLOSE.', resolve: (a) => text(a, 'terminal') }),
    recording: t.field({
      type: RecordingRef,
      nullable: true,
      description: "TERMINAL_OPEN, TERMINAL_CLOSE: the terminal's recording.",
      resolve: (a, _, ctx) => {
        const id = text(a, 'terminal');
        return id ? ctx.services.recordings.find(ctx, id).catch(() => null) : null;
      },
    }),
    exitCode: t.int({ nullable: true, description: 'EXEC_END, TERMINAL_CLOSE.', resolve: (a) => (typeof a.detail.exitCode === 'number' ? a.detail.exitCode : null) }),
    execution: t.field({
      type: ExecutionRef,
      nullable: true,
      description: 'EXEC_START, EXEC_END: the run, once it has finished.',
      resolve: (a, _, ctx) => {
        const id = text(a, 'executionId');
        return id ? ctx.services.exec.find(ctx, id).catch(() => null) : null;
      },
    }),
    detail: t.string({ description: 'Everything recorded about it, as a JSON object (never secrets).', resolve: (a) => JSON.stringify(a.detail) }),
  }),
});

const ActivityFilterInput = builder.inputType('ActivityFilter', {
  fields: (t) => ({
    containers: t.stringList({ required: false, description: 'Container names or full IDs, any of which matches.' }),
    kinds: t.field({ type: [ActivityKindEnum], required: false }),
    caller: t.string({ required: false, description: 'A token id.' }),
    since: t.field({ type: DateTimeScalar, required: false }),
    until: t.field({ type: DateTimeScalar, required: false }),
  }),
});

builder.queryFields((t) => ({
  activity: t.connection(
    {
      type: ActivityRef,
      description: "Recorded activity the token's scope can see, newest first.",
      authScopes: { viewer: true },
      args: { filter: t.arg({ type: ActivityFilterInput, required: false }) },
      resolve: (_, args, ctx) => historyConnection(args, ACTIVITY_SHAPE, (page) => ctx.services.recorder.page(ctx, stripNulls(args.filter ?? {}), page)),
    },
    { name: 'ActivityConnection' },
    { name: 'ActivityEdge' },
  ),
}));

const ActivityMessageRef = builder.unionType('ActivityMessage', {
  types: [ActivityRef, StreamGapRef],
  resolveType: (message) => ((message as StreamGap).kind === 'gap' ? StreamGapRef : ActivityRef),
});

builder.subscriptionFields((t) => ({
  activityFeed: t.field({
    type: ActivityMessageRef,
    authScopes: { viewer: true },
    description: "Activity as it is recorded, for the containers in the token's scope: one subscription for a whole class.",
    args: {
      containers: t.arg.stringList({ required: false, description: 'Only these containers (names or full IDs).' }),
      labels: t.arg.stringList({ required: false, description: '`key` or `key=value`, all of which the container must have.' }),
      kinds: t.arg({ type: [ActivityKindEnum], required: false }),
    },
    subscribe: (_root, args, ctx) => ctx.services.recorder.follow(ctx, stripNulls(args)),
    resolve: (message) => message,
  }),
}));
