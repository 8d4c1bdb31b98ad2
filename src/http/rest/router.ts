import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Services } from '../../core/services.js';
import { AppError, badInput, notFound } from '../../errors.js';
import { errorBody, toRestError } from './errors.js';
import { readJsonObject } from './request.js';
import { ROUTES, type RestResult, type Route } from './routes.js';

/** The original service's base path; everything under it is REST, the rest is GraphQL's. */
export const REST_BASE = '/api/v1';

export const isRestPath = (url: string | undefined): boolean =>
  url !== undefined && (url === REST_BASE || url.startsWith(`${REST_BASE}/`) || url.startsWith(`${REST_BASE}?`));

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
  /** Request bodies over this many bytes are refused with 413. */
  maxBodyBytes: number;
}

/** The `/api/v1` surface over the same services GraphQL uses; every answer is JSON. */
export function createRestHandler(services: Services, logger: Logger, options: RestHandlerOptions) {
  async function dispatch(req: IncomingMessage): Promise<RestResult> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.slice(REST_BASE.length);
    const candidates = ROUTES.map((route) => ({ route, params: matchPath(route.path, path) })).filter(
      (c): c is { route: Route; params: Record<string, string> } => c.params !== null,
    );
    if (!candidates.length) {
      return { status: 404, body: errorBody(notFound(`No such endpoint: ${url.pathname}`), 'RouteNotFoundError') };
    }
    const match = candidates.find((c) => c.route.method === req.method);
    if (!match) {
      const allowed = candidates.map((c) => c.route.method).join(', ');
      const error = new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${allowed}`);
      return { status: error.status, body: errorBody(error), headers: { allow: allowed } };
    }
    return match.route.handle({
      services,
      params: match.params,
      query: url.searchParams,
      body: () => readJsonObject(req, options.maxBodyBytes),
    });
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let result: RestResult;
    try {
      result = await dispatch(req);
    } catch (error) {
      result = toRestError(error, logger);
    }
    const text = JSON.stringify(result.body);
    res.writeHead(result.status ?? 200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...result.headers,
    });
    res.end(text);
  };
}
