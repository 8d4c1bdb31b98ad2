import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { hasProcesses } from '../../engine/container-model.js';
import { followLogFile, readLogFile } from '../../engine/logfile.js';
import type { WorkerPool } from '../../engine/pool.js';
import type { ContainerEngine } from '../../engine/port.js';
import { fromEngineError } from '../../errors.js';
import { CursorClock } from '../../streams/cursor.js';
import type { Upstream, UpstreamHandlers } from '../../streams/upstream.js';
import type { EventService } from '../events.js';
import type { LiveTarget } from '../live-target.js';
import { NANOS_PER_SECOND, toLogLine, type LogEnd, type LogLine } from './lines.js';

/** One container's log, read one way: its history, and its live lines up to a LogEnd. */
export interface LogSource {
  /** The last `tail` lines, or every line since `since`. */
  read(tail: number, since: Date | undefined): Promise<LogLine[]>;
  /** Live lines from the start of the current second on, then a LogEnd saying why the log ended. */
  follow(handlers: UpstreamHandlers<LogLine | LogEnd>): Upstream;
}

/** Events after which a container's log no longer grows. */
const LOG_ENDING_ACTIONS = new Set(['die', 'died', 'destroy', 'remove']);

/**
 * Picks each container's log source: its log file when files are to be read and this one can
 * be (the engine is on this host: see engine/logfile.ts), else the engine's API.
 */
export class LogSources {
  constructor(
    private readonly engine: ContainerEngine,
    private readonly pool: WorkerPool,
    private readonly events: EventService,
    private readonly readLogFiles: boolean,
  ) {}

  async of(target: LiveTarget): Promise<LogSource> {
    const file = this.readLogFiles && target.logPath ? await readableFile(target.logPath) : null;
    return file ? new FileLogSource(target, file, this.engine, this.pool, this.events) : new EngineLogSource(target, this.engine, this.pool);
  }

  /** The target's source followed, at once for a hub: it opens once the source is known. */
  follow(target: LiveTarget, handlers: UpstreamHandlers<LogLine | LogEnd>): Upstream {
    let upstream: Upstream | undefined;
    let closed = false;
    void this.of(target).then((source) => {
      if (!closed) upstream = source.follow(handlers);
    });
    return {
      close() {
        closed = true;
        upstream?.close();
      },
    };
  }
}

async function readableFile(path: string): Promise<string | null> {
  return access(path, constants.R_OK).then(
    () => path,
    () => null,
  );
}

/** The engine's own log file: positions come from its nanosecond times. */
class FileLogSource implements LogSource {
  constructor(
    private readonly target: LiveTarget,
    private readonly file: string,
    private readonly engine: ContainerEngine,
    private readonly pool: WorkerPool,
    private readonly events: EventService,
  ) {}

  async read(tail: number, since: Date | undefined): Promise<LogLine[]> {
    const window = since ? { sinceNanos: BigInt(since.getTime()) * 1_000_000n } : { tail };
    const clock = new CursorClock();
    const lines = (await readLogFile(this.file, { ...window, final: !this.target.running })).map((line) => toLogLine(line, clock));
    return since ? lines : lines.slice(-tail);
  }

  /**
   * Follows the file; the engine's events tell when the container stopped and the file is
   * complete (a file has no end of its own). A stop before the events were joined is caught by
   * one inspect after joining.
   */
  follow(handlers: UpstreamHandlers<LogLine | LogEnd>): Upstream {
    const { target, engine, pool } = this;
    const clock = new CursorClock();
    const follower = followLogFile(this.file, {
      data: (line) => handlers.data(toLogLine(line, clock)),
      end: (error) => {
        leaveEvents();
        endLog(engine, pool, target, error?.message, handlers);
      },
    });
    const leaveEvents = this.events.listen({
      data: (event) => event.id === target.id && LOG_ENDING_ACTIONS.has(event.action) && follower.finish(),
      end: () => follower.finish(),
    });
    if (!target.running) follower.finish();
    else {
      pool.read.run((signal) => engine.inspectContainer(target.id, signal)).then(
        (info) => !hasProcesses(info.state) && follower.finish(),
        () => follower.finish(),
      );
    }
    return {
      close() {
        leaveEvents();
        follower.close();
      },
    };
  }
}

/** The engine's log API, for an engine elsewhere or a file this host cannot read. */
class EngineLogSource implements LogSource {
  constructor(
    private readonly target: LiveTarget,
    private readonly engine: ContainerEngine,
    private readonly pool: WorkerPool,
  ) {}

  /**
   * Positions count lines from the start of a second, as the live stream does, so with
   * second-precision timestamps (Podman) the lines are read again from the start of a second,
   * or the two paths would number the same line differently. That read is also the only one
   * that returns a line the engine logged in pieces whole: Podman 4's tail read leaves such a
   * line only its last piece and appends the earlier ones to the line before it. Hence the one
   * line more than asked for: it began before any piece of the lines asked for, so reading from
   * its second on takes them all in. Docker's (sub-second) tail reads are used as they are.
   */
  async read(tail: number, since: Date | undefined): Promise<LogLine[]> {
    if (since) return this.readLines({ since: Math.floor(since.getTime() / 1000) });
    const recent = await this.readLines({ tail: tail + 1 });
    if (recent.length === 0 || recent.some((line) => line.position.nanos % NANOS_PER_SECOND !== 0n)) return recent.slice(-tail);
    // When the tail took the whole log, from its very start (second 1: a read without a window can
    // number a line logged in pieces otherwise than the live stream does, which then delivers it
    // twice): its first line is one of those asked for, and its earlier pieces may be seconds older.
    const fromSecond = recent.length <= tail ? 1 : Number(recent[0]!.position.nanos / NANOS_PER_SECOND);
    return (await this.readLines({ since: fromSecond })).slice(-tail);
  }

  private async readLines(window: { tail?: number; since?: number }): Promise<LogLine[]> {
    const { target } = this;
    const lines = await this.pool.read.run((signal) => this.engine.readLogs(target.id, target.tty, { ...window, final: !target.running }, signal));
    const clock = new CursorClock();
    return lines.map((line) => toLogLine(line, clock));
  }

  /** Follows from the start of the current second: the joins dedupe what history already gave. */
  follow(handlers: UpstreamHandlers<LogLine | LogEnd>): Upstream {
    const { target, engine, pool } = this;
    const clock = new CursorClock();
    return engine.followLogs(target.id, target.tty, Math.floor(Date.now() / 1000), {
      data: (line) => handlers.data(toLogLine(line, clock)),
      end: (error) => endLog(engine, pool, target, error?.message, handlers),
    });
  }
}

/** Ends a followed log with the LogEnd that says why, then the upstream itself. */
function endLog(engine: ContainerEngine, pool: WorkerPool, target: LiveTarget, failure: string | undefined, handlers: UpstreamHandlers<LogLine | LogEnd>): void {
  void describeEnd(engine, pool, target, failure).then((end) => {
    handlers.data(end);
    handlers.end();
  });
}

/** Why a container's log stream ended: it stopped (with its exit code) or is gone. */
async function describeEnd(engine: ContainerEngine, pool: WorkerPool, target: LiveTarget, failure: string | undefined): Promise<LogEnd> {
  try {
    const info = await pool.read.run((signal) => engine.inspectContainer(target.id, signal));
    if (hasProcesses(info.state) && failure) return { kind: 'end', reason: 'FAILED', exitCode: null, message: failure };
    const exitCode = info.details?.exitCode ?? null;
    return { kind: 'end', reason: 'STOPPED', exitCode, message: `Container ${target.name} stopped (exit code ${exitCode})` };
  } catch (error) {
    const mapped = fromEngineError(error);
    if (mapped.code === 'NOT_FOUND') return { kind: 'end', reason: 'REMOVED', exitCode: null, message: `Container ${target.name} was removed` };
    return { kind: 'end', reason: 'FAILED', exitCode: null, message: failure ?? mapped.message };
  }
}
