import { Agent, request } from 'node:http';
import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

interface Result<T> {
  data?: T | null;
  errors?: GraphQLFormattedError[];
}

/**
 * Kept-alive connections, as dockerode's requests to the engine have (Node's global agent): both
 * paths of a scenario use the same HTTP client, node:http. fetch (undici) costs about 2 ms more
 * a request on this machine, which is the client's, not the server's.
 */
const agent = new Agent({ keepAlive: true });

/** POSTs one GraphQL operation, with a bearer token if given; any error in the answer is thrown. */
export async function graphqlRequest<T>(baseUrl: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const body = JSON.stringify({ query, variables });
  const headers = { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(`${baseUrl}/graphql`, { method: 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  const result = JSON.parse(text) as Result<T>;
  if (result.errors?.length || !result.data) throw new Error(`GraphQL: ${JSON.stringify(result.errors ?? result)}`);
  return result.data;
}

/** A graphql-ws client with its own socket, which the caller may pause (a viewer that stops reading). */
export interface WsConnection {
  client: Client;
  socket(): WebSocket | undefined;
  /** Resolves once the server has acknowledged the connection; rejects if it closes first. */
  connected: Promise<void>;
  /** Closes the connection; never fails (the socket may be gone already). */
  close(): Promise<void>;
}

/** Connects at once (not on the first subscription), so connections can be opened before anything streams. */
export function wsConnection(baseUrl: string): WsConnection {
  let socket: WebSocket | undefined;
  class TrackedWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      socket = this;
    }
  }
  let acknowledged!: () => void;
  let refused!: (error: Error) => void;
  const connected = new Promise<void>((resolve, reject) => ((acknowledged = resolve), (refused = reject)));
  connected.catch(() => undefined);
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: TrackedWebSocket,
    retryAttempts: 0,
    lazy: false,
    on: { connected: () => acknowledged(), closed: (event) => refused(asError(event)), error: (error) => refused(asError(error)) },
    onNonLazyError: () => undefined,
  });
  return {
    client,
    socket: () => socket,
    connected,
    close: async () => {
      await Promise.resolve(client.dispose()).catch(() => undefined);
    },
  };
}

/** `n` connections, opened 50 at a time, all acknowledged. */
export async function connectAll(baseUrl: string, n: number): Promise<WsConnection[]> {
  const connections: WsConnection[] = [];
  for (let start = 0; start < n; start += 50) {
    const batch = Array.from({ length: Math.min(50, n - start) }, () => wsConnection(baseUrl));
    connections.push(...batch);
    await Promise.all(batch.map((c) => c.connected));
  }
  return connections;
}

export interface Subscription {
  /** Resolves when the server completes the subscription; rejects on an error. */
  done: Promise<void>;
  stop(): void;
}

/** graphql-ws fails with an Error, a list of GraphQL errors, or the socket's CloseEvent. */
function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  const close = error as { code?: unknown; reason?: unknown };
  if (typeof close.code === 'number') return new Error(`connection closed with code ${close.code}${close.reason ? `: ${String(close.reason)}` : ''}`);
  return new Error(JSON.stringify(error));
}

/** Subscribes and hands each event's data to `onData` as it arrives. */
export function subscribe<T>(client: Client, query: string, variables: Record<string, unknown>, onData: (data: T) => void): Subscription {
  let stop!: () => void;
  const done = new Promise<void>((resolve, reject) => {
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) reject(new Error(`GraphQL: ${JSON.stringify(result.errors)}`));
          else if (result.data) onData(result.data as T);
        },
        error: (error) => reject(asError(error)),
        complete: resolve,
      },
    );
  });
  done.catch(() => undefined);
  return { done, stop };
}

/** Runs one operation over the socket and resolves with its single result. */
export function wsRequest<T>(client: Client, query: string, variables: Record<string, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let data: T | undefined;
    subscribe<T>(client, query, variables, (d) => (data = d)).done.then(
      () => (data === undefined ? reject(new Error('no result')) : resolve(data)),
      reject,
    );
  });
}
