import type { Logger } from 'pino';
import { connectionToken, bearerToken, type Authenticator } from '../auth/authenticator.js';
import type { Services } from '../core/services.js';
import { sessionFor, type Session } from '../core/session.js';

/** GraphQL's context is the request's session, and where an SSE client asks to resume. */
export interface Context extends Session {
  /**
   * The Last-Event-ID an event-stream client sends when it reconnects: the cursor of the last
   * event it received. The resumable subscriptions (RESUMABLE_SUBSCRIPTIONS) take it as `after`.
   */
  lastEventId?: string;
}

/**
 * What the transports hand over: the HTTP request (HTTP, SSE), or the graphql-ws
 * connectionParams with the operation's own cancel signal (WS).
 */
export interface InitialContext {
  request?: Request;
  connectionParams?: Readonly<Record<string, unknown>>;
  signal?: AbortSignal;
}

/** The one place a request becomes a context: authenticates it (UNAUTHENTICATED otherwise) and scopes it. */
export function createContext(services: Services, logger: Logger, authenticator: Authenticator, initial: InitialContext): Context {
  const token = initial.request ? bearerToken(initial.request.headers.get('authorization')) : connectionToken(initial.connectionParams);
  const signal = initial.request?.signal ?? initial.signal;
  if (!signal) throw new Error('A transport must hand over the client cancel signal');
  const session = sessionFor(services, logger, authenticator.authenticate(token), signal);
  const lastEventId = initial.request?.headers.get('last-event-id') ?? undefined;
  return lastEventId === undefined ? session : { ...session, lastEventId };
}
