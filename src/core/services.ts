import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { WorkerPool } from '../engine/pool.js';
import type { ContainerEngine } from '../engine/port.js';
import { OrphanReaper } from '../engine/reaper.js';
import { LiveHubs } from '../streams/hub.js';
import { ActivityStore } from '../store/activity.js';
import { HistoryDatabase } from '../store/database.js';
import { ExecutionStore } from '../store/executions.js';
import { RecordingStore } from '../store/recordings.js';
import { LabStore } from '../store/labs.js';
import { HistoryRetention } from '../store/retention.js';
import { Recorder } from './activity.js';
import { ContainerIndex } from './container-index.js';
import { RecordingService } from './recordings.js';
import { ContainerService } from './containers.js';
import { EventService } from './events.js';
import { ExecService } from './exec.js';
import { FileService } from './files.js';
import { LabService } from './labs/service.js';
import { StudentTokens } from './labs/tokens.js';
import { LogService } from './logs/service.js';
import { ContainerPolicy } from './policy.js';
import { StatsService } from './stats.js';
import { SystemService } from './system.js';
import { TerminalService } from './terminals.js';
import { UserService } from './users.js';

/** How long a live upstream stays open after its last subscriber, so quick reconnects reuse it. */
const UPSTREAM_LINGER_MS = 250;

export type Services = ReturnType<typeof createServices>;

/**
 * Wires every service over one engine client and one worker pool; GraphQL and REST share them.
 * `engineIsLocal`: the engine listens on a unix socket, so its files are on this host.
 * `indexEngine`: the container index's own client; without it there is no index.
 */
export function createServices(engine: ContainerEngine, config: Config, engineIsLocal: boolean, logger: Logger, indexEngine?: ContainerEngine) {
  const pool = new WorkerPool({
    readSlots: config.maxReadWorkers,
    writeSlots: config.maxWorkers,
    defaultTimeoutMs: config.requestTimeoutMs,
    maxQueueWaitMs: config.maxQueueWaitMs,
  });
  const reaper = new OrphanReaper(engine);
  const containerIndex = indexEngine && new ContainerIndex(indexEngine, config.requestTimeoutMs);
  const database = new HistoryDatabase(config.store);
  const executionStore = new ExecutionStore(database);
  const activityStore = new ActivityStore(database);
  const recordingStore = new RecordingStore(database);
  const recorder = new Recorder(logger, database, activityStore, executionStore);
  const containers = new ContainerService(engine, pool, new ContainerPolicy(config.policy), recorder, containerIndex);
  const files = new FileService(engine, pool, containers, recorder, config.maxFileBytes);
  const streamLimits = { queueBytes: config.streamQueueBytes, lingerMs: UPSTREAM_LINGER_MS };
  const events = new EventService(engine, streamLimits);
  const stats = new StatsService(engine, streamLimits);
  const logs = new LogService(engine, pool, events, containers, {
    ...streamLimits,
    maxLogTail: config.maxLogTail,
    readLogFiles: config.readLogFiles && engineIsLocal,
  });
  const exec = new ExecService(engine, reaper, pool, containers, executionStore, recorder, config.maxOutputBytes);
  const users = new UserService(engine, pool, containers, files, recorder);
  const terminals = new TerminalService(engine, reaper, pool, containers, {
    maxTerminals: config.maxTerminals,
    maxPerOwner: config.maxTerminalsPerToken,
    idleTimeoutMs: config.terminalIdleTimeoutMs,
  }, recorder, config.recordTerminals ? recordingStore : null);
  const labs = new LabService(new LabStore(database), new StudentTokens(), { containers, users, files, exec, stats, terminals }, recorder, {
    maxStudents: config.labs.maxStudents,
    maxStudentsTotal: config.labs.maxStudentsTotal,
    concurrency: config.maxWorkers,
    gracePeriodMs: config.labs.gracePeriodMs,
  }, logger);
  return {
    database,
    recorder,
    retention: new HistoryRetention(executionStore, activityStore, recordingStore, config.history, logger),
    recordings: new RecordingService(recordingStore),
    pool,
    reaper,
    containerIndex,
    logs,
    events,
    stats,
    streams: new LiveHubs([logs.hub, events.hub, stats.hub]),
    containers,
    files,
    exec,
    users,
    labs,
    system: new SystemService(engine, pool, config.requestTimeoutMs, database),
    terminals,
  };
}
