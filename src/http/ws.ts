import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import type { OperationResult } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GraphQLHandler } from './graphql.js';

/** Largest message a client may send over the socket. */
const MAX_WS_PAYLOAD = 1024 * 1024;

/** graphql-ws on the same path as HTTP GraphQL, running every operation through yoga's plugins. */
export function attachWebSocket(server: Server, yoga: GraphQLHandler) {
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: MAX_WS_PAYLOAD });
  // The ws server re-emits the HTTP server's errors (e.g. EADDRINUSE), which start() reports.
  wsServer.on('error', () => undefined);
  type Envelope = { execute: (a: ExecutionArgs) => OperationResult; subscribe: (a: ExecutionArgs) => OperationResult };
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as Envelope).execute(args),
      subscribe: (args) => (args.rootValue as Envelope).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
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
      },
    },
    wsServer,
  );
  return {
    wsServer,
    async close() {
      for (const client of wsServer.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
    },
  };
}
