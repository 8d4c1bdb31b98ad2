import { randomUUID } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { AppError, fromEngineError } from '../errors.js';
import { startFailureOf } from './start-failure.js';
import { frameReader, OutputCollector, type Frame } from './streams.js';

export interface EngineInfo {
  name: string;
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export interface ExecSpec {
  argv: string[];
  user?: string;
  workdir?: string;
  env?: string[];
  stdin?: Buffer;
  maxOutputBytes: number;
  /** Called once the process runs: what the caller does then adds nothing to the exec's time. */
  onStarted?: () => void;
}

export interface ExecOutcome {
  exitCode: number | null;
  /** The container's full ID, from the exec's own inspect; null when it was killed. */
  containerId: string | null;
  stdout: string;
  stderr: string;
  output: string;
  truncated: boolean;
  /** Killed because the signal aborted (its deadline passed, or its client left), not ended on its own. */
  killed: boolean;
  startedAt: Date;
  finishedAt: Date;
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

const FULL_ID_LENGTH = 64;
const CONTAINER_ID_REF = /^[0-9a-f]{12,64}$/;

/**
 * Whether a container reference is read as an ID (full, or a prefix of at least 12 lowercase hex
 * characters) rather than as a name. Names of that form are refused, so neither can pass for the
 * other.
 */
export const isContainerIdRef = (ref: string) => CONTAINER_ID_REF.test(ref);

/**
 * Whether the engine reads a reference as podgraph does: a full ID (which both engines look up
 * before names), or a reference no ID starts with (a character that is not lowercase hex), which
 * can only be an exact name to them.
 */
export const engineReadsRefAlike = (ref: string) => (isContainerIdRef(ref) && ref.length === FULL_ID_LENGTH) || /[^0-9a-f]/.test(ref);

export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
}

/** Marks every process an exec starts, so a stopped exec's whole tree can be found and killed. */
export const EXEC_MARKER = 'PODGRAPH_EXEC_ID';

// Fixed script, never built from client input: the marker value arrives as $1. Every marked
// process is frozen first, so a shell cannot run one more command after its child dies.
const KILL_MARKED_PROCESSES = [
  'pids=',
  'for f in /proc/[0-9]*/environ; do',
  `  if tr '\\000' '\\n' < "$f" 2>/dev/null | grep -qx "${EXEC_MARKER}=$1"; then`,
  '    p=${f#/proc/}; pids="$pids ${p%/environ}"',
  '  fi',
  'done',
  '[ -z "$pids" ] && exit 0',
  'kill -STOP $pids 2>/dev/null',
  'kill -KILL $pids 2>/dev/null',
  'true',
].join('\n');

const SUCCESS_CODES = new Set([200, 201, 204, 304]);

/** dockerode accepts an abortSignal on version and ping, though its types do not say so. */
const withSignal =
  (fn: (...args: never[]) => unknown) =>
  <T>(signal?: AbortSignal): Promise<T> =>
    (fn as unknown as (opts: object) => Promise<T>)({ abortSignal: signal });

/**
 * The single adapter over the engine's Docker-compatible API. Everything the rest of the
 * server knows about dockerode, sockets and stream formats stays in this folder.
 */
export class Engine {
  constructor(readonly docker: Docker) {}

  /** Closes the connections a client with an agent of its own keeps open (the shared one keeps none). */
  close(): void {
    (this.docker.modem as { agent?: { destroy(): void } }).agent?.destroy();
  }

  async info(signal?: AbortSignal): Promise<EngineInfo> {
    try {
      const v = await withSignal(this.docker.version.bind(this.docker))<Docker.DockerVersion>(signal);
      const components = (v as { Components?: { Name: string; Version: string }[] }).Components ?? [];
      const podman = components.find((c) => /podman/i.test(c.Name));
      return {
        name: podman ? 'podman' : 'docker',
        version: podman?.Version ?? v.Version,
        apiVersion: v.ApiVersion,
        os: v.Os,
        arch: v.Arch,
      };
    } catch (error) {
      throw fromEngineError(error);
    }
  }

  async ping(signal?: AbortSignal): Promise<void> {
    try {
      await withSignal(this.docker.ping.bind(this.docker))<unknown>(signal);
    } catch (error) {
      throw fromEngineError(error);
    }
  }

  /**
   * Resolves a reference in the one order that no name can shadow (see isContainerIdRef): an
   * ID-like reference is a full ID or a unique ID prefix and nothing else; any other is an exact
   * name. The engines themselves match names before ID prefixes, so their answer is checked.
   */
  async inspectContainer(ref: string, signal?: AbortSignal): Promise<Docker.ContainerInspectInfo> {
    const missing = () => new AppError('NOT_FOUND', `No such container: ${ref}`);
    const isId = isContainerIdRef(ref);
    // Both engines look a full ID up before any name; a shorter prefix is found by listing.
    const target = isId && ref.length < FULL_ID_LENGTH ? await this.idWithPrefix(ref, signal) : ref;
    if (!target) throw missing();
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(target).inspect({ abortSignal: signal });
    } catch (error) {
      const mapped = fromEngineError(error);
      // A hex name the engine also tried as an ID prefix may fail as ambiguous: no such name either.
      const unanswered = mapped.code === 'NOT_FOUND' || (!engineReadsRefAlike(target) && (mapped.code === 'BAD_USER_INPUT' || mapped.code === 'INTERNAL'));
      throw unanswered ? missing() : mapped;
    }
    const matches = isId ? info.Id.startsWith(ref) : info.Name.replace(/^\//, '') === ref;
    if (!matches) throw missing();
    return info;
  }

  /** The one container whose ID starts with `prefix`, or null when none or several do. */
  private async idWithPrefix(prefix: string, signal?: AbortSignal): Promise<string | null> {
    // Docker's id filter matches anywhere in the ID, so the prefix is checked here.
    const listed = await this.call(() =>
      this.docker.listContainers({ all: true, filters: JSON.stringify({ id: [prefix] }), abortSignal: signal } as object),
    );
    const found = listed.filter((c) => c.Id.startsWith(prefix));
    return found.length === 1 ? found[0]!.Id : null;
  }

  async listContainers(labels: string[], signal?: AbortSignal): Promise<Docker.ContainerInfo[]> {
    const filters = labels.length ? { filters: JSON.stringify({ label: labels }) } : {};
    return this.call(() => this.docker.listContainers({ all: true, ...filters, abortSignal: signal } as object));
  }

  async listImages(signal?: AbortSignal): Promise<Docker.ImageInfo[]> {
    return this.call(() => this.docker.listImages({ abortSignal: signal } as object));
  }

  async imageExists(ref: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect({ abortSignal: signal } as object);
      return true;
    } catch (error) {
      const mapped = fromEngineError(error);
      if (mapped.code === 'NOT_FOUND') return false;
      throw mapped;
    }
  }

  async createContainer(options: Docker.ContainerCreateOptions, signal?: AbortSignal): Promise<string> {
    const container = await this.call(() => this.docker.createContainer({ ...options, abortSignal: signal } as object));
    return container.id;
  }

  /** A named volume as the engine has it, or null when there is none. */
  async inspectVolume(name: string, signal?: AbortSignal): Promise<VolumeInfo | null> {
    try {
      const info = await this.docker.getVolume(name).inspect({ abortSignal: signal } as object);
      return { name: info.Name, labels: info.Labels ?? {} };
    } catch (error) {
      const mapped = fromEngineError(error);
      if (mapped.code === 'NOT_FOUND') return null;
      throw mapped;
    }
  }

  /**
   * Creates a named volume with labels. Both engines answer a create of an existing name with
   * that volume unchanged, so what is returned is the volume as it now is: one created by
   * someone else in the meantime keeps its own labels, for the caller to check.
   */
  async createVolume(name: string, labels: Record<string, string>, signal?: AbortSignal): Promise<VolumeInfo> {
    await this.call(() => this.docker.createVolume({ Name: name, Labels: labels, abortSignal: signal } as object));
    const volume = await this.inspectVolume(name, signal);
    if (!volume) throw new AppError('NOT_FOUND', `No such volume: ${name}`);
    return volume;
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<void> {
    await this.call(() => this.docker.getContainer(id).start({ abortSignal: signal }));
  }

  async stopContainer(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.call(() => this.docker.getContainer(id).stop({ t: timeoutSeconds, abortSignal: signal }));
  }

  async restartContainer(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.call(() => this.docker.getContainer(id).restart({ t: timeoutSeconds, abortSignal: signal }));
  }

  async removeContainer(id: string, force: boolean, signal?: AbortSignal): Promise<void> {
    await this.call(() => this.docker.getContainer(id).remove({ force, v: true, abortSignal: signal }));
  }

  /** Logs up to now, as frames; the caller decides lines. `tty` picks the stream format. */
  async logs(
    id: string,
    tty: boolean,
    options: { tail?: number; since?: number; until?: number; timestamps: boolean; stdout: boolean; stderr: boolean },
    signal?: AbortSignal,
  ): Promise<Frame[]> {
    // Unset options must be left out: the engines reject empty query values.
    const query = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    // Read as a stream and gathered here: without follow, dockerode would also decode the whole
    // body as text and try to parse it as JSON before handing back the bytes.
    const body = await this.call(
      () =>
        new Promise<Readable>((resolve, reject) => {
          this.docker.modem.dial(
            {
              path: `/containers/${id}/logs?`,
              method: 'GET',
              isStream: true,
              statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
              options: { ...query, follow: false },
              abortSignal: signal,
            },
            (error, stream) => (error ? reject(error) : resolve(stream as Readable)),
          );
        }),
    );
    if (signal) addAbortSignal(signal, body);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(chunk as Buffer);
    } catch (error) {
      throw fromEngineError(error);
    }
    return frameReader(tty)(Buffer.concat(chunks));
  }

  /**
   * Runs a process in a running container and collects its output up to a cap. When `signal`
   * aborts, every process the exec started is killed and the call resolves with `killed` set.
   */
  async exec(id: string, spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome> {
    const marker = randomUUID();
    const container = this.docker.getContainer(id);
    const exec = await this.call(() =>
      container.exec({
        Cmd: spec.argv,
        User: spec.user,
        WorkingDir: spec.workdir,
        Env: [...(spec.env ?? []), `${EXEC_MARKER}=${marker}`],
        AttachStdin: spec.stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      }),
    );
    const startedAt = new Date();
    const stream = (await this.call(() =>
      exec.start({ hijack: spec.stdin !== undefined, stdin: spec.stdin !== undefined, Tty: false }),
    )) as unknown as NodeJS.ReadWriteStream & Readable;
    spec.onStarted?.();
    const collector = new OutputCollector(spec.maxOutputBytes);
    const read = frameReader(false);
    let killed = false;

    const finished = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => read(chunk).forEach((frame) => collector.push(frame)));
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (error) => (killed ? resolve() : reject(error)));
    });
    const onAbort = () => {
      killed = true;
      void this.killMarked(id, marker, spec.user).finally(() => stream.destroy());
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });

    try {
      if (spec.stdin !== undefined) {
        stream.write(spec.stdin);
        stream.end();
      }
      await finished;
    } catch (error) {
      throw fromEngineError(error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    const captured = collector.finish();
    const { exitCode, containerId } = killed ? { exitCode: null, containerId: null } : await this.endedExec(exec);
    const failure = startFailureOf(exitCode, captured);
    return {
      containerId,
      ...(failure ? { exitCode: failure.exitCode, stdout: '', stderr: failure.message, output: failure.message, truncated: false } : { exitCode, ...captured }),
      killed,
      startedAt,
      finishedAt: new Date(),
    };
  }

  /**
   * Kills every process in the container whose environment carries the given exec marker.
   * `user` must be the one the exec ran as: without CAP_SYS_PTRACE, which containers lack,
   * even root cannot read another user's /proc/PID/environ. False when the engine could not
   * be asked: the processes may still run.
   */
  async killMarked(id: string, marker: string, user = '0'): Promise<boolean> {
    try {
      const exec = await this.docker.getContainer(id).exec({
        Cmd: ['/bin/sh', '-c', KILL_MARKED_PROCESSES, 'podgraph-kill', marker],
        User: user,
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: false, stdin: false });
      await new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
        stream.resume();
      });
      return true;
    } catch (error) {
      // A container that is gone or stopped took its processes with it.
      const { code } = fromEngineError(error);
      return code === 'NOT_FOUND' || code === 'CONFLICT';
    }
  }

  /**
   * Exit code (null if the engine never tells) and container of an exec whose output has ended;
   * `running` when the engine still says it runs, i.e. only the connection to it ended.
   */
  async endedExec(
    exec: Docker.Exec,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number | null; containerId: string | null; running: boolean }> {
    let containerId: string | null = null;
    let running = false;
    // Podman can report the exec as still running for a moment after its output ends, longer on
    // a loaded machine; only past that moment does "running" mean the connection broke.
    for (let attempt = 0; attempt < 75; attempt++) {
      const info = await this.call(() => exec.inspect({ abortSignal: signal }));
      containerId = info.ContainerID || null;
      running = info.Running;
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return { exitCode: info.ExitCode, containerId, running };
      await new Promise((r) => setTimeout(r, attempt < 50 ? 20 : 100));
    }
    return { exitCode: null, containerId, running };
  }

  /** Stat of a path inside the container, or null when it does not exist. */
  async statPath(id: string, path: string, signal?: AbortSignal): Promise<PathStat | null> {
    try {
      const res = (await this.docker.getContainer(id).infoArchive({ path, abortSignal: signal })) as unknown as {
        headers: Record<string, string>;
        resume?: () => void;
      };
      res.resume?.();
      const header = res.headers['x-docker-container-path-stat'];
      if (!header) return null;
      return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
    } catch (error) {
      const mapped = fromEngineError(error);
      if (mapped.code === 'NOT_FOUND') return null;
      if (mapped.code === 'INTERNAL' && !mapped.message) throw await this.explainStatFailure(id, path, signal);
      throw mapped;
    }
  }

  /** A HEAD answer has no body; a GET of the same path says why it failed (in host terms). */
  private async explainStatFailure(id: string, path: string, signal?: AbortSignal): Promise<AppError> {
    try {
      (await this.getArchive(id, path, signal)).destroy();
      return new AppError('INTERNAL', `Cannot stat ${path}`);
    } catch (error) {
      const mapped = fromEngineError(error);
      // The engine's text names host paths; say it in the container's terms.
      if (/not a directory/i.test(mapped.message)) return new AppError('CONFLICT', `A parent of ${path} is not a directory`);
      return mapped;
    }
  }

  /** A tar stream of the path (file or directory) inside the container. */
  async getArchive(id: string, path: string, signal?: AbortSignal): Promise<Readable> {
    return (await this.call(() =>
      this.docker.getContainer(id).getArchive({ path, abortSignal: signal } as { path: string }),
    )) as unknown as Readable;
  }

  /** Extracts a tar archive into the directory `dir` inside the container. */
  async putArchive(id: string, dir: string, tar: Buffer, signal?: AbortSignal): Promise<void> {
    await this.call(() => this.docker.getContainer(id).putArchive(tar, { path: dir, abortSignal: signal } as { path: string }));
  }

  /** Runs an engine call, mapping its failure into the error table. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      // dockerode treats some documented successes (201 on podman, 304 not modified) as errors.
      if (status !== undefined && SUCCESS_CODES.has(status)) return undefined as T;
      throw fromEngineError(error);
    }
  }
}
