import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createServices, type Services } from './core/services.js';
import { createDockerClient, selectEngine, type EngineAddress } from './engine/docker/connect.js';
import { DockerEngine } from './engine/docker/engine.js';
import { AppError } from './errors.js';
import { Authenticator } from './auth/authenticator.js';
import { RateLimiter } from './auth/rate-limit.js';
import { answerClientError } from './http/client-error.js';
import { isConsolePath, serveConsole } from './http/console.js';
import { createErrorMask, createGraphQLHandler } from './http/graphql.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { provenanceRefusal } from './http/origin.js';
import { refusalBody } from './http/refusal.js';
import { createRecordingHandler, RECORDING_PATH } from './http/recordings.js';
import { isRestPath } from './http/rest/paths.js';
import { createRestHandler } from './http/rest/router.js';
import { attachWebSocket } from './http/ws.js';

/**
 * Of SHUTDOWN_TIMEOUT, the last part (at most half) is kept for stopping what still runs then:
 * killing its processes and answering its clients before the sockets close.
 */
const STOP_RESERVE_MS = 2000;
/** How often shutdown looks whether every answer has gone out: graphql-ws has no event for that. */
const ANSWERS_POLL_MS = 10;

export interface App {
  services: Services;
  engineAddress: EngineAddress;
  /** Binds and listens; resolves with the base URL (e.g. http://127.0.0.1:4000). */
  start(): Promise<string>;
  /**
   * Within SHUTDOWN_TIMEOUT: refuses new work and ends every stream with its end event; stops
   * the operations still running (their processes killed, their clients told SHUTTING_DOWN);
   * closes every socket once the answers have gone out.
   */
  stop(): Promise<void>;
}

/** Builds the whole server: one engine client, the services, GraphQL over HTTP and WebSocket. */
export function createApp(config: Config, logger: Logger): App {
  const engineAddress = selectEngine(config.engineHost);
  const engine = new DockerEngine(createDockerClient(engineAddress));
  // The index's event stream and its calls, one at a time (core/container-index.ts).
  const indexEngine = config.containerIndex ? new DockerEngine(createDockerClient(engineAddress, { keptConnections: 2 })) : undefined;
  const services = createServices(engine, config, engineAddress.url.startsWith('unix:'), logger, indexEngine);
  const authenticator = new Authenticator(config.tokens, services.labs.tokens);
  const rateLimiter = new RateLimiter(config.rateLimit.burst, config.rateLimit.perSecond);
  const watchRateLimiter = new RateLimiter(config.watchRateLimit.burst, config.watchRateLimit.perSecond);
  const metrics = createMetrics(services, () => ({ tcp: sockets.size, ws: ws.wsServer.clients.size }), authenticator);
  const mask = createErrorMask(logger, metrics);
  const yoga = createGraphQLHandler(services, logger, config, { authenticator, rateLimiter, watchRateLimiter, metrics, maskError: mask });
  const recordings = createRecordingHandler(services, logger, authenticator, mask);
  const rest = createRestHandler(services, logger, { authenticator, rateLimiter, metrics, maxBodyBytes: config.maxBodyBytes, corsOrigins: config.corsOrigins });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const refusal = provenanceRefusal(req, config);
    if (refusal) return refuse(req, res, refusal, metrics);
    if (req.url === '/metrics') void metrics.handle(req, res);
    else if (RECORDING_PATH.test(req.url ?? '')) void recordings(req, res);
    else if (isRestPath(req.url)) void rest(req, res);
    else if (isConsolePath(req.url)) void serveConsole(req, res, metrics);
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
  // Node answers what its parser refuses (a 70 KB URL: 431) with no body; ours carries a code.
  server.on('clientError', (error, socket) => answerClientError(error, socket, metrics));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let requestsInFlight = 0;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    requestsInFlight++;
    res.once('close', () => requestsInFlight--);
  });

  return {
    services,
    engineAddress,
    start: async () => {
      await services.database.open();
      services.retention.start();
      await services.labs.start();
      return new Promise((resolve, reject) => {
        services.containerIndex?.start();
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const { port } = server.address() as AddressInfo;
          const host = config.host.includes(':') ? `[${config.host}]` : config.host;
          resolve(`http://${host}:${port}`);
        });
      });
    },
    stop: async () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const stopAt = deadline - Math.min(STOP_RESERVE_MS, config.shutdownTimeoutMs / 2);
      const until = (time: number) => sleep(Math.max(0, time - Date.now()), undefined, { ref: false });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));

      // (a) No new work; every stream ends with its end event, its processes killed. Operations
      // in flight may finish meanwhile, up to the reserve.
      services.pool.refuseNew();
      services.streams.close();
      const labsStopped = services.labs.stop();
      const streamsEnded = Promise.all([services.terminals.closeAll(), services.exec.closeStreams()]);
      await Promise.race([Promise.all([streamsEnded, services.pool.drain(stopAt - Date.now())]), until(stopAt)]);

      // (b) What still runs is stopped: its callers get SHUTTING_DOWN, its processes are killed.
      if (services.pool.active > 0) {
        logger.warn({ active: services.pool.active }, 'shutdown: stopping operations still running');
        services.pool.stopAll();
      }
      const answered = async () => {
        while ((requestsInFlight > 0 || ws.pendingOperations > 0) && Date.now() < deadline) await sleep(ANSWERS_POLL_MS);
      };
      await Promise.race([Promise.all([streamsEnded, services.pool.drain(deadline - Date.now()), answered()]), until(deadline)]);

      // (c) Every answer has gone out (or the bound is up): the sockets close.
      services.containerIndex?.close();
      const wsClosed = ws.close();
      server.closeIdleConnections();
      await Promise.race([wsClosed, until(deadline)]);
      for (const socket of sockets) socket.destroy();
      await Promise.all([wsClosed, closed]);
      await labsStopped;
      await services.retention.stop();
      await services.database.close();
    },
  };
}

/** Answers a refusal made before any handler runs, in the body its surface uses. */
function refuse(req: IncomingMessage, res: ServerResponse, error: AppError, metrics: Metrics): void {
  metrics.errorAnswered(error.code);
  res.writeHead(error.status, { 'content-type': 'application/json' }).end(refusalBody(req.url, error));
}
