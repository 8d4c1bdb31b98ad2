import type { IncomingMessage, Server } from 'node:http';
import type { ExecutionArgs, GraphQLError, GraphQLFormattedError } from 'graphql';
import { CloseCode, MessageType, type Context as ConnectionContext, type OperationResult } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { connectionToken, type Authenticator } from '../auth/authenticator.js';
import { AppError } from '../errors.js';
import type { GraphQLHandler } from './graphql.js';
import type { Metrics } from './metrics.js';
import { provenanceRefusal, type ProvenanceSettings } from './origin.js';
import { graphqlErrorBody } from './refusal.js';

/**
 * Every client is pinged this often and cut off if it has not answered by the next ping, so a
 * peer that vanished without closing frees its subscriptions and upstream streams.
 */
const KEEPALIVE_MS = 15_000;
/** Longer client messages cannot be a graphql-ws `complete` (an id and a type), so are not parsed for one. */
const MAX_COMPLETE_MESSAGE = 1024;

/** extensions.http carries an HTTP status for yoga; a WebSocket message has none, so it goes. */
function withoutHttpStatus(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
  return errors.map((error) => {
    const { http: _http, ...extensions } = error.extensions ?? {};
    return { ...error.toJSON(), extensions };
  });
}

export interface WebSocketOptions {
  authenticator: Authenticator;
  /** Browser origins besides the server's own (CORS_ORIGINS) and host names (ALLOWED_HOSTS) upgrades may come with. */
  provenance: ProvenanceSettings;
  /** Largest message a client may send over the socket. */
  maxPayloadBytes: number;
  /** Most operations running at once on one connection. */
  maxSubscriptionsPerConnection: number;
  /** Turns any failure into the error a client may see (the same masking as HTTP). */
  maskError: (error: unknown) => Error;
  logger: Logger;
  metrics: Pick<Metrics, 'errorAnswered'>;
}

/**
 * graphql-ws on the same path as HTTP GraphQL, running every operation through yoga's plugins.
 * The token in connectionParams is checked when the connection opens, and again (through the
 * context) for every operation.
 */
export function attachWebSocket(server: Server, yoga: GraphQLHandler, options: WebSocketOptions) {
  const wsServer = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: options.maxPayloadBytes,
    verifyClient: ({ req }: { req: IncomingMessage }, done: (allowed: boolean, status?: number, message?: string, headers?: Record<string, string>) => void) => {
      const refusal = provenanceRefusal(req, options.provenance);
      if (!refusal) return done(true);
      options.metrics.errorAnswered(refusal.code);
      done(false, refusal.status, graphqlErrorBody(refusal), { 'Content-Type': 'application/json' });
    },
  });
  type Envelope = { execute: (a: ExecutionArgs) => OperationResult; subscribe: (a: ExecutionArgs) => OperationResult };
  /**
   * Each running operation's cancel signal, by socket and operation id: it aborts when the client
   * completes the operation before its result, or the socket closes (graphql-ws itself only ends
   * subscriptions then; a mutation would run on).
   */
  const cancels = new WeakMap<WebSocket, Map<string, AbortController>>();
  const settled = (socket: WebSocket, id: string) => cancels.get(socket)?.delete(id);
  /** Acknowledged connections, whose operations shutdown waits to see answered. */
  const connections = new Set<ConnectionContext>();
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as Envelope).execute(args),
      subscribe: (args) => (args.rootValue as Envelope).subscribe(args),
      onConnect: (ctx) => {
        try {
          options.authenticator.authenticate(connectionToken(ctx.connectionParams));
          connections.add(ctx);
          return true;
        } catch (error) {
          ctx.extra.socket.close(CloseCode.Unauthorized, (error as Error).message);
          return false;
        }
      },
      onClose: (ctx) => void connections.delete(ctx),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: withoutHttpStatus(result.errors) } : undefined),
      onError: (ctx, id, _payload, errors) => {
        settled(ctx.extra.socket, id);
        return withoutHttpStatus(errors);
      },
      onComplete: (ctx, id) => void settled(ctx.extra.socket, id),
      onSubscribe: async (ctx, id, payload) => {
        try {
          // graphql-ws lists this operation already, among those still running on the connection.
          if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
            throw new AppError('RATE_LIMITED', `At most ${options.maxSubscriptionsPerConnection} operations may run at once on one connection`);
          }
          const cancel = new AbortController();
          cancels.get(ctx.extra.socket)?.set(id, cancel);
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            ...ctx,
            req: ctx.extra.request,
            socket: ctx.extra.socket,
            params: payload,
            signal: cancel.signal,
          });
          const args: ExecutionArgs = {
            schema,
            operationName: payload.operationName,
            document: parse(payload.query),
            variableValues: payload.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe },
          };
          const errors = validate(args.schema, args.document);
          if (errors.length) return errors;
          return args;
        } catch (error) {
          // Parse errors, query limits and authentication failures, answered like on HTTP.
          return [options.maskError(error) as GraphQLError];
        }
      },
    },
    wsServer,
    KEEPALIVE_MS,
  );
  // The ws server re-emits the HTTP server's errors (e.g. EADDRINUSE), which start() reports;
  // graphql-ws's listener would print them with a stack on stderr first.
  wsServer.removeAllListeners('error');
  wsServer.on('error', () => undefined);
  // A socket error (a message over maxPayload, a broken frame, a reset) has already made ws close
  // the socket with its own code (1009, 1002, ...); graphql-ws's listener would only add an
  // unstructured line on stderr calling it an implementation error. This one logs it, once.
  wsServer.on('connection', (socket) => {
    const running = new Map<string, AbortController>();
    cancels.set(socket, running);
    socket.on('message', (data: Buffer) => {
      if (data.length > MAX_COMPLETE_MESSAGE) return;
      try {
        const message = JSON.parse(data.toString()) as { type?: unknown; id?: unknown };
        if (message.type === MessageType.Complete && typeof message.id === 'string') running.get(message.id)?.abort();
      } catch {
        // Not JSON: graphql-ws answers it.
      }
    });
    socket.once('close', () => {
      for (const cancel of running.values()) cancel.abort();
      running.clear();
    });
    socket.removeAllListeners('error');
    socket.on('error', (error: Error & { code?: string }) => {
      const tooLarge = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      if (tooLarge) options.metrics.errorAnswered('PAYLOAD_TOO_LARGE');
      options.logger.warn({ code: error.code }, `WebSocket closed: ${tooLarge ? `a message over MAX_WS_PAYLOAD_BYTES (${options.maxPayloadBytes})` : error.message}`);
    });
  });
  return {
    wsServer,
    /** Operations whose last message has not been sent yet, on every connection. */
    get pendingOperations(): number {
      let count = 0;
      for (const ctx of connections) count += Object.keys(ctx.subscriptions).length;
      return count;
    },
    async close() {
      for (const client of wsServer.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
    },
  };
}
