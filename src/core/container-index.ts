import type { Engine } from '../engine/engine.js';
import { watchContainerEvents, type EngineEvent, type Upstream } from '../engine/live.js';
import { Lane } from '../engine/pool.js';
import { AppError } from '../errors.js';
import { fromInspect, statusText, type ContainerModel } from './containers.js';

/** A ref of this shape is only ever an ID or ID prefix, never a name (as the engine resolves refs). */
const ID_LIKE = /^[0-9a-f]{12,64}$/;

/** Engine actions that change nothing the index keeps: exec sessions and attached clients come and go. */
const UNCHANGING_ACTIONS = new Set([
  'exec_create',
  'exec_start',
  'exec_die',
  'exec_detach',
  'exec',
  'exec_died',
  'attach',
  'detach',
  'resize',
  'top',
  'archive-path',
  'extract-to-dir',
  'export',
  'commit',
]);

/** Inspects the index runs at once: its work is bounded apart from the clients' lanes. */
const INSPECT_SLOTS = 4;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

/** Re-inspects of one container: bursts of events coalesce into at most one more inspect. */
interface Refresh {
  /** An event arrived after the running inspect began. */
  again: boolean;
  /** The server wrote a newer result meanwhile: the running inspect's answer is older. */
  overridden: boolean;
}

/** `key` or `key=value` filters, all of which must match, as the engine's label filter reads them. */
export function matchesLabels(labels: Record<string, string>, filters: readonly string[]): boolean {
  return filters.every((filter) => {
    const eq = filter.indexOf('=');
    return eq === -1 ? Object.hasOwn(labels, filter) : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
  });
}

/**
 * Every container's inspected model, kept current from the engine's events, so lists and
 * lookups need no engine round trip. It follows the events before it lists, so no change falls
 * between the two; while it is not `synced` (starting, or after its event stream broke, until a
 * full resync) callers ask the engine instead.
 */
export class ContainerIndex {
  private entries = new Map<string, ContainerModel>();
  private readonly refreshing = new Map<string, Refresh>();
  /** Containers that changed while unsynced: inspected again once the resync is in. */
  private readonly dirty = new Set<string>();
  private readonly lane: Lane;
  private upstream?: Upstream;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = FIRST_RETRY_MS;
  /** Bumped on every (re)connection: work of an older one is dropped. */
  private connection = 0;
  private closed = false;
  private readonly closing = new AbortController();
  private isSynced = false;

  constructor(
    private readonly engine: Engine,
    inspectTimeoutMs: number,
  ) {
    this.lane = new Lane({ slots: INSPECT_SLOTS, defaultTimeoutMs: inspectTimeoutMs, maxQueueWaitMs: Number.POSITIVE_INFINITY });
  }

  get synced(): boolean {
    return this.isSynced;
  }

  get size(): number {
    return this.entries.size;
  }

  start(): void {
    this.connect();
  }

  /** Drops the event stream and rebuilds from a full list; also how a failed refresh recovers. */
  reconnect(): void {
    if (this.closed) return;
    this.disconnect();
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.disconnect();
    this.closing.abort();
  }

  /** Containers carrying every label filter (`key` or `key=value`), with their status as of now. */
  list(labels: readonly string[] = []): ContainerModel[] {
    const now = Date.now();
    return [...this.entries.values()].filter((c) => matchesLabels(c.labels, labels)).map((c) => current(c, now));
  }

  /** By full ID or unique ID prefix if the ref looks like one, else by exact name; undefined if none or ambiguous. */
  lookup(ref: string): ContainerModel | undefined {
    let found: ContainerModel | undefined;
    if (ID_LIKE.test(ref)) {
      const exact = this.entries.get(ref);
      if (exact) return current(exact);
      for (const [id, container] of this.entries) {
        if (!id.startsWith(ref)) continue;
        if (found) return undefined;
        found = container;
      }
    } else {
      for (const container of this.entries.values()) {
        // Two entries with one name only while a rename's events are still on their way.
        if (container.name !== ref) continue;
        if (found) return undefined;
        found = container;
      }
    }
    return found && current(found);
  }

  /** The server's own write: its answer is newer than anything an inspect running now returns. */
  apply(container: ContainerModel): void {
    this.write(container.id, () => this.entries.set(container.id, container));
  }

  forget(id: string): void {
    this.write(id, () => this.entries.delete(id));
  }

  private write(id: string, change: () => void): void {
    if (!this.isSynced) {
      this.dirty.add(id);
      return;
    }
    const refresh = this.refreshing.get(id);
    if (refresh) refresh.overridden = true;
    change();
  }

  private connect(): void {
    const connection = ++this.connection;
    this.upstream = watchContainerEvents(this.engine, {
      open: () => void this.resync(connection),
      data: (event) => this.onEvent(event),
      end: () => this.onBroken(connection),
    });
  }

  private disconnect(): void {
    this.connection++;
    this.isSynced = false;
    this.upstream?.close();
    this.upstream = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private onBroken(connection: number): void {
    if (connection !== this.connection || this.closed) return;
    this.disconnect();
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private onEvent(event: EngineEvent): void {
    // Docker appends details to some actions ("exec_start: sh -c ...", "health_status: healthy").
    const action = event.action.split(':')[0]!.trim();
    if (UNCHANGING_ACTIONS.has(action)) return;
    if (this.isSynced) void this.refresh(event.id);
    else this.dirty.add(event.id);
  }

  /** A full list and inspect of every container, then the ones that changed meanwhile. */
  private async resync(connection: number): Promise<void> {
    const stale = () => connection !== this.connection;
    try {
      const listed = await this.lane.run((signal) => this.engine.listContainers([], this.linked(signal)));
      const ids = listed.map((summary) => summary.Id);
      const entries = new Map<string, ContainerModel>();
      // As many inspects as the lane has slots, each taken when one ends: a queue of hundreds
      // would wait past the lane's deadline on a busy engine.
      const inspectNext = async () => {
        for (let id = ids.pop(); id !== undefined && !stale(); id = ids.pop()) {
          const container = await this.inspect(id);
          if (container) entries.set(container.id, container);
        }
      };
      await Promise.all(Array.from({ length: INSPECT_SLOTS }, inspectNext));
      if (stale()) return;
      // Refreshes left from before were read earlier than this list: theirs must not land on it.
      for (const refresh of this.refreshing.values()) refresh.overridden = true;
      this.entries = entries;
      this.isSynced = true;
      this.retryMs = FIRST_RETRY_MS;
      const changed = [...this.dirty];
      this.dirty.clear();
      // Synced already, so events during these refreshes coalesce into them.
      await Promise.all(changed.map((id) => this.refresh(id)));
    } catch {
      if (!stale()) this.onBroken(connection);
    }
  }

  private async refresh(id: string): Promise<void> {
    const running = this.refreshing.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const refresh: Refresh = { again: true, overridden: false };
    this.refreshing.set(id, refresh);
    const connection = this.connection;
    try {
      while (refresh.again && connection === this.connection) {
        refresh.again = false;
        refresh.overridden = false;
        const container = await this.inspect(id);
        if (refresh.overridden || connection !== this.connection) continue;
        if (container) this.entries.set(id, container);
        else this.entries.delete(id);
      }
    } catch {
      // The entry can no longer be trusted: rebuild everything rather than serve it stale.
      if (connection === this.connection) this.reconnect();
    } finally {
      this.refreshing.delete(id);
    }
  }

  /** The container's model, or null when it is gone. */
  private async inspect(id: string): Promise<ContainerModel | null> {
    try {
      return fromInspect(await this.lane.run((signal) => this.engine.inspectContainer(id, this.linked(signal))));
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** The lane's deadline, or the index closing, whichever comes first. */
  private linked(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.closing.signal]);
  }
}

/** The status text says how long ago; computed when read, not when the entry was written. */
function current(container: ContainerModel, now = Date.now()): ContainerModel {
  return container.details ? { ...container, status: statusText(container.state, container.details, now) } : container;
}
