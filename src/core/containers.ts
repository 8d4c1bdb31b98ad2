import type Docker from 'dockerode';
import { z } from 'zod';
import type { Engine } from '../engine/engine.js';
import type { WorkerPool } from '../engine/pool.js';
import { AppError, conflict, notFound } from '../errors.js';
import type { ContainerIndex } from './container-index.js';
import type { ContainerPolicy, Requester } from './policy.js';
import { splitShellWords } from './shellwords.js';
import {
  absolutePath,
  argv,
  containerName,
  containerRef,
  envName,
  envValue,
  imageRef,
  labelKey,
  labelValue,
  parseInput,
  processUser,
} from './validation.js';

export const CONTAINER_STATES = ['CREATED', 'RUNNING', 'PAUSED', 'RESTARTING', 'REMOVING', 'EXITED', 'DEAD'] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];

export interface PortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostPort: number | null;
  hostIp: string | null;
}

/** Details only an inspect returns; absent on list results until asked for. */
export interface ContainerDetails {
  startedAt: Date | null;
  finishedAt: Date | null;
  exitCode: number | null;
  tty: boolean;
  user: string | null;
  workdir: string | null;
  /** The container's log file, if the engine writes one in a format podgraph reads (engine/logfile.ts). */
  logPath: string | null;
}

export interface ContainerModel {
  id: string;
  name: string;
  image: string;
  imageId: string;
  state: ContainerState;
  status: string;
  createdAt: Date;
  command: string[];
  labels: Record<string, string>;
  ports: PortMapping[];
  details?: ContainerDetails;
}

/** Both engines' state words mapped to one enum (Podman says "stopped", "configured"...). */
export function toState(raw: string | undefined): ContainerState {
  switch ((raw ?? '').toLowerCase()) {
    case 'running':
      return 'RUNNING';
    case 'paused':
      return 'PAUSED';
    case 'restarting':
      return 'RESTARTING';
    case 'removing':
      return 'REMOVING';
    case 'dead':
      return 'DEAD';
    case 'exited':
    case 'stopped':
      return 'EXITED';
    default:
      return 'CREATED';
  }
}

const engineTime = (value: string | undefined): Date | null => {
  if (!value || value.startsWith('0001-01-01')) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
};

function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}`;
  const d = Math.round(h / 24);
  return `${d} days`;
}

/** The engine's list-style status text, derived for inspected containers. */
export function statusText(state: ContainerState, details: ContainerDetails, now = Date.now()): string {
  if (state === 'RUNNING' && details.startedAt) return `Up ${humanDuration(now - details.startedAt.getTime())}`;
  if (state === 'EXITED' && details.finishedAt) {
    return `Exited (${details.exitCode ?? 0}) ${humanDuration(now - details.finishedAt.getTime())} ago`;
  }
  return state.charAt(0) + state.slice(1).toLowerCase();
}

function portsFromBindings(bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | undefined): PortMapping[] {
  const ports: PortMapping[] = [];
  for (const [key, hosts] of Object.entries(bindings ?? {})) {
    const [port, proto] = key.split('/');
    const base = { containerPort: Number(port), protocol: proto === 'udp' ? ('udp' as const) : ('tcp' as const) };
    if (!hosts?.length) ports.push({ ...base, hostPort: null, hostIp: null });
    for (const h of hosts ?? []) ports.push({ ...base, hostPort: h.HostPort ? Number(h.HostPort) : null, hostIp: h.HostIp || null });
  }
  return ports;
}

export function assertRunning(container: ContainerModel): ContainerModel {
  if (container.state !== 'RUNNING') throw conflict(`Container ${container.name} is not running`);
  return container;
}

/** Log drivers whose files are lines of text; Podman reports its k8s-file as json-file. */
const READABLE_LOG_DRIVERS = new Set(['json-file', 'k8s-file']);

export function fromInspect(info: Docker.ContainerInspectInfo): ContainerModel {
  const state = toState(info.State.Status);
  const details: ContainerDetails = {
    startedAt: engineTime(info.State.StartedAt),
    finishedAt: state === 'RUNNING' ? null : engineTime(info.State.FinishedAt),
    exitCode: state === 'EXITED' || state === 'DEAD' ? info.State.ExitCode : null,
    tty: Boolean(info.Config.Tty),
    user: info.Config.User || null,
    workdir: info.Config.WorkingDir || null,
    logPath: READABLE_LOG_DRIVERS.has(info.HostConfig.LogConfig?.Type ?? '') ? info.LogPath || null : null,
  };
  const bindings = (info.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }>>;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    imageId: info.Image,
    state,
    status: statusText(state, details),
    createdAt: new Date(info.Created),
    command: [...(info.Config.Entrypoint ? [info.Config.Entrypoint].flat() : []), ...(info.Config.Cmd ?? [])],
    labels: info.Config.Labels ?? {},
    ports: portsFromBindings(info.NetworkSettings?.Ports ?? bindings),
    details,
  };
}

/** List results carry the command as one joined string; split it back where it parses. */
function commandWords(joined: string | undefined): string[] {
  if (!joined) return [];
  try {
    return splitShellWords(joined);
  } catch {
    return [joined];
  }
}

export function fromSummary(info: Docker.ContainerInfo): ContainerModel {
  return {
    id: info.Id,
    name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
    image: info.Image,
    imageId: info.ImageID,
    state: toState(info.State),
    status: info.Status,
    createdAt: new Date(info.Created * 1000),
    command: commandWords(info.Command),
    labels: info.Labels ?? {},
    ports: (info.Ports ?? []).map((p) => ({
      containerPort: p.PrivatePort,
      protocol: p.Type === 'udp' ? 'udp' : 'tcp',
      hostPort: p.PublicPort ?? null,
      hostIp: p.IP || null,
    })),
  };
}

export const listContainersInput = z.object({
  state: z.enum(CONTAINER_STATES).optional(),
  nameContains: z.string().max(255).optional(),
  /** `key` or `key=value`, all of which must match. */
  labels: z.array(z.string().min(1).max(512).regex(/^[^=\s][^=]*(=.*)?$/, 'must be key or key=value')).max(20).default([]),
});

const portInput = z.object({
  containerPort: z.number().int().min(1).max(65535),
  hostPort: z.number().int().min(0).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  hostIp: z.union([z.ipv4(), z.ipv6()]).optional(),
});

const volumeInput = z.object({
  /** An absolute host path (bind mount) or a named volume. */
  source: z.union([absolutePath, z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'must be an absolute path or a volume name')]),
  target: absolutePath,
  readOnly: z.boolean().default(false),
});

export const createContainerInput = z.object({
  image: imageRef,
  name: containerName,
  /** A string is split into words like a shell would (no shell runs); a list is used as is. */
  command: z.union([z.string().min(1).max(64 * 1024), argv]).optional(),
  env: z.record(envName, envValue).default({}),
  ports: z.array(portInput).max(100).default([]),
  volumes: z.array(volumeInput).max(50).default([]),
  user: processUser.optional(),
  workdir: absolutePath.optional(),
  labels: z.record(labelKey, labelValue).default({}),
  memoryBytes: z.number().int().min(6 * 1024 * 1024, 'must be at least 6 MiB').max(2 ** 40).optional(),
  cpus: z.number().positive().max(1024).optional(),
  pidsLimit: z.number().int().min(1).max(4_194_304).optional(),
  init: z.boolean().default(true),
  tty: z.boolean().default(false),
  /** Host-level options: refused unless the policy allows them for admins. */
  privileged: z.boolean().default(false),
  hostNetwork: z.boolean().default(false),
  hostPid: z.boolean().default(false),
  hostIpc: z.boolean().default(false),
  capAdd: z.array(z.string().regex(/^(CAP_)?[A-Z_]{2,32}$/, 'must be a capability name such as NET_ADMIN')).max(64).default([]),
  /** Host device paths, mapped to the same path inside. */
  devices: z.array(absolutePath).max(64).default([]),
});
export type CreateContainerInput = z.input<typeof createContainerInput>;

const stopTimeout = z.number().int().min(0).max(600).default(10);

export class ContainerService {
  private readonly inspecting = new Map<string, Promise<ContainerModel>>();

  constructor(
    private readonly engine: Engine,
    private readonly pool: WorkerPool,
    private readonly policy: ContainerPolicy,
    /** Answers lists and lookups without the engine while synced; the engine answers otherwise. */
    private readonly index?: ContainerIndex,
  ) {}

  async list(input: z.input<typeof listContainersInput> = {}): Promise<ContainerModel[]> {
    const filter = parseInput(listContainersInput, input);
    const containers = this.index?.synced
      ? this.index.list(filter.labels)
      : (await this.pool.read.run((signal) => this.engine.listContainers(filter.labels, signal))).map(fromSummary);
    const needle = filter.nameContains?.toLowerCase();
    return containers
      .filter((c) => (!filter.state || c.state === filter.state) && (!needle || c.name.toLowerCase().includes(needle)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * One inspect for all callers asking about the same container at the same moment (hundreds
   * of viewers subscribing at once would otherwise queue hundreds of identical engine calls).
   */
  async get(ref: string): Promise<ContainerModel> {
    const id = parseInput(containerRef, ref);
    // A miss asks the engine: the container may be newer than the events seen so far.
    const indexed = this.index?.synced ? this.index.lookup(id) : undefined;
    if (indexed) return indexed;
    let pending = this.inspecting.get(id);
    if (!pending) {
      pending = this.pool
        .read.run((signal) => this.engine.inspectContainer(id, signal))
        .then(fromInspect)
        .finally(() => this.inspecting.delete(id));
      this.inspecting.set(id, pending);
    }
    return pending;
  }

  /**
   * Creates and starts a container within the policy (for the requester); if the start fails,
   * the created container is removed.
   */
  async create(input: CreateContainerInput, requester: Requester): Promise<ContainerModel> {
    const spec = this.policy.apply(parseInput(createContainerInput, input), requester);
    const cmd = typeof spec.command === 'string' ? splitShellWords(spec.command) : spec.command;
    if (cmd && cmd.length === 0) throw new AppError('BAD_USER_INPUT', 'command must have at least one word');
    return this.pool.write.run(async (signal) => {
      if (!(await this.engine.imageExists(spec.image, signal))) {
        throw notFound(`No such image: ${spec.image} (images are not pulled; build or import it first)`);
      }
      const id = await this.engine.createContainer(toCreateOptions(spec, cmd), signal);
      try {
        await this.engine.startContainer(id, signal);
      } catch (error) {
        await this.engine.removeContainer(id, true).catch(() => undefined);
        this.index?.forget(id);
        throw error;
      }
      return this.remember(fromInspect(await this.engine.inspectContainer(id, signal)));
    });
  }

  async start(ref: string): Promise<ContainerModel> {
    return this.transition(ref, (id, signal) => this.engine.startContainer(id, signal));
  }

  async stop(ref: string, timeoutSeconds?: number): Promise<ContainerModel> {
    const t = parseInput(stopTimeout, timeoutSeconds);
    return this.transition(ref, (id, signal) => this.engine.stopContainer(id, t, signal), t);
  }

  async restart(ref: string, timeoutSeconds?: number): Promise<ContainerModel> {
    const t = parseInput(stopTimeout, timeoutSeconds);
    return this.transition(ref, (id, signal) => this.engine.restartContainer(id, t, signal), t);
  }

  /** Without force a running container is a conflict, never silently killed. */
  async remove(ref: string, force = false): Promise<{ id: string; name: string }> {
    const id = parseInput(containerRef, ref);
    return this.pool.write.run(async (signal) => {
      const info = fromInspect(await this.engine.inspectContainer(id, signal));
      if (!force && (info.state === 'RUNNING' || info.state === 'PAUSED' || info.state === 'RESTARTING')) {
        throw conflict(`Container ${info.name} is running; stop it first or remove with force`);
      }
      await this.engine.removeContainer(info.id, force, signal);
      this.index?.forget(info.id);
      return { id: info.id, name: info.name };
    });
  }

  /** Resolves a reference and checks that the container runs, for operations that exec. */
  async requireRunning(ref: string, signal?: AbortSignal): Promise<ContainerModel> {
    return assertRunning(await this.inspectIn(ref, signal));
  }

  /** Inspects within the caller's pool slot (`get` takes a slot of its own). */
  async inspectIn(ref: string, signal?: AbortSignal): Promise<ContainerModel> {
    return fromInspect(await this.engine.inspectContainer(parseInput(containerRef, ref), signal));
  }

  private async transition(
    ref: string,
    act: (id: string, signal: AbortSignal) => Promise<void>,
    stopSeconds = 0,
  ): Promise<ContainerModel> {
    const id = parseInput(containerRef, ref);
    // A stop may legitimately take its whole grace period on top of the normal bound.
    const timeoutMs = this.pool.write.defaultTimeoutMs + stopSeconds * 1000;
    return this.pool.write.run(async (signal) => {
      const before = await this.engine.inspectContainer(id, signal);
      await act(before.Id, signal);
      return this.remember(fromInspect(await this.engine.inspectContainer(before.Id, signal)));
    }, timeoutMs);
  }

  /** A change the server made is in the index before the client hears of it (read your own writes). */
  private remember(container: ContainerModel): ContainerModel {
    this.index?.apply(container);
    return container;
  }
}

function toCreateOptions(spec: z.output<typeof createContainerInput>, cmd: string[] | undefined): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostPort: string; HostIp?: string }>> = {};
  for (const p of spec.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostPort: p.hostPort ? String(p.hostPort) : '', ...(p.hostIp ? { HostIp: p.hostIp } : {}) });
  }
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: cmd,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    User: spec.user,
    WorkingDir: spec.workdir,
    Labels: spec.labels,
    Tty: spec.tty,
    OpenStdin: false,
    ExposedPorts: exposed,
    HostConfig: {
      Init: spec.init,
      PortBindings: bindings,
      Mounts: spec.volumes.map((v) => ({
        Type: v.source.startsWith('/') ? ('bind' as const) : ('volume' as const),
        Source: v.source,
        Target: v.target,
        ReadOnly: v.readOnly,
      })),
      Memory: spec.memoryBytes,
      NanoCpus: spec.cpus ? Math.round(spec.cpus * 1e9) : undefined,
      PidsLimit: spec.pidsLimit,
      Privileged: spec.privileged,
      ...(spec.hostNetwork ? { NetworkMode: 'host' } : {}),
      ...(spec.hostPid ? { PidMode: 'host' } : {}),
      ...(spec.hostIpc ? { IpcMode: 'host' } : {}),
      CapAdd: spec.capAdd,
      Devices: spec.devices.map((device) => ({ PathOnHost: device, PathInContainer: device, CgroupPermissions: 'rwm' })),
    },
  };
}
