import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { wasRecorded } from '../../core/activity.js';
import { bearerToken, type Authenticator } from '../../auth/authenticator.js';
import type { RateLimiter } from '../../auth/rate-limit.js';
import { ANONYMOUS, hasRole } from '../../auth/tokens.js';
import type { Services } from '../../core/services.js';
import { AppError, badInput, forbidden, fromEngineError, notFound } from '../../errors.js';
import { sessionFor } from '../../core/session.js';
import type { Metrics } from '../metrics.js';
import { errorBody, toRestError } from './errors.js';
import { REST_BASE } from './paths.js';
import { readJsonObject } from './request.js';
import { ROUTES, type RestResult, type Route } from './routes.js';


function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badInput(`Malformed percent-encoding in the path: ${segment}`);
  }
}

/** Path parameters when `path` fits the route's pattern, else null. */
function matchPath(pattern: string, path: string): Record<string, string> | null {
  const expected = pattern.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of expected.entries()) {
    const segment = actual[i];
    if (part.startsWith('{')) {
      if (!segment) return null;
      params[part.slice(1, -1)] = decodeSegment(segment);
    } else if (part !== segment) {
      return null;
    }
  }
  return params;
}

export interface RestHandlerOptions {
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  metrics: Pick<Metrics, 'errorAnswered'>;
  /** Request bodies over this many bytes are refused with 413. */
  maxBodyBytes: number;
  /** Browser origins allowed to call (CORS_ORIGINS, as for GraphQL); none by default, never with cookies. */
  corsOrigins: string[];
}

/**
 * The `/api/v1` surface over the same services GraphQL uses; every answer is JSON. The same
 * tokens, roles, scopes, rate limit and audit log apply as on GraphQL: reading needs the viewer
 * role; anything else acts, needs the operator role, takes from the token's bucket and is audited.
 */
export function createRestHandler(services: Services, logger: Logger, options: RestHandlerOptions) {
  const allowedOrigin = (req: IncomingMessage) => {
    const origin = req.headers.origin;
    return origin !== undefined && options.corsOrigins.includes(origin) ? origin : undefined;
  };

  async function dispatch(req: IncomingMessage, cancel: AbortSignal): Promise<RestResult> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.slice(REST_BASE.length);
    const candidates = ROUTES.map((route) => ({ route, params: matchPath(route.path, path) })).filter(
      (c): c is { route: Route; params: Record<string, string> } => c.params !== null,
    );
    if (!candidates.length) {
      return { status: 404, code: 'NOT_FOUND', body: errorBody(notFound(`No such endpoint: ${url.pathname}`), 'RouteNotFoundError') };
    }
    const match = candidates.find((c) => c.route.method === req.method);
    if (!match) {
      const allowed = candidates.map((c) => c.route.method).join(', ');
      if (req.method === 'OPTIONS' && allowedOrigin(req)) {
        const preflight = { 'access-control-allow-methods': allowed, 'access-control-allow-headers': 'authorization, content-type', 'access-control-max-age': '600' };
        return { status: 204, headers: preflight };
      }
      const error = new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${allowed}`);
      return { status: error.status, code: error.code, body: errorBody(error), headers: { allow: allowed } };
    }

    const { route, params } = match;
    const ctx = sessionFor(services, logger, options.authenticator.authenticate(bearerToken(req.headers.authorization)), cancel);
    let body: Promise<Record<string, unknown>> | undefined;
    const handle = () => {
      const role = route.method === 'GET' ? 'viewer' : 'operator';
      if (!hasRole(ctx.principal, role)) throw forbidden(`The ${ctx.principal.role} role may not use ${route.method} ${REST_BASE}${route.path}`);
      return route.handle({ ctx, params, query: url.searchParams, body: () => (body ??= readJsonObject(req, options.maxBodyBytes)) });
    };
    if (route.method === 'GET') return handle();

    try {
      // With authentication off (loopback development) there is no token to count against.
      if (ctx.principal !== ANONYMOUS) options.rateLimiter.take(ctx.principal.tokenId);
      return await handle();
    } catch (error) {
      // The service records what reached it; a refusal before it (role, rate limit, a body that
      // is not one) is recorded here, through the same recorder.
      if (!wasRecorded(error)) {
        const ref = params.name ?? (await body?.catch(() => undefined))?.name ?? null;
        await services.recorder.record(ctx, route.records, null, fromEngineError(error).code, { ref }).catch(() => undefined);
      }
      throw error;
    }
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // The client went away before its answer: what it started stops.
    const cancel = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) cancel.abort();
    };
    res.once('close', onClose);
    let result: RestResult;
    try {
      result = await dispatch(req, cancel.signal);
    } catch (error) {
      result = toRestError(error, logger);
    } finally {
      res.off('close', onClose);
    }
    if (result.code) options.metrics.errorAnswered(result.code);
    const origin = allowedOrigin(req);
    const cors = origin && { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'allow, retry-after', vary: 'origin' };
    const text = result.body === undefined ? '' : JSON.stringify(result.body);
    res.writeHead(result.status ?? 200, {
      ...(text && { 'content-type': 'application/json; charset=utf-8' }),
      'content-length': Buffer.byteLength(text),
      ...cors,
      ...result.headers,
    });
    res.end(text);
  };
}
