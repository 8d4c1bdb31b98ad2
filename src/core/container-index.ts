import { isContainerIdRef, statusText, type ContainerModel } from '../engine/container-model.js';
import type { ContainerEngine, EngineEvent } from '../engine/port.js';
import { AppError } from '../errors.js';
import type { Upstream } from '../streams/upstream.js';

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

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

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
  /**
   * Containers to inspect again, oldest first; one that changes again while queued stays queued
   * once. Filled while unsynced too, and worked through once synced.
   */
  private readonly changed = new Set<string>();
  /** The server's own writes while unsynced, by container ID (null: removed). */
  private readonly ownWrites = new Map<string, ContainerModel | null>();
  private refreshing = false;
  /** The container whose inspect is running, and whether the server wrote a newer result meanwhile. */
  private inspecting?: { id: string; overridden: boolean };
  private upstream?: Upstream;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = FIRST_RETRY_MS;
  /** Bumped on every (re)connection: work of an older one is dropped. */
  private connection = 0;
  private closed = false;
  private readonly closing = new AbortController();
  private isSynced = false;

  /**
   * `engine` is the index's own client, over two kept-open connections (app.ts): the
   * event stream and one call at a time. That bounds the engine work the index adds, and its
   * descriptors do not come and go with other people's containers' events.
   */
  constructor(
    private readonly engine: ContainerEngine,
    private readonly callTimeoutMs: number,
  ) {}

  get synced(): boolean {
    return this.isSynced;
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
    this.engine.close();
  }

  /** Containers carrying every label filter (`key` or `key=value`), with their status as of now. */
  list(labels: readonly string[] = []): ContainerModel[] {
    const now = Date.now();
    return [...this.entries.values()].filter((c) => matchesLabels(c.labels, labels)).map((c) => current(c, now));
  }

  /** By full ID or unique ID prefix if the ref looks like one, else by exact name; undefined if none or ambiguous. */
  lookup(ref: string): ContainerModel | undefined {
    let found: ContainerModel | undefined;
    if (isContainerIdRef(ref)) {
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
    this.write(container.id, container);
  }

  forget(id: string): void {
    this.write(id, null);
  }

  /** A container as the server left it (null: removed). While unsynced it is also kept for the sync's result, which may predate it. */
  private write(id: string, container: ContainerModel | null): void {
    if (!this.isSynced) {
      this.changed.add(id);
      this.ownWrites.set(id, container);
      return;
    }
    if (this.inspecting?.id === id) this.inspecting.overridden = true;
    setEntry(this.entries, id, container);
  }

  private connect(): void {
    const connection = ++this.connection;
    this.upstream = this.engine.watchContainerEvents({
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
    this.changed.add(event.id);
    void this.refresh();
  }

  /** A full list and inspect of every container; the ones that changed meanwhile are inspected after. */
  private async resync(connection: number): Promise<void> {
    const stale = () => connection !== this.connection;
    try {
      const listed = await this.engine.listContainers([], this.callSignal());
      const entries = new Map<string, ContainerModel>();
      for (const { id } of listed) {
        if (stale()) return;
        const container = await this.inspect(id);
        if (container) entries.set(container.id, container);
      }
      if (stale()) return;
      // The server's own writes meanwhile stand until their containers are inspected again.
      for (const [id, container] of this.ownWrites) setEntry(entries, id, container);
      this.ownWrites.clear();
      this.entries = entries;
      this.isSynced = true;
      this.retryMs = FIRST_RETRY_MS;
      void this.refresh();
    } catch {
      if (!stale()) this.onBroken(connection);
    }
  }

  /** Inspects the changed containers one at a time, while synced. */
  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      while (this.isSynced && this.changed.size > 0) {
        const id = this.changed.values().next().value!;
        this.changed.delete(id);
        const connection = this.connection;
        const inspecting = (this.inspecting = { id, overridden: false });
        let container: ContainerModel | null;
        try {
          container = await this.inspect(id);
        } catch {
          // The entry can no longer be trusted: rebuild everything rather than serve it stale.
          if (connection === this.connection) this.reconnect();
          continue;
        } finally {
          this.inspecting = undefined;
        }
        // A resync since then read the container afresh, or the server wrote a newer result.
        if (inspecting.overridden || connection !== this.connection) continue;
        if (container) this.entries.set(id, container);
        else this.entries.delete(id);
      }
    } finally {
      this.refreshing = false;
    }
  }

  /** The container's model, or null when it is gone. */
  private async inspect(id: string): Promise<ContainerModel | null> {
    try {
      return await this.engine.inspectContainer(id, this.callSignal());
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** Each engine call is bounded, and ends when the index closes. */
  private callSignal(): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(this.callTimeoutMs), this.closing.signal]);
  }
}

/** The status text says how long ago; computed when read, not when the entry was written. */
function current(container: ContainerModel, now = Date.now()): ContainerModel {
  return container.details ? { ...container, status: statusText(container.state, container.details, now) } : container;
}

function setEntry(entries: Map<string, ContainerModel>, id: string, container: ContainerModel | null): void {
  if (container) entries.set(id, container);
  else entries.delete(id);
}
