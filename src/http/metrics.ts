import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { bearerToken, type Authenticator } from '../auth/authenticator.js';
import type { Services } from '../core/services.js';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { graphqlErrorBody } from './refusal.js';

/** Open client connections: all TCP connections, and those of them upgraded to WebSocket. */
export type ConnectionCounts = () => { tcp: number; ws: number };

/** The query limits (graphql-armor rules) an operation can be refused by. */
export const QUERY_LIMITS = ['max_depth', 'max_aliases', 'max_directives', 'max_tokens', 'max_cost'] as const;
export type QueryLimit = (typeof QUERY_LIMITS)[number];

/**
 * Prometheus metrics at GET /metrics: live-stream fan-out (upstream engine streams and their
 * subscribers per kind), open connections, engine operations in flight, and the errors answered
 * and query limits hit (what the hardening refuses). Gauges are read at scrape time, so nothing
 * runs between scrapes. With authentication on, a scrape needs a token without a scope: the
 * figures are server-wide.
 */
export function createMetrics(services: Services, connections: ConnectionCounts, authenticator: Authenticator) {
  const registry = new Registry();
  const errors = new Counter({
    name: 'podgraph_errors_total',
    help: 'Errors answered to clients, by code from the error table, on every transport.',
    labelNames: ['code'],
    registers: [registry],
  });
  const queryLimits = new Counter({
    name: 'podgraph_query_limit_rejections_total',
    help: 'Operations refused by a query limit before anything ran.',
    labelNames: ['limit'],
    registers: [registry],
  });
  // Every series exists from the start, so rates over them need no first occurrence.
  for (const code of Object.keys(ERROR_CODES)) errors.inc({ code }, 0);
  for (const limit of QUERY_LIMITS) queryLimits.inc({ limit }, 0);
  new Gauge({
    name: 'podgraph_upstream_streams',
    help: 'Engine streams open for live subscriptions (one per container and kind; one for all events).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const count of services.streams.counts()) this.set({ kind: count.kind }, count.upstreams);
    },
  });
  new Gauge({
    name: 'podgraph_stream_subscribers',
    help: 'Live subscriptions attached to those upstream streams.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const count of services.streams.counts()) this.set({ kind: count.kind }, count.subscribers);
    },
  });
  new Gauge({
    name: 'podgraph_open_connections',
    help: 'Open client connections.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      const open = connections();
      this.set({ transport: 'tcp' }, open.tcp);
      this.set({ transport: 'ws' }, open.ws);
    },
  });
  new Gauge({
    name: 'podgraph_interactive_processes',
    help: 'Processes running in containers for execStream subscriptions and terminals.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'exec_stream' }, services.exec.streaming);
      this.set({ kind: 'terminal' }, services.terminals.running);
    },
  });
  new Gauge({
    name: 'podgraph_lost_runs',
    help: 'Processes (execStream runs and terminals) whose connection was lost with the engine and that are not killed yet.',
    registers: [registry],
    collect() {
      this.set(services.reaper.pending);
    },
  });
  new Gauge({
    name: 'podgraph_engine_operations',
    help: 'Engine operations running or waiting for a worker slot.',
    registers: [registry],
    collect() {
      this.set(services.pool.active);
    },
  });

  const errorAnswered = (code: ErrorCode) => errors.inc({ code });

  const refuse = (res: ServerResponse, error: AppError) => {
    errorAnswered(error.code);
    const headers = { 'content-type': 'application/json', ...(error.code === 'UNAUTHENTICATED' && { 'www-authenticate': 'Bearer' }) };
    res.writeHead(error.status, headers).end(graphqlErrorBody(error));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    try {
      const principal = authenticator.authenticate(bearerToken(req.headers.authorization));
      if (principal.scope) throw new AppError('FORBIDDEN', 'Metrics are server-wide: they need a token without a scope');
    } catch (error) {
      return refuse(res, error as AppError);
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  return { errorAnswered, queryLimitRejected: (limit: QueryLimit) => queryLimits.inc({ limit }), handle };
}

export type Metrics = ReturnType<typeof createMetrics>;
