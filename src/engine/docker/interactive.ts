import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { AppError, conflict, fromEngineError } from '../../errors.js';
import { markerEnv } from '../exec-marker.js';
import type { InteractiveProcess, ProcessEnd, ProcessHandlers, ProcessSpec, TerminalSize } from '../port.js';
import type { StreamName } from '../streams.js';
import { callEngine } from './call.js';
import { endedExec, killMarked } from './exec.js';
import { frameReader } from './frames.js';

/** Input the process has not read yet; beyond this, writes are refused instead of buffered. */
const MAX_PENDING_INPUT = 1024 * 1024;
/** How long the engine may take to say how a process whose output ended is doing. */
const END_CHECK_TIMEOUT_MS = 10_000;

/**
 * A process started in a container whose output streams while it runs. Output is read as fast
 * as it arrives (subscribers bound their own queues) and decoded per stream, so multi-byte
 * characters survive chunk boundaries. Every process carries the exec marker, so `kill` ends
 * its whole tree through `killMarked`, and so does the reaper for a process whose connection
 * broke with the engine's.
 */
export class DockerProcess implements InteractiveProcess {
  readonly startedAt = new Date();
  /** Resolves once the output has ended: with the exit code (null when the engine cannot tell), or the loss. */
  readonly exited: Promise<ProcessEnd>;
  private ended = false;

  private constructor(
    private readonly docker: Docker,
    private readonly containerId: string,
    private readonly exec: Docker.Exec,
    private readonly stream: Duplex,
    private readonly marker: string,
    private readonly spec: ProcessSpec,
    private readonly handlers: ProcessHandlers,
  ) {
    const read = frameReader(spec.tty);
    const decoders: Record<StreamName, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    this.exited = new Promise((resolve) => {
      const finish = () => {
        if (this.ended) return;
        this.ended = true;
        for (const stream of ['stdout', 'stderr'] as const) {
          const text = decoders[stream].end();
          if (text) handlers.output({ stream, data: Buffer.alloc(0), text });
        }
        resolve(this.howItEnded());
      };
      stream.on('data', (chunk: Buffer) => {
        for (const frame of read(chunk)) handlers.output({ ...frame, text: decoders[frame.stream].write(frame.data) });
      });
      stream.on('end', finish);
      stream.on('close', finish);
      // A reset connection ends the output too; howItEnded tells a loss from an exit.
      stream.on('error', finish);
    });
  }

  /**
   * Asks the engine whether the process exited. An engine that cannot be reached, or that says
   * the process still runs, means the connection broke while it ran: it is handed on as lost, to
   * be killed once the engine is back, as nobody can reach it through this server any more.
   */
  private async howItEnded(): Promise<ProcessEnd> {
    try {
      const ended = await endedExec(this.exec, AbortSignal.timeout(END_CHECK_TIMEOUT_MS));
      if (!ended.running) return { kind: 'exited', exitCode: ended.exitCode };
    } catch (error) {
      // The exec went with its container, and the process with it.
      if (fromEngineError(error).code === 'NOT_FOUND') return { kind: 'exited', exitCode: null };
    }
    this.handlers.lost({ containerId: this.containerId, marker: this.marker, user: this.spec.user });
    return {
      kind: 'lost',
      error: new AppError('ENGINE_UNAVAILABLE', 'The connection to the container engine was lost while the process ran; it is killed once the engine is back'),
    };
  }

  /** Creates and starts the exec; `handlers.output` receives every chunk until the process exits. */
  static async start(docker: Docker, containerId: string, spec: ProcessSpec, handlers: ProcessHandlers, signal?: AbortSignal): Promise<DockerProcess> {
    const marker = randomUUID();
    const exec = await callEngine(() =>
      docker.getContainer(containerId).exec({
        Cmd: spec.argv,
        User: spec.user,
        WorkingDir: spec.workdir,
        Env: [...(spec.env ?? []), markerEnv(marker)],
        AttachStdin: spec.stdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: spec.tty,
        abortSignal: signal,
      }),
    );
    const stream = (await callEngine(() =>
      exec.start({ hijack: spec.stdin, stdin: spec.stdin, Tty: spec.tty, abortSignal: signal }),
    )) as unknown as Duplex;
    const started = new DockerProcess(docker, containerId, exec, stream, marker, spec, handlers);
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
    // callEngine treats Podman's 201 answer as the success it is.
    await callEngine(() => this.exec.resize({ h: rows, w: cols }));
  }

  /**
   * Docker cannot resize a process that failed to start (an unknown user, say): it has already
   * exited, and its output and exit code say why, so that is no failure of the start.
   */
  private async initialResize(size: TerminalSize): Promise<void> {
    try {
      await this.resize(size);
    } catch (error) {
      const info = await callEngine(() => this.exec.inspect());
      if (info.Running) throw error;
    }
  }

  /** Kills the process and everything it started, then drops the connection. Idempotent. */
  async kill(): Promise<void> {
    if (this.ended) return;
    await killMarked(this.docker, this.containerId, this.marker, this.spec.user);
    this.stream.destroy();
  }
}
