import type { ContainerStatsSample } from '../core/stats.js';
import { builder } from './builder.js';
import { DateTimeScalar } from './scalars.js';
import { liveTarget, StreamGapRef } from './stream.js';

const ContainerStatsRef = builder.objectRef<ContainerStatsSample>('ContainerStats').implement({
  fields: (t) => ({
    time: t.field({ type: DateTimeScalar, resolve: (s) => s.read }),
    cpuPercent: t.exposeFloat('cpuPercent', { nullable: true, description: 'Since the previous sample; 100 is one full CPU.' }),
    memoryUsedBytes: t.exposeFloat('memoryUsedBytes', { nullable: true, description: 'Without reclaimable page cache.' }),
    memoryLimitBytes: t.exposeFloat('memoryLimitBytes', { nullable: true }),
    networkRxBytes: t.exposeFloat('networkRxBytes'),
    networkTxBytes: t.exposeFloat('networkTxBytes'),
    pids: t.exposeInt('pids', { nullable: true }),
  }),
});

const ContainerStatsEventRef = builder.unionType('ContainerStatsEvent', {
  types: [ContainerStatsRef, StreamGapRef],
  resolveType: (event) => (event.kind === 'stats' ? ContainerStatsRef : StreamGapRef),
});

const LiveStreamCountRef = builder.objectRef<{ kind: string; upstreams: number; subscribers: number }>('LiveStreamCount').implement({
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'logs, stats or events.' }),
    upstreams: t.exposeInt('upstreams', { description: 'Engine streams open: one per container (one in all for events).' }),
    subscribers: t.exposeInt('subscribers', { description: 'Subscriptions sharing them.' }),
  }),
});

const ServerStatsRef = builder.objectRef<{ streams: { kind: string; upstreams: number; subscribers: number }[] }>('ServerStats').implement({
  fields: (t) => ({
    streams: t.field({ type: [LiveStreamCountRef], resolve: (s) => s.streams }),
  }),
});

builder.queryFields((t) => ({
  serverStats: t.field({
    type: ServerStatsRef,
    authScopes: { viewer: true },
    description: 'Live-stream fan-out: upstream engine streams and their subscribers (also at GET /metrics).',
    resolve: (_root, _args, ctx) => ({ streams: ctx.services.streams.counts() }),
  }),
}));

builder.subscriptionFields((t) => ({
  containerStats: t.field({
    type: ContainerStatsEventRef,
    authScopes: { viewer: true },
    description:
      'CPU, memory, network and process counts about every `intervalMs` (the engines sample once a second); ends when the ' +
      'engine ends the stream.',
    args: {
      container: t.arg.string({ description: 'Name, ID or unique ID prefix.' }),
      intervalMs: t.arg.int({ required: false, defaultValue: 1000, description: '1000 to 60000.' }),
    },
    subscribe: async (_root, args, ctx) =>
      ctx.services.stats.followStats(await liveTarget(ctx, args.container), { intervalMs: args.intervalMs ?? undefined }),
    resolve: (event) => event,
  }),
}));
