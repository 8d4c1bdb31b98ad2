import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError, fromEngineError } from '../errors.js';
import type { ContainerModel } from '../engine/container-model.js';
import type { PageArgs } from '../store/pages.js';
import type { Activity, ActivityFilter, ActivityStore } from '../store/activity.js';
import type { ContainerMark, Execution, ExecutionStore } from '../store/executions.js';
import type { HistoryDatabase } from '../store/database.js';
import type { StreamGap } from '../streams/gap.js';
import { createSubscriber, type QueueLimits, type Sink } from '../streams/subscriber.js';
import type { Caller } from './caller.js';
import { visibleIn, visiblePage, type RecordShape } from './history.js';
import { containerRef, labelSelectors, parseInput } from './validation.js';

export const ACTIVITY_KINDS = [
  'CONTAINER_CREATE',
  'CONTAINER_START',
  'CONTAINER_STOP',
  'CONTAINER_RESTART',
  'CONTAINER_REMOVE',
  'EXEC_START',
  'EXEC_END',
  'TERMINAL_OPEN',
  'TERMINAL_CLOSE',
  'FILE_WRITE',
  'FILE_DELETE',
  'USER_ADD',
  'USER_REMOVE',
  'TEMPLATE_SAVE',
  'LAB_CREATE',
  'LAB_START',
  'LAB_STOP',
  'LAB_EXTEND',
  'LAB_EXPIRE',
  'LAB_REMOVE',
  'STUDENT_ADD',
  'STUDENT_REMOVE',
  'STUDENT_RESET',
  'TOKEN_ISSUE',
  'TOKEN_REVOKE',
  'CHECK_RUN',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** The history could not take a record: the action was done, and the client is told it is not recorded. */
const notRecorded = (what: string) =>
  new AppError('STORE_UNAVAILABLE', `${what} was done, but the history store could not record it; it is in the server's log`);

/** Marks which container an action turned out to be about, once the service has resolved it. */
export type About = <C extends ContainerModel | ContainerMark>(container: C) => C;

const containerList = z.array(containerRef).max(1000);

const activityFilter = z.object({
  containers: containerList.optional(),
  kinds: z.array(z.enum(ACTIVITY_KINDS)).max(ACTIVITY_KINDS.length).optional(),
  caller: z.string().min(1).max(128).optional(),
  since: z.date().optional(),
  until: z.date().optional(),
});

/** A live activity subscriber's filter, checked against each record as it happens. */
const feedFilter = z.object({
  containers: containerList.optional(),
  labels: labelSelectors.optional(),
  kinds: z.array(z.enum(ACTIVITY_KINDS)).max(ACTIVITY_KINDS.length).optional(),
});
type FeedFilter = z.output<typeof feedFilter>;

const FEED_QUEUE: QueueLimits<Activity | StreamGap> = {
  maxItems: 1000,
  gap: (missed) => ({ kind: 'gap', missed, resumeCursor: null }),
};

export const ACTIVITY_SHAPE: RecordShape<Activity> = { container: (a) => a.container, key: (a) => ({ at: a.at.toISOString(), id: a.id }) };

export const markOf = (container: ContainerModel | ContainerMark): ContainerMark => ({ id: container.id, name: container.name, labels: container.labels });

/** Containers whose last activity is remembered in memory; the oldest is forgotten beyond this. */
const MAX_REMEMBERED_CONTAINERS = 10_000;

/** Failures a service has recorded already: errors are objects that travel up to the transport unchanged. */
const recordedFailures = new WeakSet<object>();

/** Whether a service has recorded this failure; a transport records those it has not (refusals before any service ran). */
export const wasRecorded = (error: unknown): boolean => error instanceof Object && recordedFailures.has(error);

/**
 * The one recorder: every service records what its callers do through here. Each record is an
 * audit line in the server's log, an item of the live activity feed and a row of the history
 * database. A record the database refuses is still logged, and the caller is told
 * (STORE_UNAVAILABLE): nothing is lost silently.
 */
export class Recorder {
  private readonly followers = new Set<{ caller: Caller; filter: FeedFilter; sink: Sink<Activity | StreamGap> }>();
  /** When something was last recorded in each container, by ID. Null: the history was asked and has nothing. */
  private readonly lastActive = new Map<string, Date | null>();

  constructor(
    private readonly logger: Logger,
    private readonly database: HistoryDatabase,
    private readonly activity: ActivityStore,
    private readonly executions: ExecutionStore,
  ) {}

  /**
   * Runs an action and records its outcome: `ok`, or the code it failed with. The service calls
   * `about` once it knows which container the action concerns; until then the reference is noted.
   */
  async action<R>(caller: Caller, kind: ActivityKind, ref: string | null, detail: Record<string, unknown>, run: (about: About) => Promise<R>): Promise<R> {
    let container: ContainerMark | null = null;
    const about: About = (found) => {
      container = markOf(found);
      return found;
    };
    let result: R;
    try {
      result = await run(about);
    } catch (error) {
      throw await this.failed(caller, kind, container ?? ref, detail, error);
    }
    await this.record(caller, kind, container, 'ok', detail);
    return result;
  }

  /**
   * Records an attempt that failed with `error` and returns the error, marked as recorded so a
   * transport does not record it again. The action's own error is what the caller hears; a
   * record the database refuses is only logged.
   */
  async failed(caller: Pick<Caller, 'actor'>, kind: ActivityKind, about: ContainerMark | string | null, detail: Record<string, unknown>, error: unknown): Promise<unknown> {
    if (recordedFailures.has(error as object)) return error;
    const container = typeof about === 'string' || about === null ? null : about;
    const noted = container || about === null ? detail : { ...detail, ref: about };
    await this.record(caller, kind, container, fromEngineError(error).code, noted).catch(() => undefined);
    if (error instanceof Object) recordedFailures.add(error);
    return error;
  }

  /** Records one event: an action's outcome, or something that happens on its own (a terminal closing). */
  async record(caller: Pick<Caller, 'actor'>, kind: ActivityKind, container: ContainerMark | null, outcome: string, detail: Record<string, unknown>): Promise<void> {
    const entry: Activity = { id: randomUUID(), at: new Date(), kind, actor: caller.actor, container, outcome, detail };
    await this.publish(entry, () => this.activity.add(entry), `The ${kind} action`);
  }

  /**
   * An audit line only, for what is no activity of its own (a resize, typing refused) and for
   * refusals of actions that never reached their service.
   */
  note(caller: Pick<Caller, 'actor'>, action: string, ref: unknown, outcome: string): void {
    this.logger.info({ audit: true, tokenId: caller.actor.tokenId, role: caller.actor.role, action, ref, outcome }, `audit ${action} ${outcome}`);
  }

  /** Records a finished execution and its EXEC_END activity, in one transaction. */
  async execution(caller: Pick<Caller, 'actor'>, execution: Execution): Promise<void> {
    const container = { id: execution.containerId, name: execution.containerName, labels: execution.containerLabels };
    const detail = { executionId: execution.id, exitCode: execution.exitCode, timedOut: execution.timedOut, cancelled: execution.cancelled };
    const entry: Activity = { id: randomUUID(), at: execution.finishedAt, kind: 'EXEC_END', actor: caller.actor, container, outcome: 'ok', detail };
    await this.publish(
      entry,
      () =>
        this.database.db.transaction().execute(async (tx) => {
          await this.executions.add(execution, tx);
          await this.activity.add(entry, tx);
        }),
      'The execution',
    );
  }

  /** What a caller may see of the activity, live, as it is recorded. */
  follow(caller: Caller, input: z.input<typeof feedFilter>): AsyncIterable<Activity | StreamGap> {
    const filter = parseInput(feedFilter, input);
    return createSubscriber(FEED_QUEUE, (sink) => {
      const follower = { caller, filter, sink };
      this.followers.add(follower);
      return () => this.followers.delete(follower);
    });
  }

  /** Recorded activity a caller may see, newest first. */
  async page(caller: Caller, input: z.input<typeof activityFilter>, page: PageArgs): Promise<Activity[]> {
    const filter: ActivityFilter = parseInput(activityFilter, input);
    return visiblePage(caller, page, ACTIVITY_SHAPE, (next) => this.activity.page(filter, next));
  }

  private remember(containerId: string, at: Date | null): void {
    // Re-inserted, so the map's order is the order of last activity and its first key the stalest.
    this.lastActive.delete(containerId);
    this.lastActive.set(containerId, at);
    if (this.lastActive.size > MAX_REMEMBERED_CONTAINERS) this.lastActive.delete(this.lastActive.keys().next().value!);
  }

  /** When anything was last recorded in a container: from memory since this server started, else from the history. */
  async lastActivity(caller: Caller, container: { id: string; name: string }): Promise<Date | null> {
    if (this.lastActive.has(container.id)) return this.lastActive.get(container.id)!;
    // By name: a container made again for the same student (a reset) goes on from the old one's.
    const [latest] = await this.page(caller, { containers: [container.name] }, { limit: 1, inverted: false });
    const at = latest?.at ?? null;
    if (!this.lastActive.has(container.id)) this.remember(container.id, at);
    return at;
  }

  private announce(entry: Activity): void {
    if (entry.container) this.remember(entry.container.id, entry.at);
    this.logger.info(
      { audit: true, tokenId: entry.actor.tokenId, role: entry.actor.role, action: entry.kind, container: entry.container?.name, outcome: entry.outcome, ...entry.detail },
      `audit ${entry.kind} ${entry.outcome}`,
    );
    for (const { caller, filter, sink } of this.followers) if (visibleIn(caller, entry.container) && matches(entry, filter)) sink.push(entry);
  }

  /**
   * Stores a record, then tells the log and the feed: a follower that reads what it heard of
   * finds it. One the database refused is still logged and followed, and its caller told.
   */
  private async publish(entry: Activity, store: () => Promise<unknown>, what: string): Promise<void> {
    const refused = await store().then(
      () => undefined,
      (error: unknown) => error,
    );
    this.announce(entry);
    if (refused === undefined) return;
    this.logger.error({ err: refused }, `history store: could not record: ${what}`);
    throw notRecorded(what);
  }
}

function matches(entry: Activity, filter: FeedFilter): boolean {
  if (filter.kinds?.length && !filter.kinds.includes(entry.kind as ActivityKind)) return false;
  const container = entry.container;
  if (filter.containers?.length && !(container && (filter.containers.includes(container.name) || filter.containers.includes(container.id)))) return false;
  if (filter.labels?.length) {
    const labels = container?.labels;
    if (!labels) return false;
    return filter.labels.every((label) => {
      const [key, ...value] = label.split('=');
      return value.length ? labels[key!] === value.join('=') : key! in labels;
    });
  }
  return true;
}
