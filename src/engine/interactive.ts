import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { AppError, conflict, fromEngineError } from '../errors.js';
import { EXEC_MARKER, type Engine } from './engine.js';
import type { OrphanReaper } from './reaper.js';
import { frameReader, type Frame, type StreamName } from './streams.js';

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface ProcessSpec {
  argv: string[];
  user?: string;
  workdir?: string;
  env?: string[];
  /** A pseudo-terminal: one raw output stream, typed input, resizable. */
  tty: boolean;
  /** Keeps stdin open for `write` (a hijacked connection). */
  stdin: boolean;
  size?: TerminalSize;
}

export interface ProcessOutput extends Frame {
  /** `data` decoded; a character split across chunks is held back until its last byte arrives. */
  text: string;
}

/** The connection to the engine broke while the process ran; `error` says so to whoever watched it. */
export type ProcessLost = { kind: 'lost'; error: AppError };
/** How a process's output ended: the process exited, or it was lost. */
export type ProcessEnd = { kind: 'exited'; exitCode: number | null } | ProcessLost;

/** Input the process has not read yet; beyond this, writes are refused instead of buffered. */
const MAX_PENDING_INPUT = 1024 * 1024;
/** How long the engine may take to say how a process whose output ended is doing. */
const END_CHECK_TIMEOUT_MS = 10_000;

/**
 * A process started in a container whose output streams while it runs. Output is read as fast
 * as it arrives (subscribers bound their own queues) and decoded per stream, so multi-byte
 * characters survive chunk boundaries. Every process carries the exec marker, so `kill` ends
 * its whole tree through `Engine.killMarked`, and so does the reaper for a process whose
 * connection broke with the engine's.
 */
export class EngineProcess {
  readonly startedAt = new Date();
  /** Resolves once the output has ended: with the exit code (null when the engine cannot tell), or the loss. */
  readonly exited: Promise<ProcessEnd>;
  private ended = false;

  private constructor(
    private readonly engine: Engine,
    private readonly reaper: OrphanReaper,
    private readonly containerId: string,
    private readonly exec: Docker.Exec,
    private readonly stream: Duplex,
    private readonly marker: string,
    private readonly spec: ProcessSpec,
    onOutput: (output: ProcessOutput) => void,
  ) {
    const read = frameReader(spec.tty);
    const decoders: Record<StreamName, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    this.exited = new Promise((resolve) => {
      const finish = () => {
        if (this.ended) return;
        this.ended = true;
        for (const stream of ['stdout', 'stderr'] as const) {
          const text = decoders[stream].end();
          if (text) onOutput({ stream, data: Buffer.alloc(0), text });
        }
        resolve(this.howItEnded());
      };
      stream.on('data', (chunk: Buffer) => {
        for (const frame of read(chunk)) onOutput({ ...frame, text: decoders[frame.stream].write(frame.data) });
      });
      stream.on('end', finish);
      stream.on('close', finish);
      // A reset connection ends the output too; howItEnded tells a loss from an exit.
      stream.on('error', finish);
    });
  }

  /**
   * Asks the engine whether the process exited. An engine that cannot be reached, or that says
   * the process still runs, means the connection broke while it ran: the reaper kills it once the
   * engine is back, as nobody can reach it through this server any more.
   */
  private async howItEnded(): Promise<ProcessEnd> {
    try {
      const ended = await this.engine.endedExec(this.exec, AbortSignal.timeout(END_CHECK_TIMEOUT_MS));
      if (!ended.running) return { kind: 'exited', exitCode: ended.exitCode };
    } catch (error) {
      // The exec went with its container, and the process with it.
      if (fromEngineError(error).code === 'NOT_FOUND') return { kind: 'exited', exitCode: null };
    }
    this.reaper.adopt({ containerId: this.containerId, marker: this.marker, user: this.spec.user });
    return {
      kind: 'lost',
      error: new AppError('ENGINE_UNAVAILABLE', 'The connection to the container engine was lost while the process ran; it is killed once the engine is back'),
    };
  }

  /** Creates and starts the exec; `onOutput` receives every chunk until the process exits. */
  static async start(
    engine: Engine,
    reaper: OrphanReaper,
    containerId: string,
    spec: ProcessSpec,
    onOutput: (output: ProcessOutput) => void,
    signal?: AbortSignal,
  ): Promise<EngineProcess> {
    const marker = randomUUID();
    const exec = await engine.call(() =>
      engine.docker.getContainer(containerId).exec({
        Cmd: spec.argv,
        User: spec.user,
        WorkingDir: spec.workdir,
        Env: [...(spec.env ?? []), `${EXEC_MARKER}=${marker}`],
        AttachStdin: spec.stdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: spec.tty,
        abortSignal: signal,
      }),
    );
    const stream = (await engine.call(() =>
      exec.start({ hijack: spec.stdin, stdin: spec.stdin, Tty: spec.tty, abortSignal: signal }),
    )) as unknown as Duplex;
    const started = new EngineProcess(engine, reaper, containerId, exec, stream, marker, spec, onOutput);
    try {
      if (spec.tty && spec.size) await started.initialResize(spec.size);
      if (signal?.aborted) throw new AppError('TIMEOUT', 'Operation aborted before it finished');
    } catch (error) {
      await started.kill();
      throw error;
    }
    return started;
  }

  get running(): boolean {
    return !this.ended;
  }

  /** Sends input to the process; refused when it has ended or stopped reading. */
  write(data: Buffer): void {
    if (!this.spec.stdin) throw conflict('This process has no input');
    if (this.ended) throw conflict('The process has exited');
    if (this.stream.writableLength + data.length > MAX_PENDING_INPUT) {
      throw conflict('The process is not reading its input; try again later');
    }
    this.stream.write(data);
  }

  async resize({ cols, rows }: TerminalSize): Promise<void> {
    if (!this.spec.tty) throw conflict('Only a terminal can be resized');
    if (this.ended) throw conflict('The process has exited');
    // engine.call treats Podman's 201 answer as the success it is.
    await this.engine.call(() => this.exec.resize({ h: rows, w: cols }));
  }

  /**
   * Docker cannot resize a process that failed to start (an unknown user, say): it has already
   * exited, and its output and exit code say why, so that is no failure of the start.
   */
  private async initialResize(size: TerminalSize): Promise<void> {
    try {
      await this.resize(size);
    } catch (error) {
      const info = await this.engine.call(() => this.exec.inspect());
      if (info.Running) throw error;
    }
  }

  /** Kills the process and everything it started, then drops the connection. Idempotent. */
  async kill(): Promise<void> {
    if (this.ended) return;
    await this.engine.killMarked(this.containerId, this.marker, this.spec.user);
    this.stream.destroy();
  }
}
