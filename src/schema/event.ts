import { CONTAINER_STATES } from '../engine/container-model.js';
import type { ContainerEvent } from '../core/events.js';
import { builder } from './builder.js';
import { DateTimeScalar } from './scalars.js';
import { StreamGapRef } from './stream.js';

const ContainerEventStateEnum = builder.enumType('ContainerEventState', {
  description: 'The state an event leaves a container in: a ContainerState, or REMOVED.',
  values: [...CONTAINER_STATES, 'REMOVED'] as const,
});

const ContainerEventRef = builder.objectRef<ContainerEvent>('ContainerEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    action: t.exposeString('action', { description: 'The engine\'s word: create, start, stop, die, kill, destroy/remove, exec_create, ...' }),
    time: t.field({ type: DateTimeScalar, resolve: (e) => e.time }),
    state: t.field({ type: ContainerEventStateEnum, nullable: true, resolve: (e) => e.state }),
    exitCode: t.exposeInt('exitCode', { nullable: true, description: 'For die events.' }),
  }),
});

const ContainerEventMessageRef = builder.unionType('ContainerEventMessage', {
  types: [ContainerEventRef, StreamGapRef],
  resolveType: (message) => (message.kind === 'event' ? ContainerEventRef : StreamGapRef),
});

builder.subscriptionFields((t) => ({
  containerEvents: t.field({
    type: ContainerEventMessageRef,
    authScopes: { viewer: true },
    description: "Container events from the engine as they happen, for the containers in the token's scope.",
    args: {
      containers: t.arg.stringList({ required: false, description: 'Only these containers (names or ID prefixes).' }),
      actions: t.arg.stringList({ required: false, description: 'Only these actions, e.g. ["start", "die"].' }),
    },
    subscribe: (_root, args, ctx) =>
      ctx.services.events.containerEvents({ containers: args.containers ?? undefined, actions: args.actions ?? undefined }, (event) =>
        ctx.inScope({ name: event.name, labels: event.labels }),
      ),
    resolve: (message) => message,
  }),
}));
