import { z } from 'zod';
import { isContainerIdRef, type ContainerState } from '../engine/container-model.js';
import type { ContainerEngine, EngineEvent } from '../engine/port.js';
import { liveQueueLimits, type LiveStreamLimits, type StreamGap } from '../streams/gap.js';
import { FanOutHub, type Listener } from '../streams/hub.js';
import { createSubscriber } from '../streams/subscriber.js';
import { containerRef, parseInput } from './validation.js';

export interface ContainerEvent {
  kind: 'event';
  id: string;
  name: string;
  action: string;
  time: Date;
  /** The state the action leaves the container in, where it implies one. */
  state: ContainerState | 'REMOVED' | null;
  exitCode: number | null;
  /** The engine's attributes for the container: its labels, plus name and image. */
  labels: Record<string, string>;
}

export const containerEventsInput = z.object({
  containers: z.array(containerRef).max(100).optional(),
  actions: z.array(z.string().min(1).max(64).regex(/^[a-z_:-]+$/, 'must be an engine action such as start or die')).max(32).optional(),
});

const EVENT_STATES: Record<string, ContainerState | 'REMOVED'> = {
  create: 'CREATED',
  start: 'RUNNING',
  restart: 'RUNNING',
  unpause: 'RUNNING',
  pause: 'PAUSED',
  die: 'EXITED',
  stop: 'EXITED',
  kill: 'EXITED',
  died: 'EXITED',
  destroy: 'REMOVED',
  remove: 'REMOVED',
};

/** The hub key of the one upstream that carries every container's events. */
const ALL_CONTAINERS = 'all';

/** Live container events: one upstream engine stream for all, shared by every subscriber. */
export class EventService {
  readonly hub: FanOutHub<ContainerEvent>;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly limits: LiveStreamLimits,
  ) {
    this.hub = new FanOutHub('events', limits.lingerMs);
  }

  /** Container events from now on, optionally only some containers (names or IDs) and actions. */
  containerEvents(input: z.input<typeof containerEventsInput>, visible: (event: ContainerEvent) => boolean = () => true) {
    const filter = parseInput(containerEventsInput, input);
    const containers = filter.containers && new Set(filter.containers);
    const actions = filter.actions && new Set(filter.actions);
    const wanted = (event: ContainerEvent) =>
      (!containers || [...containers].some((ref) => (isContainerIdRef(ref) ? event.id.startsWith(ref) : event.name === ref))) &&
      (!actions || actions.has(event.action)) &&
      visible(event);
    return createSubscriber<ContainerEvent | StreamGap>(liveQueueLimits<ContainerEvent>(this.limits.queueBytes, () => null), (sink) =>
      this.listen({ data: (event) => wanted(event) && sink.push(event), end: () => sink.end() }),
    );
  }

  /** Adds a listener to every container's events; returns the function that removes it. */
  listen(listener: Listener<ContainerEvent>): () => void {
    return this.hub.join(ALL_CONTAINERS, listener, (handlers) =>
      this.engine.watchContainerEvents({ data: (event) => handlers.data(toContainerEvent(event)), end: handlers.end }),
    );
  }
}

function toContainerEvent(event: EngineEvent): ContainerEvent {
  // Podman attaches a (stale) exit code to every event; only a death has a meaningful one.
  const exitCode = event.action === 'die' ? (event.attributes.exitCode ?? event.attributes.containerExitCode) : undefined;
  return {
    kind: 'event',
    id: event.id,
    name: event.name,
    action: event.action,
    time: new Date(Number(event.timeNano / 1_000_000n)),
    state: EVENT_STATES[event.action] ?? null,
    exitCode: exitCode !== undefined && /^-?\d+$/.test(exitCode) ? Number(exitCode) : null,
    labels: event.attributes,
  };
}
