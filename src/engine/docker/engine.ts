import { addAbortSignal, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { AppError, fromEngineError } from '../../errors.js';
import type { Upstream, UpstreamHandlers } from '../../streams/upstream.js';
import { isContainerIdRef, isFullContainerId, type ContainerModel } from '../container-model.js';
import type {
  ContainerEngine,
  ContainerSpec,
  DirectoryListing,
  EngineEvent,
  EngineInfo,
  ExecOutcome,
  ExecSpec,
  ImageModel,
  InteractiveProcess,
  LogReadWindow,
  PathStat,
  ProcessHandlers,
  ProcessSpec,
  StampedLine,
  StatsSample,
  VolumeInfo,
} from '../port.js';
import { callEngine } from './call.js';
import { fromInspect, fromSummary, toCreateOptions } from './container-model.js';
import { listDirectory } from './directory.js';
import { killMarked, runExec } from './exec.js';
import { frameReader } from './frames.js';
import { DockerProcess } from './interactive.js';
import { followLogs, followStats, readStampedLines, watchContainerEvents } from './live.js';

/** dockerode accepts an abortSignal on version and ping, though its types do not say so. */
const withSignal =
  (fn: (...args: never[]) => unknown) =>
  <T>(signal?: AbortSignal): Promise<T> =>
    (fn as unknown as (opts: object) => Promise<T>)({ abortSignal: signal });

/**
 * The adapter over the Docker-compatible API that Docker Engine and Podman serve. Everything the
 * server knows about dockerode, its sockets and its stream formats stays in this folder.
 */
export class DockerEngine implements ContainerEngine {
  /** Whether the engine is Podman, asked once: its stats need its own endpoint. */
  private podman?: Promise<boolean>;

  constructor(private readonly docker: Docker) {}

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
  async inspectContainer(ref: string, signal?: AbortSignal): Promise<ContainerModel> {
    const missing = () => new AppError('NOT_FOUND', `No such container: ${ref}`);
    const isId = isContainerIdRef(ref);
    // Both engines look a full ID up before any name; a shorter prefix is found by listing.
    const target = isId && !isFullContainerId(ref) ? await this.idWithPrefix(ref, signal) : ref;
    if (!target) throw missing();
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(target).inspect({ abortSignal: signal });
    } catch (error) {
      const mapped = fromEngineError(error);
      // A hex name the engine also tried as an ID prefix may fail as ambiguous: no such name either.
      const unanswered = mapped.code === 'NOT_FOUND' || (!this.readsRefAlike(target) && (mapped.code === 'BAD_USER_INPUT' || mapped.code === 'INTERNAL'));
      throw unanswered ? missing() : mapped;
    }
    const matches = isId ? info.Id.startsWith(ref) : info.Name.replace(/^\//, '') === ref;
    if (!matches) throw missing();
    return fromInspect(info);
  }

  /**
   * A full ID (which both engines look up before names), or a reference no ID starts with (a
   * character that is not lowercase hex), which can only be an exact name to them.
   */
  readsRefAlike(ref: string): boolean {
    return isFullContainerId(ref) || /[^0-9a-f]/.test(ref);
  }

  /** The one container whose ID starts with `prefix`, or null when none or several do. */
  private async idWithPrefix(prefix: string, signal?: AbortSignal): Promise<string | null> {
    // Docker's id filter matches anywhere in the ID, so the prefix is checked here.
    const listed = await callEngine(() =>
      this.docker.listContainers({ all: true, filters: JSON.stringify({ id: [prefix] }), abortSignal: signal } as object),
    );
    const found = listed.filter((c) => c.Id.startsWith(prefix));
    return found.length === 1 ? found[0]!.Id : null;
  }

  async listContainers(labels: string[], signal?: AbortSignal): Promise<ContainerModel[]> {
    const filters = labels.length ? { filters: JSON.stringify({ label: labels }) } : {};
    const listed = await callEngine(() => this.docker.listContainers({ all: true, ...filters, abortSignal: signal } as object));
    return listed.map(fromSummary);
  }

  async listImages(signal?: AbortSignal): Promise<ImageModel[]> {
    const images = await callEngine(() => this.docker.listImages({ abortSignal: signal } as object));
    return images.map((i) => ({
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      sizeBytes: i.Size,
      createdAt: new Date(i.Created * 1000),
    }));
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

  async createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string> {
    const container = await callEngine(() => this.docker.createContainer({ ...toCreateOptions(spec), abortSignal: signal } as object));
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
    await callEngine(() => this.docker.createVolume({ Name: name, Labels: labels, abortSignal: signal } as object));
    const volume = await this.inspectVolume(name, signal);
    if (!volume) throw new AppError('NOT_FOUND', `No such volume: ${name}`);
    return volume;
  }

  async startContainer(id: string, signal?: AbortSignal): Promise<void> {
    await callEngine(() => this.docker.getContainer(id).start({ abortSignal: signal }));
  }

  async stopContainer(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    await callEngine(() => this.docker.getContainer(id).stop({ t: timeoutSeconds, abortSignal: signal }));
  }

  async restartContainer(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    await callEngine(() => this.docker.getContainer(id).restart({ t: timeoutSeconds, abortSignal: signal }));
  }

  async removeContainer(id: string, force: boolean, signal?: AbortSignal): Promise<void> {
    await callEngine(() => this.docker.getContainer(id).remove({ force, v: true, abortSignal: signal }));
  }

  async readLogs(id: string, tty: boolean, { final, ...window }: LogReadWindow, signal?: AbortSignal): Promise<StampedLine[]> {
    // Unset options must be left out: the engines reject empty query values.
    const query = Object.fromEntries(Object.entries({ ...window, timestamps: true, stdout: true, stderr: true }).filter(([, v]) => v !== undefined));
    // Read as a stream and gathered here: without follow, dockerode would also decode the whole
    // body as text and try to parse it as JSON before handing back the bytes.
    const body = await callEngine(
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
    return readStampedLines(frameReader(tty)(Buffer.concat(chunks)), tty, final);
  }

  followLogs(id: string, tty: boolean, sinceSeconds: number, handlers: UpstreamHandlers<StampedLine>): Upstream {
    return followLogs(this.docker, id, tty, sinceSeconds, handlers);
  }

  watchContainerEvents(handlers: UpstreamHandlers<EngineEvent>): Upstream {
    return watchContainerEvents(this.docker, handlers);
  }

  followStats(id: string, handlers: UpstreamHandlers<StatsSample>): Upstream {
    return followStats(this.docker, id, this.isPodman(), handlers);
  }

  /** Which engine this is, asked once (again after a failure). */
  private isPodman(): Promise<boolean> {
    this.podman ??= this.info().then((info) => info.name === 'podman');
    this.podman.catch(() => (this.podman = undefined));
    return this.podman;
  }

  exec(id: string, spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome> {
    return runExec(this.docker, id, spec, signal);
  }

  startProcess(containerId: string, spec: ProcessSpec, handlers: ProcessHandlers, signal?: AbortSignal): Promise<InteractiveProcess> {
    return DockerProcess.start(this.docker, containerId, spec, handlers, signal);
  }

  killMarked(containerId: string, marker: string, user?: string): Promise<boolean> {
    return killMarked(this.docker, containerId, marker, user);
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
    return (await callEngine(() =>
      this.docker.getContainer(id).getArchive({ path, abortSignal: signal } as { path: string }),
    )) as unknown as Readable;
  }

  /** Extracts a tar archive into the directory `dir` inside the container. */
  async putArchive(id: string, dir: string, tar: Buffer, signal?: AbortSignal): Promise<void> {
    await callEngine(() => this.docker.getContainer(id).putArchive(tar, { path: dir, abortSignal: signal } as { path: string }));
  }

  listDirectory(id: string, path: string, limit: number, signal?: AbortSignal): Promise<DirectoryListing> {
    return listDirectory(this.docker, id, path, limit, signal);
  }
}
