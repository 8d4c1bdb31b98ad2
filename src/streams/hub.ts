import { shuttingDown, type AppError } from '../errors.js';
import type { Upstream, UpstreamHandlers } from './upstream.js';

export interface Listener<T> {
  data(item: T): void;
  /** The upstream ended on its own; the listener has been removed. */
  end(error?: AppError): void;
}

interface Channel<T> {
  upstream?: Upstream;
  listeners: Set<Listener<T>>;
  closing?: NodeJS.Timeout;
}

/**
 * Fan-out of one upstream engine stream per key (a container, or all events) to any number of
 * listeners. The upstream opens with the first listener and closes `lingerMs` after the last
 * one leaves, so a quick reconnect reuses it. Listeners must not block: each is a subscriber
 * with its own bounded queue.
 */
export class FanOutHub<T> {
  private readonly channels = new Map<string, Channel<T>>();
  /** Set by closeAll: listeners that join later are ended with it at once. */
  private closedWith: AppError | undefined;

  constructor(
    /** What the upstreams carry (logs, stats, events), as metrics label them. */
    readonly kind: string,
    private readonly lingerMs: number,
  ) {}

  get upstreamCount(): number {
    return this.channels.size;
  }

  get listenerCount(): number {
    let count = 0;
    for (const channel of this.channels.values()) count += channel.listeners.size;
    return count;
  }

  /**
   * Adds a listener to the key's upstream, opening it with `open` if there is none. Returns
   * the function that removes the listener again (idempotent).
   */
  join(key: string, listener: Listener<T>, open: (handlers: UpstreamHandlers<T>) => Upstream): () => void {
    if (this.closedWith) {
      listener.end(this.closedWith);
      return () => undefined;
    }
    let channel = this.channels.get(key);
    if (!channel) {
      // The listener is in before the upstream opens, so nothing it emits at once is lost.
      const created: Channel<T> = { listeners: new Set([listener]) };
      channel = created;
      this.channels.set(key, created);
      created.upstream = open({
        data: (item) => {
          for (const each of created.listeners) each.data(item);
        },
        end: (error) => {
          if (this.channels.get(key) === created) this.channels.delete(key);
          clearTimeout(created.closing);
          const listeners = [...created.listeners];
          created.listeners.clear();
          for (const each of listeners) each.end(error);
        },
      });
    }
    clearTimeout(channel.closing);
    channel.closing = undefined;
    channel.listeners.add(listener);
    const joined = channel;
    return () => {
      if (!joined.listeners.delete(listener) || joined.listeners.size > 0) return;
      joined.closing = setTimeout(() => {
        if (joined.listeners.size > 0) return;
        if (this.channels.get(key) === joined) this.channels.delete(key);
        joined.upstream?.close();
      }, this.lingerMs);
    };
  }

  /** Closes every upstream at once, for good (shutdown), and ends their listeners with `reason`. */
  closeAll(reason: AppError): void {
    this.closedWith = reason;
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const channel of channels) {
      clearTimeout(channel.closing);
      channel.upstream?.close();
      const listeners = [...channel.listeners];
      channel.listeners.clear();
      for (const each of listeners) each.end(reason);
    }
  }
}

/** The hubs of every live service together: their figures for metrics, and their shutdown. */
export class LiveHubs {
  constructor(private readonly hubs: readonly FanOutHub<never>[]) {}

  /** Upstream streams and subscribers per kind. */
  counts() {
    return this.hubs.map((hub) => ({ kind: hub.kind, upstreams: hub.upstreamCount, subscribers: hub.listenerCount }));
  }

  /** For shutdown: ends every subscription, and any that starts later, at once. */
  close(): void {
    for (const hub of this.hubs) hub.closeAll(shuttingDown());
  }
}
