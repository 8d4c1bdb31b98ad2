import type { LogEntry } from '../core/logs.js';
import { builder } from './builder.js';
import { ContainerRef } from './container.js';
import { DateTimeScalar } from './scalars.js';

export const LogStreamEnum = builder.enumType('LogStream', {
  values: { STDOUT: { value: 'stdout' }, STDERR: { value: 'stderr' } },
});

export const LogEntryRef = builder.objectRef<LogEntry>('LogEntry').implement({
  fields: (t) => ({
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
    resolve: (c, args, ctx) =>
      ctx.services.logs.read(c.id, {
        tail: args.tail ?? undefined,
        since: args.since ?? undefined,
        until: args.until ?? undefined,
        timestamps: args.timestamps ?? undefined,
      }),
  }),
);
