import { EXECUTION_SHAPE, type ExecEvent, type Execution } from '../core/exec.js';
import { builder } from './builder.js';
import { historyConnection, newest } from './history.js';
import { ContainerRef, KeyValueInput, pickCommand, stripNulls, toRecord } from './container.js';
import { LogStreamEnum } from './log.js';
import { DateTimeScalar } from './scalars.js';
import { StreamGapRef, unlessLost } from './stream.js';

export const ExecutionRef = builder.objectRef<Execution>('Execution').implement({
  description: 'One finished command run inside a container.',
  fields: (t) => ({
    id: t.exposeID('id'),
    containerId: t.exposeString('containerId'),
    containerName: t.exposeString('containerName'),
    command: t.exposeStringList('command', { description: 'The argument vector that ran.' }),
    user: t.exposeString('user', { nullable: true }),
    workdir: t.exposeString('workdir', { nullable: true }),
    caller: t.string({ description: 'The id of the token that ran it.', resolve: (e) => e.actor.tokenId }),
    callerRole: t.string({ description: "That token's role.", resolve: (e) => e.actor.role }),
    exitCode: t.exposeInt('exitCode', { nullable: true, description: 'Null when the command was killed (timeout, cancellation).' }),
    stdout: t.exposeString('stdout'),
    stderr: t.exposeString('stderr'),
    output: t.exposeString('output', { description: 'stdout and stderr interleaved in arrival order.' }),
    success: t.exposeBoolean('success', { description: 'Exit code 0, neither timed out nor cancelled.' }),
    startedAt: t.field({ type: DateTimeScalar, resolve: (e) => e.startedAt }),
    finishedAt: t.field({ type: DateTimeScalar, resolve: (e) => e.finishedAt }),
    durationMs: t.exposeInt('durationMs'),
    timedOut: t.exposeBoolean('timedOut'),
    cancelled: t.exposeBoolean('cancelled', {
      description: 'Killed before it finished because its client went away (or the server shut down).',
    }),
    truncated: t.exposeBoolean('truncated', { description: 'Output went over the cap; the rest was read and dropped.' }),
  }),
});

const ExecInput = builder.inputType('ExecInput', {
  fields: (t) => ({
    command: t.string({ required: false, description: 'Run by /bin/sh -c.' }),
    args: t.stringList({ required: false, description: 'Run as is, with no shell.' }),
    user: t.string({ required: false }),
    workdir: t.string({ required: false }),
    env: t.field({ type: [KeyValueInput], required: false }),
    stdin: t.string({ required: false, description: 'Text written to the process, then closed.' }),
    timeoutSeconds: t.float({ required: false, description: 'Kill the command after this long; defaults to REQUEST_TIMEOUT.' }),
  }),
});

builder.queryFields((t) => ({
  execution: t.field({
    type: ExecutionRef,
    description: 'A recorded execution (kept for HISTORY_RETENTION_DAYS).',
    authScopes: { viewer: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => ctx.services.exec.find(ctx, String(id)),
  }),
}));

const ExecutionFilterInput = builder.inputType('ExecutionFilter', {
  fields: (t) => ({
    container: t.string({ required: false, description: 'Exact name, full ID or ID prefix; also finds removed containers.' }),
    caller: t.string({ required: false, description: 'A token id.' }),
    user: t.string({ required: false, description: 'The user the command ran as.' }),
    success: t.boolean({ required: false }),
    since: t.field({ type: DateTimeScalar, required: false, description: 'Started at or after.' }),
    until: t.field({ type: DateTimeScalar, required: false, description: 'Started before.' }),
  }),
});

builder.queryFields((t) => ({
  executions: t.connection({
    type: ExecutionRef,
    description: "Recorded executions the token's scope can see, newest first.",
    authScopes: { viewer: true },
    args: { filter: t.arg({ type: ExecutionFilterInput, required: false }) },
    resolve: (_, args, ctx) => historyConnection(args, EXECUTION_SHAPE, (page) => ctx.services.exec.page(ctx, stripNulls(args.filter ?? {}), page)),
  }, { name: 'ExecutionConnection' }, { name: 'ExecutionEdge' }),
}));

builder.objectField(ContainerRef, 'executions', (t) =>
  t.field({
    type: [ExecutionRef],
    description: 'Recorded executions in this container, newest first (`executions(filter:)` pages through all).',
    args: { limit: t.arg.int({ required: false, defaultValue: 20 }) },
    resolve: (c, { limit }, ctx) => ctx.services.exec.page(ctx, { container: c.id }, newest(limit)),
  }),
);

type EventOf<K extends ExecEvent['kind']> = Extract<ExecEvent, { kind: K }>;

const ExecStartedRef = builder.objectRef<EventOf<'started'>>('ExecStarted').implement({
  description: 'The process runs. Once it ends, its record is `execution(executionId)`.',
  fields: (t) => ({ executionId: t.exposeID('executionId') }),
});

const ExecOutputRef = builder.objectRef<EventOf<'output'>>('ExecOutput').implement({
  description: 'A chunk of output as it arrived; multi-byte characters are never split.',
  fields: (t) => ({
    stream: t.field({ type: LogStreamEnum, resolve: (e) => e.stream, description: 'Always STDOUT with a TTY.' }),
    data: t.exposeString('data'),
    cursor: t.exposeString('cursor', { description: 'Counts the chunks of this run: "1", "2", ...' }),
  }),
});

const ExecExitedRef = builder.objectRef<EventOf<'exited'>>('ExecExited').implement({
  description: 'The last event. The run is now in the execution history.',
  fields: (t) => ({
    executionId: t.exposeID('executionId'),
    exitCode: t.exposeInt('exitCode', { nullable: true, description: 'Null when the engine could not tell.' }),
    durationMs: t.exposeInt('durationMs'),
  }),
});

const ExecEventRef = builder.unionType('ExecEvent', {
  types: [ExecStartedRef, ExecOutputRef, StreamGapRef, ExecExitedRef],
  resolveType: (event) => ({ started: ExecStartedRef, output: ExecOutputRef, gap: StreamGapRef, exited: ExecExitedRef })[event.kind],
});

builder.subscriptionFields((t) => ({
  execStream: t.field({
    type: ExecEventRef,
    description:
      'Runs a command in a running container and streams its output while it runs: ExecStarted, ExecOutput..., ExecExited. ' +
      'Unsubscribing (or disconnecting) kills the process and everything it started. Give command or args. ' +
      'If the connection to the engine is lost while it runs, the subscription ends with an ENGINE_UNAVAILABLE error instead of ExecExited.',
    authScopes: { operator: true },
    args: {
      container: t.arg.string({ description: 'Name, ID or unique ID prefix.' }),
      command: t.arg.string({ required: false, description: 'Run by /bin/sh -c.' }),
      args: t.arg.stringList({ required: false, description: 'Run as is, with no shell.' }),
      user: t.arg.string({ required: false }),
      workdir: t.arg.string({ required: false }),
      env: t.arg({ type: [KeyValueInput], required: false }),
      tty: t.arg.boolean({ required: false, defaultValue: false, description: 'Run in a pseudo-terminal: one output stream.' }),
    },
    subscribe: async (_root, { container, command, args, env, ...rest }, ctx) =>
      ctx.services.exec.stream(ctx, container, {
        ...stripNulls(rest),
        command: pickCommand(command, args)!,
        env: toRecord(env),
      }),
    resolve: (event) => unlessLost(event),
  }),
}));

builder.mutationFields((t) => ({
  exec: t.field({
    type: ExecutionRef,
    description:
      'Runs a command in a running container and waits for it. Give command or args. ' +
      'A client that goes away before the answer (or cancels the operation) has the process and everything it started killed.',
    authScopes: { operator: true },
    args: { container: t.arg.string({ required: true }), input: t.arg({ type: ExecInput, required: true }) },
    resolve: async (_, { container, input }, ctx) => {
      const { command, args, env, ...rest } = input;
      return ctx.services.exec.run(
        ctx,
        container,
        { ...stripNulls(rest), command: pickCommand(command, args)!, env: toRecord(env) },
        ctx.signal,
      );
    },
  }),
}));
