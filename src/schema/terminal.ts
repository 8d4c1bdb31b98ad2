import type { TerminalEvent, TerminalModel } from '../core/terminals.js';
import { builder } from './builder.js';
import { ContainerRef, pickCommand } from './container.js';
import { DateTimeScalar } from './scalars.js';
import { resumeAfter, StreamGapRef, unlessLost } from './stream.js';

export const TerminalRef = builder.objectRef<TerminalModel>('Terminal').implement({
  description: 'An interactive shell in a container that several people can watch and type into.',
  fields: (t) => ({
    id: t.exposeID('id'),
    containerId: t.exposeString('containerId'),
    containerName: t.exposeString('containerName'),
    user: t.exposeString('user', { nullable: true }),
    command: t.exposeStringList('command', { nullable: true, description: "Null for the user's login shell." }),
    cols: t.exposeInt('cols'),
    rows: t.exposeInt('rows'),
    openedAt: t.field({ type: DateTimeScalar, resolve: (term) => term.openedAt }),
    watchers: t.exposeInt('watchers', { description: 'Subscribers watching right now.' }),
    cursor: t.exposeString('cursor', { description: 'Cursor of the latest output ("0" before any).' }),
    running: t.exposeBoolean('running'),
    exitCode: t.exposeInt('exitCode', { nullable: true, description: 'Set once the process has exited.' }),
  }),
});

type EventOf<K extends TerminalEvent['kind']> = Extract<TerminalEvent, { kind: K }>;

const TerminalOutputRef = builder.objectRef<EventOf<'output'>>('TerminalOutput').implement({
  description: 'Output as the terminal shows it (escape sequences included). The first one a watcher gets is the scrollback.',
  fields: (t) => ({
    data: t.exposeString('data'),
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume after this output.' }),
  }),
});

const TerminalExitedRef = builder.objectRef<EventOf<'exited'>>('TerminalExited').implement({
  description: 'The last event, sent to every watcher: the process exited or the terminal was closed.',
  fields: (t) => ({ exitCode: t.exposeInt('exitCode', { nullable: true }) }),
});

const TerminalEventRef = builder.unionType('TerminalEvent', {
  types: [TerminalOutputRef, StreamGapRef, TerminalExitedRef],
  resolveType: (event) => ({ output: TerminalOutputRef, gap: StreamGapRef, exited: TerminalExitedRef })[event.kind],
});

builder.objectField(ContainerRef, 'terminals', (t) =>
  t.field({
    type: [TerminalRef],
    description: 'Terminals open in this container.',
    authScopes: { viewer: true },
    resolve: (c, _, ctx) => ctx.services.terminals.forContainer(c.id),
  }),
);

builder.queryFields((t) => ({
  terminal: t.field({
    type: TerminalRef,
    authScopes: { viewer: true },
    args: { id: t.arg.id() },
    resolve: (_, { id }, ctx) => ctx.services.terminals.find(ctx, String(id)),
  }),
}));

builder.mutationFields((t) => ({
  openTerminal: t.field({
    type: TerminalRef,
    description:
      "Starts a shell with a pseudo-terminal in a running container: the user's login shell, or command/args. " +
      'Watch it with the `terminal` subscription. It is closed after TERMINAL_IDLE_TIMEOUT seconds with no watcher and no input.',
    authScopes: { operator: true },
    args: {
      container: t.arg.string({ description: 'Name, ID or unique ID prefix.' }),
      user: t.arg.string({ required: false }),
      command: t.arg.string({ required: false, description: 'Run by /bin/sh -c instead of the login shell.' }),
      args: t.arg.stringList({ required: false, description: 'Run as is instead of the login shell.' }),
      cols: t.arg.int({ required: false, defaultValue: 80, description: '1 to 1000.' }),
      rows: t.arg.int({ required: false, defaultValue: 24, description: '1 to 1000.' }),
    },
    resolve: async (_, { container, user, command, args, cols, rows }, ctx) =>
      ctx.services.terminals.open(
        ctx,
        container,
        { user: user ?? undefined, command: pickCommand(command, args), cols: cols ?? undefined, rows: rows ?? undefined },
        ctx.principal.tokenId,
      ),
  }),
  terminalInput: t.boolean({
    description: 'Types into the terminal: keys, pasted text, control characters (at most 64 KiB at a time).',
    authScopes: { operator: true },
    args: { id: t.arg.id(), data: t.arg.string() },
    resolve: async (_, { id, data }, ctx) => {
      await ctx.services.terminals.input(ctx, String(id), data);
      return true;
    },
  }),
  resizeTerminal: t.field({
    type: TerminalRef,
    authScopes: { operator: true },
    args: { id: t.arg.id(), cols: t.arg.int({ description: '1 to 1000.' }), rows: t.arg.int({ description: '1 to 1000.' }) },
    resolve: async (_, { id, cols, rows }, ctx) => ctx.services.terminals.resize((await ctx.services.terminals.find(ctx, String(id))).id, { cols, rows }),
  }),
  closeTerminal: t.field({
    type: TerminalRef,
    description: 'Kills the terminal and everything it started; every watcher receives TerminalExited.',
    authScopes: { operator: true },
    args: { id: t.arg.id() },
    resolve: async (_, { id }, ctx) => ctx.services.terminals.close((await ctx.services.terminals.find(ctx, String(id))).id),
  }),
}));

builder.subscriptionFields((t) => ({
  terminal: t.field({
    type: TerminalEventRef,
    description:
      'The scrollback (up to 256 KiB, or what came after `after`) as one TerminalOutput, then live output, then TerminalExited. ' +
      'Any number of people may watch one terminal. If the connection to the engine is lost, it ends with an ENGINE_UNAVAILABLE error instead.',
    authScopes: { viewer: true },
    args: {
      id: t.arg.id(),
      after: t.arg.string({
        required: false,
        description: 'A cursor from an earlier TerminalOutput. Over server-sent events, the Last-Event-ID of a reconnect takes its place.',
      }),
    },
    subscribe: async (_root, { id, after }, ctx) =>
      ctx.services.terminals.watch((await ctx.services.terminals.find(ctx, String(id))).id, resumeAfter(ctx, after)),
    resolve: (event) => unlessLost(event),
  }),
}));
