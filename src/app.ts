import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createServices, type Services } from './core/services.js';
import { createDockerClient, selectEngine, type EngineAddress } from './engine/connect.js';
import { Engine } from './engine/engine.js';
import { AppError } from './errors.js';
import { Authenticator } from './auth/authenticator.js';
import { RateLimiter } from './auth/rate-limit.js';
import { createErrorMask, createGraphQLHandler, graphqlErrorBody } from './http/graphql.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { provenanceRefusal } from './http/origin.js';
import { errorBody } from './http/rest/errors.js';
import { createRestHandler, isRestPath } from './http/rest/router.js';
import { attachWebSocket } from './http/ws.js';

/** How long shutdown lets terminal watchers and exec stream subscribers receive their last event. */
const STREAM_END_GRACE_MS = 2000;

export interface App {
  services: Services;
  engineAddress: EngineAddress;
  /** Binds and listens; resolves with the base URL (e.g. http://127.0.0.1:4000). */
  start(): Promise<string>;
  /** Stops accepting, lets in-flight operations finish (up to SHUTDOWN_TIMEOUT), closes every socket. */
  stop(): Promise<void>;
}

/** Builds the whole server: one engine client, the services, GraphQL over HTTP and WebSocket. */
export function createApp(config: Config, logger: Logger): App {
  const engineAddress = selectEngine(config.engineHost);
  const engine = new Engine(createDockerClient(engineAddress));
  const services = createServices(engine, config, engineAddress.url.startsWith('unix:'));
  const authenticator = new Authenticator(config.tokens);
  const rateLimiter = new RateLimiter(config.rateLimit.burst, config.rateLimit.perSecond);
  const watchRateLimiter = new RateLimiter(config.watchRateLimit.burst, config.watchRateLimit.perSecond);
  const metrics = createMetrics(services, () => ({ tcp: sockets.size, ws: ws.wsServer.clients.size }), authenticator);
  const mask = createErrorMask(logger, metrics);
  const yoga = createGraphQLHandler(services, logger, config, { authenticator, rateLimiter, watchRateLimiter, metrics, maskError: mask });
  const rest = createRestHandler(services, logger, { authenticator, rateLimiter, metrics, maxBodyBytes: config.maxBodyBytes, corsOrigins: config.corsOrigins });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const refusal = provenanceRefusal(req, config);
    if (refusal) return refuse(req, res, refusal, metrics);
    if (req.url === '/metrics') void metrics.handle(req, res);
    else if (isRestPath(req.url)) void rest(req, res);
    else void yoga.handle(req, res);
  });
  const ws = attachWebSocket(server, yoga, {
    authenticator,
    provenance: config,
    maxPayloadBytes: config.maxWsPayloadBytes,
    maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
    maskError: mask,
    logger,
    metrics,
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  return {
    services,
    engineAddress,
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const { port } = server.address() as AddressInfo;
          const host = config.host.includes(':') ? `[${config.host}]` : config.host;
          resolve(`http://${host}:${port}`);
        });
      }),
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const drained = await services.pool.drain(config.shutdownTimeoutMs);
      if (!drained) logger.warn({ active: services.pool.active }, 'shutdown: operations still running, closing anyway');
      // Before the sockets close, so every watcher still receives the process's end (within a
      // bound: a subscriber that does not read would otherwise hold the shutdown up).
      const streamsEnded = Promise.all([services.terminals.closeAll(), services.exec.closeStreams()]);
      await Promise.race([streamsEnded, sleep(STREAM_END_GRACE_MS, undefined, { ref: false })]);
      services.live.close();
      await ws.close();
      server.closeIdleConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Answers a refusal made before any handler runs, in the body its surface uses. */
function refuse(req: IncomingMessage, res: ServerResponse, error: AppError, metrics: Metrics): void {
  metrics.errorAnswered(error.code);
  const body = isRestPath(req.url) ? JSON.stringify(errorBody(error)) : graphqlErrorBody(error);
  res.writeHead(error.status, { 'content-type': 'application/json' }).end(body);
}
