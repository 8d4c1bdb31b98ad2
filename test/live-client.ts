import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestServer } from './kit.js';

/** One running subscription: what arrived so far, and how it ended. */
export interface Watch<T> {
  events: T[];
  errors: GraphQLFormattedError[];
  /** True once the server completed the subscription (or it failed). */
  done: boolean;
  /** Resolves once `predicate` holds for the events so far; fails after `timeoutMs`. */
  until(predicate: (events: T[]) => boolean, timeoutMs?: number): Promise<T[]>;
  stop(): void;
}

function createWatch<T>(): { watch: Watch<T>; next(event: T): void; fail(errors: GraphQLFormattedError[]): void; complete(): void } {
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((check) => check());
  const watch: Watch<T> = {
    events: [],
    errors: [],
    done: false,
    stop: () => undefined,
    until(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(watch.events)) {
            finish();
            resolve(watch.events);
          } else if (watch.done) {
            finish();
            reject(new Error(`subscription ended first: ${JSON.stringify(watch.errors)} after ${watch.events.length} events`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out after ${watch.events.length} events: ${JSON.stringify(watch.events.slice(-3))}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
  return {
    watch,
    next: (event) => {
      watch.events.push(event);
      notify();
    },
    fail: (errors) => {
      watch.errors.push(...errors);
      watch.done = true;
      notify();
    },
    complete: () => {
      watch.done = true;
      notify();
    },
  };
}

/** A graphql-ws client for the test server, connected (as `token`, if given) until `dispose()`. */
export function wsClient(server: Pick<TestServer, 'url'>, token?: string): Client {
  return createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
  });
}

/** Subscribes over graphql-ws; every `next` payload's data is one event. */
export function watchWs<T, V>(client: Client, document: TypedDocumentNode<T, V>, variables: V): Watch<T> {
  const { watch, next, fail, complete } = createWatch<T>();
  watch.stop = client.subscribe<T>(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: (result) => (result.errors ? fail(result.errors as GraphQLFormattedError[]) : next(result.data as T)),
      error: (error) => fail(Array.isArray(error) ? error : [{ message: String((error as Error)?.message ?? error) }]),
      complete,
    },
  );
  return watch;
}

/** Subscribes over server-sent events (yoga's own transport), with plain fetch. */
export function watchSse<T, V>(server: TestServer, document: TypedDocumentNode<T, V>, variables: V): Watch<T> {
  const { watch, next, fail, complete } = createWatch<T>();
  const controller = new AbortController();
  watch.stop = () => controller.abort();
  void (async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: print(document), variables }),
      signal: controller.signal,
    });
    for await (const message of serverSentEvents(response)) {
      if (message.event === 'complete') return complete();
      if (!message.data) continue;
      const result = JSON.parse(message.data) as { data?: T; errors?: GraphQLFormattedError[] };
      if (result.errors) fail(result.errors);
      else next(result.data as T);
    }
    complete();
  })().catch((error: Error) => (error.name === 'AbortError' ? complete() : fail([{ message: error.message }])));
  return watch;
}

/** One server-sent event: its id, type and data, as an EventSource would see them. */
export interface ServerSentEvent {
  id?: string;
  event?: string;
  data: string;
}

/** The events of an event-stream response as they arrive; comments (pings) are skipped. */
export async function* serverSentEvents(response: Response): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: ServerSentEvent = { data: '' };
      const data: string[] = [];
      let fields = 0;
      for (const line of block.split('\n')) {
        // A line starting with a colon is a comment; "field: value" otherwise.
        const match = /^([^:]+)(?:: ?(.*))?$/.exec(line);
        if (!match) continue;
        const [, field, value = ''] = match;
        if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
        else if (field === 'data') data.push(value);
        else continue;
        fields++;
      }
      message.data = data.join('\n');
      if (fields) yield message;
    }
  }
}
