import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { AppError, conflict } from '../errors.js';
import { EXEC_MARKER, type Engine } from './engine.js';
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

/** Input the process has not read yet; beyond this, writes are refused instead of buffered. */
const MAX_PENDING_INPUT = 1024 * 1024;

/**
 * A process started in a container whose output streams while it runs. Output is read as fast
 * as it arrives (subscribers bound their own queues) and decoded per stream, so multi-byte
 * characters survive chunk boundaries. Every process carries the exec marker, so `kill` ends
 * its whole tree through `Engine.killMarked`.
 */
export class EngineProcess {
  readonly startedAt = new Date();
  /** Resolves with the exit code once the output has ended; null when the engine cannot tell. */
  readonly exited: Promise<number | null>;
  private ended = false;

  private constructor(
    private readonly engine: Engine,
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
        resolve(this.engine.endedExec(this.exec).then((ended) => ended.exitCode, () => null));
      };
      stream.on('data', (chunk: Buffer) => {
        for (const frame of read(chunk)) onOutput({ ...frame, text: decoders[frame.stream].write(frame.data) });
      });
      stream.on('end', finish);
      stream.on('close', finish);
      // A reset connection ends the process's output like any other end.
      stream.on('error', finish);
    });
  }

  /** Creates and starts the exec; `onOutput` receives every chunk until the process exits. */
  static async start(
    engine: Engine,
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
    const started = new EngineProcess(engine, containerId, exec, stream, marker, spec, onOutput);
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
