import { z } from 'zod';
import { CONTAINER_STATES, hasProcesses, type ContainerModel } from '../engine/container-model.js';
import type { WorkerPool } from '../engine/pool.js';
import type { ContainerEngine } from '../engine/port.js';
import { AppError, conflict, notFound } from '../errors.js';
import type { ActivityKind, Recorder } from './activity.js';
import { visibleTo, type Caller } from './caller.js';
import type { ContainerIndex } from './container-index.js';
import type { ContainerPolicy, Requester, RequesterScope } from './policy.js';
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
  labelSelectors,
  labelValue,
  parseInput,
  processUser,
} from './validation.js';

export function assertRunning(container: ContainerModel): ContainerModel {
  if (container.state !== 'RUNNING') throw conflict(`Container ${container.name} is not running`);
  return container;
}

export const listContainersInput = z.object({
  state: z.enum(CONTAINER_STATES).optional(),
  nameContains: z.string().max(255).optional(),
  labels: labelSelectors.default([]),
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
  volumes: z
    .array(volumeInput)
    .max(50)
    .default([])
    .superRefine((volumes, ctx) => {
      const seen = new Set<string>();
      for (const [index, { target }] of volumes.entries()) {
        if (seen.has(target)) ctx.addIssue({ code: 'custom', path: [index, 'target'], message: `${target} is the target of another volume` });
        seen.add(target);
      }
    }),
  user: processUser.optional(),
  workdir: absolutePath.optional(),
  labels: z.record(labelKey, labelValue).default({}),
  memoryBytes: z.number().int().min(6 * 1024 * 1024, 'must be at least 6 MiB').max(2 ** 40).optional(),
  cpus: z.number().min(0.01, 'must be at least 0.01').max(1024).optional(),
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

/** Who acts on a container; the service checks the caller's scope itself, so no transport has to. */
export class ContainerService {
  private readonly inspecting = new Map<string, Promise<ContainerModel>>();

  constructor(
    private readonly engine: ContainerEngine,
    private readonly pool: WorkerPool,
    private readonly policy: ContainerPolicy,
    private readonly recorder: Recorder,
    /** Answers lists and lookups without the engine while synced; the engine answers otherwise. */
    private readonly index?: ContainerIndex,
  ) {}

  async list(input: z.input<typeof listContainersInput> = {}): Promise<ContainerModel[]> {
    const filter = parseInput(listContainersInput, input);
    const containers = this.index?.synced
      ? this.index.list(filter.labels)
      : await this.pool.read.run((signal) => this.engine.listContainers(filter.labels, signal));
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
      pending = this.pool.read
        .run((signal) => this.engine.inspectContainer(id, signal))
        .finally(() => this.inspecting.delete(id));
      this.inspecting.set(id, pending);
    }
    return pending;
  }

  /**
   * Creates and starts a container within the policy (for the requester); if the start fails,
   * the created container is removed.
   */
  async create(caller: Caller, input: CreateContainerInput, requester: Requester): Promise<ContainerModel> {
    const { spec, cmd } = this.prepare(input, requester);
    return this.recorder.action(caller, 'CONTAINER_CREATE', spec.name, { image: spec.image }, (about) => this.pool.write.run(async (signal) => {
      await this.requireImage(spec.image, signal);
      if (requester.scope) {
        for (const { source } of spec.volumes) if (!source.startsWith('/')) await this.claimVolume(source, requester.scope, signal);
      }
      const id = await this.engine.createContainer({ ...spec, command: cmd }, signal).catch((error: unknown) => {
        // The engine's words name the container holding the name, by ID, whoever's it is.
        throw error instanceof AppError && error.code === 'CONFLICT' ? conflict(`The name ${spec.name} is in use`) : error;
      });
      try {
        await this.engine.startContainer(id, signal);
      } catch (error) {
        await this.engine.removeContainer(id, true).catch(() => undefined);
        this.index?.forget(id);
        throw error;
      }
      return about(this.remember(await this.engine.inspectContainer(id, signal)));
    }));
  }

  /**
   * Whether `create` would accept this spec from this requester, without creating anything:
   * valid, within the policy, and of an image the engine has. Nothing is recorded.
   */
  async check(input: CreateContainerInput, requester: Requester): Promise<void> {
    const { spec } = this.prepare(input, requester);
    await this.pool.read.run((signal) => this.requireImage(spec.image, signal));
  }

  private prepare(input: CreateContainerInput, requester: Requester) {
    const spec = this.policy.apply(parseInput(createContainerInput, input), requester);
    const cmd = typeof spec.command === 'string' ? splitShellWords(spec.command) : spec.command;
    if (cmd && cmd.length === 0) throw new AppError('BAD_USER_INPUT', 'command must have at least one word');
    return { spec, cmd };
  }

  private async requireImage(image: string, signal: AbortSignal): Promise<void> {
    if (!(await this.engine.imageExists(image, signal))) {
      throw notFound(`No such image: ${image} (images are not pulled; build or import it first)`);
    }
  }

  /**
   * Makes sure a scoped requester mounts only a named volume of its own scope, creating a missing
   * one with the scope's labels. Any other is NOT_FOUND, like a container out of scope, and a
   * name outside the scope's pattern is refused before the engine is asked, so the answer never
   * tells whether such a volume exists.
   */
  private async claimVolume(name: string, scope: RequesterScope, signal: AbortSignal): Promise<void> {
    const missing = () => notFound(`No such volume: ${name}`);
    if (!scope.allowsName(name)) throw missing();
    const volume = (await this.engine.inspectVolume(name, signal)) ?? (await this.engine.createVolume(name, scope.labels, signal));
    if (!scope.allows(volume)) throw missing();
  }

  async start(caller: Caller, ref: string): Promise<ContainerModel> {
    return this.transition(caller, 'CONTAINER_START', ref, (id, signal) => this.engine.startContainer(id, signal));
  }

  async stop(caller: Caller, ref: string, timeoutSeconds?: number): Promise<ContainerModel> {
    const t = parseInput(stopTimeout, timeoutSeconds);
    return this.transition(caller, 'CONTAINER_STOP', ref, (id, signal) => this.engine.stopContainer(id, t, signal), t);
  }

  async restart(caller: Caller, ref: string, timeoutSeconds?: number): Promise<ContainerModel> {
    const t = parseInput(stopTimeout, timeoutSeconds);
    return this.transition(caller, 'CONTAINER_RESTART', ref, (id, signal) => this.engine.restartContainer(id, t, signal), t);
  }

  /** Without force a running container is a conflict, never silently killed. */
  async remove(caller: Caller, ref: string, force = false): Promise<{ id: string; name: string }> {
    const id = parseInput(containerRef, ref);
    return this.recorder.action(caller, 'CONTAINER_REMOVE', id, { force }, (about) => this.pool.write.run(async (signal) => {
      const info = about(visibleTo(caller, id, await this.engine.inspectContainer(id, signal)));
      if (!force && hasProcesses(info.state)) {
        throw conflict(`Container ${info.name} is running; stop it first or remove with force`);
      }
      await this.engine.removeContainer(info.id, force, signal);
      this.index?.forget(info.id);
      return { id: info.id, name: info.name };
    }));
  }

  /** Resolves a reference and checks that the container runs, for operations that exec. */
  async requireRunning(caller: Caller, ref: string, signal?: AbortSignal): Promise<ContainerModel> {
    return assertRunning(await this.inspectIn(caller, ref, signal));
  }

  /** Inspects within the operation's own pool slot (`get` takes a slot of its own), for the caller. */
  async inspectIn(caller: Caller, ref: string, signal?: AbortSignal): Promise<ContainerModel> {
    const id = parseInput(containerRef, ref);
    return visibleTo(caller, id, await this.engine.inspectContainer(id, signal));
  }

  /** The container as the caller may see it (from the index where it can). */
  async find(caller: Caller, ref: string): Promise<ContainerModel> {
    return visibleTo(caller, ref, await this.get(ref));
  }

  /**
   * Whether something kept by container (a terminal, an execution) is the caller's to see: for
   * a scoped caller its container must be in scope. Otherwise it is `missing`, as if it did not
   * exist, so a refusal says nothing about other labs.
   */
  async assertVisible(caller: Caller, containerId: string, missing: () => AppError): Promise<void> {
    if (!caller.scoped) return;
    await this.find(caller, containerId).catch((error: unknown) => {
      throw error instanceof AppError && error.code === 'NOT_FOUND' ? missing() : error;
    });
  }

  /**
   * One slot for the whole action: an inspect that resolves the reference and checks the
   * caller's scope, the action, and an inspect of the result.
   */
  private async transition(
    caller: Caller,
    kind: ActivityKind,
    ref: string,
    act: (id: string, signal: AbortSignal) => Promise<void>,
    stopSeconds = 0,
  ): Promise<ContainerModel> {
    const id = parseInput(containerRef, ref);
    // A stop may legitimately take its whole grace period on top of the normal bound.
    const timeoutMs = this.pool.write.defaultTimeoutMs + stopSeconds * 1000;
    return this.recorder.action(caller, kind, id, {}, (about) => this.pool.write.run(async (signal) => {
      const before = about(visibleTo(caller, id, await this.engine.inspectContainer(id, signal)));
      await act(before.id, signal);
      return this.remember(await this.engine.inspectContainer(before.id, signal));
    }, timeoutMs));
  }

  /** A change the server made is in the index before the client hears of it (read your own writes). */
  private remember(container: ContainerModel): ContainerModel {
    this.index?.apply(container);
    return container;
  }
}
