import { randomUUID } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { getOperationAST, GraphQLError, Kind, NoSchemaIntrospectionCustomRule, type ExecutionArgs, type GraphQLErrorOptions, type OperationDefinitionNode } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import { ANONYMOUS } from '../auth/tokens.js';
import type { Config, QueryLimits } from '../config.js';
import type { Services } from '../core/services.js';
import { AppError, badInput, codeOfStatus, ERROR_CODES, fromEngineError, type ErrorCode } from '../errors.js';
import { createContext, type Context } from '../schema/context.js';
import { schema } from '../schema/index.js';
import { createGraphiQLRenderer, GRAPHIQL_OPTIONS } from './graphiql.js';
import { useGraphQLOverSSE } from './graphql-sse.js';
import type { Metrics, QueryLimit } from './metrics.js';
import { operationCost } from './query-cost.js';
import { useSharedBatchResults } from './shared-results.js';
import { useResumableEventStreams } from './sse.js';
import { graphqlErrorBody } from './refusal.js';

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
    return new GraphQLError(appError.message, { ...location, extensions: { code: appError.code, ...details, ...requestStatus(appError) } });
  };
}

/** Codes that refuse the whole request also set its HTTP status (yoga reads extensions.http). */
const REQUEST_LEVEL_CODES: ReadonlySet<ErrorCode> = new Set(['UNAUTHENTICATED', 'RATE_LIMITED']);

function requestStatus(error: AppError): { http?: { status: number; headers: Record<string, string> } } {
  if (!REQUEST_LEVEL_CODES.has(error.code)) return {};
  const retryAfter = error.details?.retryAfterSeconds;
  const headers: Record<string, string> = retryAfter ? { 'retry-after': String(retryAfter) } : {};
  return { http: { status: error.status, headers } };
}

/**
 * maskError that counts each error as it leaves, on every transport. An error it has masked
 * already (a plugin may mask before yoga does) passes through unchanged and uncounted.
 */
export function createErrorMask(logger: Logger, metrics: Pick<Metrics, 'errorAnswered'>) {
  const mask = maskError(logger);
  const masked = new WeakSet<object>();
  return (error: unknown): Error => {
    if (error instanceof GraphQLError && masked.has(error)) return error;
    const result = mask(error) as GraphQLError;
    masked.add(result);
    metrics.errorAnswered(result.extensions.code as ErrorCode);
    return result;
  };
}

/**
 * A code from the table: the error's own if it has one, else the one of the HTTP status yoga gave
 * it (405 is METHOD_NOT_ALLOWED), else BAD_USER_INPUT.
 */
function withKnownCode(error: GraphQLError, location: Partial<GraphQLErrorOptions> = error): GraphQLError {
  const extensions = error.extensions ?? {};
  const code = extensions.code;
  const status = (extensions.http as { status?: number } | undefined)?.status;
  const known = typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : undefined;
  return new GraphQLError(error.message, {
    nodes: location.nodes,
    source: location.source,
    positions: location.positions,
    path: location.path,
    extensions: { ...extensions, code: known ?? (status && codeOfStatus(status)) ?? 'BAD_USER_INPUT' },
  });
}

/**
 * Validation errors never reach maskError; give them the table's code here, on every transport,
 * and count them (this runs on cached validation results too).
 */
const useValidationErrorCodes = (metrics: Metrics): Plugin => ({
  onValidate: () => ({ result, setResult }) => {
    if (!result.length) return;
    const coded = result.map((e) => withKnownCode(e));
    for (const error of coded) metrics.errorAnswered(error.extensions.code as ErrorCode);
    setResult(coded);
  },
});

/** GraphQL's own validation rule, for deployments that hide the schema. */
const useNoIntrospection = (): Plugin => ({
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
});

/**
 * graphql-armor: bounds on depth (introspection included, fragments counted by the fields they
 * hold), aliases, directives and tokens, before anything executes. A refusal names its limit
 * (extensions.limit) and is counted; it is thrown, not cached, so a repeated query is refused and
 * counted again. maskError counts it among the errors. Field
 * suggestions in validation errors are hidden when introspection is off.
 */
const useQueryLimits = (limits: QueryLimits, introspection: boolean, metrics: Metrics): Plugin => {
  const naming = (limit: QueryLimit) => ({
    onReject: [
      (_context: unknown, error: GraphQLError) => {
        Object.assign(error.extensions, { limit });
        metrics.queryLimitRejected(limit);
      },
    ],
  });
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: false, flattenFragments: true, ...naming('max_depth') },
    maxAliases: { n: limits.maxAliases, ...naming('max_aliases') },
    maxDirectives: { n: limits.maxDirectives, ...naming('max_directives') },
    maxTokens: { n: limits.maxTokens, ...naming('max_tokens') },
    // The cost is bounded by useQueryCost, which reads the sizes lists are asked for.
    costLimit: { enabled: false },
    // "Did you mean" names fields the schema has: hidden only where the schema is.
    blockFieldSuggestion: { enabled: !introspection },
  }) as Plugin;
};

/**
 * Refuses an operation whose cost (operationCost: objects it may return, list sizes included)
 * is over MAX_QUERY_COST, before it executes, on every transport; named and counted like the
 * other query limits.
 */
const useQueryCost = (maxCost: number, metrics: Metrics, mask: (error: unknown) => Error): Plugin => {
  const check = ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: { errors: Error[] }) => void }) => {
    const operation = getOperationAST(args.document, args.operationName);
    if (!operation) return;
    const cost = operationCost(args.schema, args.document, operation, (args.variableValues ?? {}) as Record<string, unknown>);
    if (cost <= maxCost) return;
    metrics.queryLimitRejected('max_cost');
    const error = badInput(`Query cost ${cost} is over the limit of ${maxCost} (MAX_QUERY_COST); ask lists for fewer items`, { limit: 'max_cost' });
    setResultAndStopExecution({ errors: [mask(error)] });
  };
  return { onExecute: check, onSubscribe: check };
};

/**
 * Subscriptions a viewer may start only read (logs, events, stats, watching a terminal). A
 * dashboard opens many of them at once and again on every reconnect, so they take from their own
 * bucket; the viewer role is what makes a subscription read-only.
 */
const WATCH_SUBSCRIPTIONS: ReadonlySet<string> = new Set(
  Object.values(schema.getSubscriptionType()?.getFields() ?? {})
    .filter((field) => (field.extensions.pothosOptions as { authScopes?: { viewer?: boolean } }).authScopes?.viewer)
    .map((field) => field.name),
);

const isWatch = (operation: OperationDefinitionNode | null | undefined) =>
  !!operation?.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && WATCH_SUBSCRIPTIONS.has(selection.name.value));

/**
 * Mutations and subscription starts take from the token's bucket, read-only subscriptions from
 * its watch bucket. With authentication off (loopback development) there is no token to count against.
 */
const useRateLimit = (limiters: Pick<GraphQLSecurity, 'rateLimiter' | 'watchRateLimiter'>, mask: (error: unknown) => Error): Plugin<Context> => {
  /** Whether the operation may run; if not, it ends with RATE_LIMITED. */
  const take = (limiter: RateLimiter, ctx: Context, stop: (result: { errors: Error[] }) => void): boolean => {
    if (ctx.principal === ANONYMOUS) return true;
    try {
      limiter.take(ctx.principal.tokenId);
      return true;
    } catch (error) {
      stop({ errors: [mask(error)] });
      return false;
    }
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation' || take(limiters.rateLimiter, args.contextValue, setResultAndStopExecution)) return;
      // Refused before any resolver ran, so the record wrappers never saw these mutations.
      for (const selection of operation.selectionSet.selections) {
        if (selection.kind === Kind.FIELD) args.contextValue.services.recorder.note(args.contextValue, selection.name.value, null, 'RATE_LIMITED');
      }
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const operation = getOperationAST(args.document, args.operationName);
      take(isWatch(operation) ? limiters.watchRateLimiter : limiters.rateLimiter, args.contextValue, setResultAndStopExecution);
    },
  };
};

/**
 * Bodies over the bound are refused before they are read; so are bodies of unknown length. With
 * a Content-Length, Node's parser delivers no more than it says, so this is the only bound
 * needed: yoga's own (which streams every body through a counting transform) is off.
 */
const useBodyLimit = (maxBytes: number, metrics: Metrics): Plugin => ({
  onRequest: ({ request, fetchAPI, endResponse }) => {
    if (request.method !== 'POST') return;
    const length = Number(request.headers.get('content-length') ?? Number.NaN);
    if (length <= maxBytes) return;
    const error = new AppError(
      'PAYLOAD_TOO_LARGE',
      Number.isNaN(length)
        ? `A request body needs a Content-Length (at most ${maxBytes} bytes)`
        : `The request body is ${length} bytes; the bound is ${maxBytes} (MAX_BODY_BYTES)`,
    );
    metrics.errorAnswered(error.code);
    endResponse(new fetchAPI.Response(graphqlErrorBody(error), { status: error.status, headers: { 'content-type': 'application/json' } }));
  },
});

/** Why yoga refused a request before any GraphQL ran; it answers these with an empty body. */
const EMPTY_REFUSALS: Partial<Record<number, (request: Request) => string>> = {
  404: (request) => `No such path: ${new URL(request.url).pathname}; GraphQL is at /graphql, REST at /api/v1`,
  406: () => 'Accept allows no answer this request can have: a subscription over HTTP needs text/event-stream (or use the WebSocket); a query or mutation, application/json',
  415: (request) => `A GraphQL request body must be application/json, not ${request.headers.get('content-type') ?? 'of no stated type'}`,
};

/** Yoga's empty refusals (404, 406, 415) get the one error body and a code from the table. */
const useCodedRefusals = (metrics: Metrics): Plugin => ({
  onResponse: ({ request, response, setResponse, fetchAPI }) => {
    const describe = EMPTY_REFUSALS[response.status];
    const code = codeOfStatus(response.status);
    if (!describe || !code || response.headers.get('content-type')) return;
    const error = new AppError(code, describe(request));
    metrics.errorAnswered(error.code);
    const headers = new fetchAPI.Headers(response.headers);
    headers.set('content-type', 'application/json; charset=utf-8');
    setResponse(new fetchAPI.Response(graphqlErrorBody(error), { status: response.status, headers }));
  },
});

export interface GraphQLSecurity {
  authenticator: Authenticator;
  /** Mutations and execStream starts. */
  rateLimiter: RateLimiter;
  /** Read-only subscription starts. */
  watchRateLimiter: RateLimiter;
  metrics: Metrics;
  /** From createErrorMask; the WebSocket transport uses the same one. */
  maskError: (error: unknown) => Error;
}

export function createGraphQLHandler(services: Services, logger: Logger, config: Config, security: GraphQLSecurity) {
  const { metrics, maskError: mask } = security;
  return createYoga({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maxRequestBodySize: false,
    graphiql: config.graphiql && GRAPHIQL_OPTIONS,
    renderGraphiQL: createGraphiQLRenderer(),
    // No wildcard: only the configured origins may call from a browser, and never with cookies.
    cors: config.corsOrigins.length > 0 && { origin: config.corsOrigins, credentials: false, allowedHeaders: ['authorization', 'content-type'] },
    context: (initial) => createContext(services, logger, security.authenticator, initial),
    maskedErrors: { maskError: mask },
    plugins: [
      useBodyLimit(config.maxBodyBytes, metrics),
      useCodedRefusals(metrics),
      useGraphQLOverSSE(security),
      useValidationErrorCodes(metrics),
      useQueryLimits(config.queryLimits, config.introspection, metrics),
      useQueryCost(config.queryLimits.maxCost, metrics, mask),
      ...(config.introspection ? [] : [useNoIntrospection()]),
      useRateLimit(security, mask),
      useSharedBatchResults(),
      useResumableEventStreams(),
    ],
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
