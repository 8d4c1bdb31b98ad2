import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLErrorOptions } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Services } from '../core/services.js';
import { AppError, ERROR_CODES, fromEngineError } from '../errors.js';
import { createContext } from '../schema/context.js';
import { schema } from '../schema/index.js';

/**
 * Every error leaves with a code from the table. Errors GraphQL itself raises (syntax,
 * validation, variable coercion) are the client's: BAD_USER_INPUT. INTERNAL ones are logged
 * with an id and reach the client only as that id.
 */
export function maskError(logger: Logger) {
  return (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const original = graphqlError ? graphqlError.originalError : error;
    const location = { nodes: graphqlError?.nodes, source: graphqlError?.source, positions: graphqlError?.positions, path: graphqlError?.path };

    // GraphQL's own errors (syntax, validation, variable coercion) and scalar parse errors.
    const clientError = original instanceof GraphQLError ? original : !original ? graphqlError : undefined;
    if (clientError) return withKnownCode(clientError, location);
    const appError = original instanceof AppError ? original : fromEngineError(original);
    if (appError.code === 'INTERNAL') {
      const errorId = randomUUID();
      logger.error({ errorId, err: original, path: graphqlError?.path }, 'internal error');
      return new GraphQLError(`Internal error (id ${errorId})`, { ...location, extensions: { code: 'INTERNAL', errorId } });
    }
    const details = appError.details && !('cause' in appError.details) ? appError.details : {};
    return new GraphQLError(appError.message, { ...location, extensions: { code: appError.code, ...details } });
  };
}

function withKnownCode(error: GraphQLError, location: Partial<GraphQLErrorOptions> = error): GraphQLError {
  const code = error.extensions?.code;
  const known = typeof code === 'string' && code in ERROR_CODES;
  return new GraphQLError(error.message, {
    nodes: location.nodes,
    source: location.source,
    positions: location.positions,
    path: location.path,
    extensions: { ...error.extensions, code: known ? code : 'BAD_USER_INPUT' },
  });
}

/** Validation errors never reach maskError; give them the table's code here, on every transport. */
const useValidationErrorCodes = (): Plugin => ({
  onValidate: () => ({ result, setResult }) => {
    if (result.length) setResult(result.map((e) => withKnownCode(e)));
  },
});

export function createGraphQLHandler(services: Services, logger: Logger) {
  return createYoga({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { subscriptionsProtocol: 'WS', title: 'podgraph' },
    context: () => createContext(services, logger),
    maskedErrors: { maskError: maskError(logger) },
    plugins: [useValidationErrorCodes()],
    logging: {
      debug: (...args) => logger.debug(args.length > 1 ? { args: args.slice(1) } : {}, String(args[0])),
      info: (...args) => logger.info(args.length > 1 ? { args: args.slice(1) } : {}, String(args[0])),
      warn: (...args) => logger.warn(args.length > 1 ? { args: args.slice(1) } : {}, String(args[0])),
      // Client errors are answered, not logged; INTERNAL ones are logged by maskError.
      error: (...args) => logger.debug(args.length > 1 ? { args: args.slice(1) } : {}, String(args[0])),
    },
  });
}

export type GraphQLHandler = ReturnType<typeof createGraphQLHandler>;
