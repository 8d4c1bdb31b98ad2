import type { LogEnd, LogLine } from '../core/logs/lines.js';
import type { LogEntry } from '../core/logs/service.js';
import { encodeCursor, positionTime } from '../streams/cursor.js';
import { builder } from './builder.js';
import { ContainerRef } from './container.js';
import { DateTimeScalar } from './scalars.js';
import type { Context } from './context.js';
import { liveTarget, resumeAfter, StreamGapRef } from './stream.js';

export const LogStreamEnum = builder.enumType('LogStream', {
  values: { STDOUT: { value: 'stdout' }, STDERR: { value: 'stderr' } },
});

export const LogEntryRef = builder.objectRef<LogEntry>('LogEntry').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to containerLogs to continue live from this line.' }),
    timestamp: t.field({ type: DateTimeScalar, nullable: true, resolve: (e) => e.timestamp }),
    stream: t.field({ type: LogStreamEnum, resolve: (e) => e.stream }),
    message: t.exposeString('message'),
  }),
});

builder.objectField(ContainerRef, 'logs', (t) =>
  t.field({
    type: [LogEntryRef],
    description: 'Log lines so far, oldest first.',
    args: {
      tail: t.arg.int({ required: false, defaultValue: 100, description: 'Last N lines (0 to MAX_LOG_TAIL).' }),
      since: t.arg({ type: DateTimeScalar, required: false }),
      until: t.arg({ type: DateTimeScalar, required: false }),
      timestamps: t.arg.boolean({ required: false, defaultValue: true }),
    },
    // The container is already inspected in this request: reuse it rather than ask the engine again.
    resolve: async (c, args, ctx) =>
      ctx.services.logs.readFor(await liveTarget(ctx, c.id), {
        tail: args.tail ?? undefined,
        since: args.since ?? undefined,
        until: args.until ?? undefined,
        timestamps: args.timestamps ?? undefined,
      }),
  }),
);

const LogLineRef = builder.objectRef<LogLine>('LogLine').implement({
  fields: (t) => ({
    cursor: t.string({ description: 'Opaque and increasing; pass as `after` to resume right after this line.', resolve: (e) => encodeCursor(e.position) }),
    timestamp: t.field({ type: DateTimeScalar, resolve: (e) => positionTime(e.position) }),
    stream: t.field({ type: LogStreamEnum, resolve: (e) => e.stream }),
    message: t.exposeString('message'),
    truncated: t.exposeBoolean('truncated', { description: 'The line was longer than 64 KiB and was cut (the message ends with a marker).' }),
  }),
});

const LogEndReasonEnum = builder.enumType('LogEndReason', {
  values: {
    STOPPED: { description: 'The container stopped; the subscription can be opened again after it restarts.' },
    REMOVED: { description: 'The container was removed.' },
    FAILED: { description: 'The engine ended the stream or could not be read; see message.' },
    SHUTDOWN: { description: 'The server is shutting down; subscribe again (with `after`) once it is back.' },
  },
});

const LogEndRef = builder.objectRef<LogEnd>('LogEnd').implement({
  description: 'The last event of a log subscription: why it stopped.',
  fields: (t) => ({
    reason: t.field({ type: LogEndReasonEnum, resolve: (e) => e.reason }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    message: t.exposeString('message'),
  }),
});

const LOG_EVENT_TYPES = { line: LogLineRef, gap: StreamGapRef, end: LogEndRef } as const;

const ContainerLogEventRef = builder.unionType('ContainerLogEvent', {
  types: [LogLineRef, StreamGapRef, LogEndRef],
  resolveType: (event) => LOG_EVENT_TYPES[event.kind],
});

/** What containerLogs and containerLogBatches share: which lines, from where. */
const followArgs = (t: Parameters<Parameters<typeof builder.subscriptionFields>[0]>[0]) => ({
  container: t.arg.string({ description: 'Name, ID or unique ID prefix.' }),
  tail: t.arg.int({ required: false, description: 'History lines to start with (default 100; 0 for none; at most MAX_LOG_TAIL).' }),
  since: t.arg({ type: DateTimeScalar, required: false, description: 'Start the history at this time.' }),
  after: t.arg.string({
    required: false,
    description:
      'Resume after this cursor: every line after it, in order, at the reader\'s pace, with no gap and no repeated line. Not together with `tail`. ' +
      'Over server-sent events, the Last-Event-ID of a reconnect takes its place (and `tail` and `since` are then ignored).',
  }),
  stdout: t.arg.boolean({ required: false, defaultValue: true }),
  stderr: t.arg.boolean({ required: false, defaultValue: true }),
  filter: t.arg.string({
    required: false,
    description: 'Only lines matching this regular expression (at most 256 characters; no backreferences or lookaround, so matching is linear-time).',
  }),
});

builder.subscriptionFields((t) => ({
  containerLogs: t.field({
    type: ContainerLogEventRef,
    authScopes: { viewer: true },
    description:
      'History (the last `tail` lines, lines since `since`, or every line after the cursor `after`) then live lines, ' +
      'all with cursors. Ends with a LogEnd when the container stops or is removed.',
    args: followArgs(t),
    subscribe: async (_root, args, ctx) => ctx.services.logs.followLogs(await liveTarget(ctx, args.container), followOptions(args, ctx)),
    resolve: (event) => event,
  }),
  containerLogBatches: t.field({
    type: [ContainerLogEventRef],
    authScopes: { viewer: true },
    description:
      'The events of containerLogs, several to a message: each message carries every event waiting when the one before it ' +
      'was sent (at most `maxBatch`). None is held back to fill a batch, so latency is as low as with containerLogs, while ' +
      'a busy log costs one message and one execution per batch instead of per line. For log viewers.',
    args: {
      ...followArgs(t),
      maxBatch: t.arg.int({ required: false, defaultValue: 500, description: 'Most events in one message (1 to 5000).' }),
    },
    subscribe: async (_root, args, ctx) =>
      ctx.services.logs.followLogBatches(await liveTarget(ctx, args.container), { ...followOptions(args, ctx), maxBatch: args.maxBatch ?? undefined }),
    resolve: (events) => events,
  }),
}));

function followOptions(
  args: {
    tail?: number | null;
    since?: Date | null;
    after?: string | null;
    stdout?: boolean | null;
    stderr?: boolean | null;
    filter?: string | null;
  },
  ctx: Context,
) {
  // A reconnect repeats the first request's arguments: its Last-Event-ID replaces where to start.
  const resuming = ctx.lastEventId !== undefined;
  return {
    tail: resuming ? undefined : (args.tail ?? undefined),
    since: resuming ? undefined : (args.since ?? undefined),
    after: resumeAfter(ctx, args.after),
    stdout: args.stdout ?? undefined,
    stderr: args.stderr ?? undefined,
    filter: args.filter ?? undefined,
  };
}
