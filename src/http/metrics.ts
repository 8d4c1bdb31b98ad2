import type { IncomingMessage, ServerResponse } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import type { Services } from '../core/services.js';

/** Open client connections: all TCP connections, and those of them upgraded to WebSocket. */
export type ConnectionCounts = () => { tcp: number; ws: number };

/**
 * Prometheus metrics at GET /metrics: live-stream fan-out (upstream engine streams and their
 * subscribers per kind), open connections and engine operations in flight. Values are read at
 * scrape time, so nothing runs between scrapes.
 */
export function createMetricsHandler(services: Services, connections: ConnectionCounts) {
  const registry = new Registry();
  new Gauge({
    name: 'podgraph_upstream_streams',
    help: 'Engine streams open for live subscriptions (one per container and kind; one for all events).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const count of services.live.counts()) this.set({ kind: count.kind }, count.upstreams);
    },
  });
  new Gauge({
    name: 'podgraph_stream_subscribers',
    help: 'Live subscriptions attached to those upstream streams.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const count of services.live.counts()) this.set({ kind: count.kind }, count.subscribers);
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
    name: 'podgraph_engine_operations',
    help: 'Engine operations running or waiting for a worker slot.',
    registers: [registry],
    collect() {
      this.set(services.pool.active);
    },
  });

  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
