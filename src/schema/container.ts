import { CONTAINER_STATES, type ContainerDetails, type ContainerModel, type PortMapping } from '../engine/container-model.js';
import { AppError, badInput } from '../errors.js';
import { builder } from './builder.js';
import type { Context } from './context.js';
import { DateTimeScalar } from './scalars.js';

export const ContainerStateEnum = builder.enumType('ContainerState', {
  values: CONTAINER_STATES,
});

export const ProtocolEnum = builder.enumType('Protocol', { values: { TCP: { value: 'tcp' }, UDP: { value: 'udp' } } });

export const LabelRef = builder.objectRef<{ key: string; value: string }>('Label').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

const PortRef = builder.objectRef<PortMapping>('Port').implement({
  fields: (t) => ({
    containerPort: t.exposeInt('containerPort'),
    protocol: t.field({ type: ProtocolEnum, resolve: (p) => p.protocol }),
    hostPort: t.exposeInt('hostPort', { nullable: true }),
    hostIp: t.exposeString('hostIp', { nullable: true }),
  }),
});

export const ContainerRef = builder.objectRef<ContainerModel>('Container');

/** What is known of a listed container that was removed before its details were asked for. */
const REMOVED_DETAILS: ContainerDetails = { startedAt: null, finishedAt: null, exitCode: null, tty: false, user: null, workdir: null, logPath: null, command: [] };

/** Inspect-only details: list results fetch them lazily, once per request. */
async function details(c: ContainerModel, ctx: Context): Promise<ContainerDetails> {
  if (c.details) return c.details;
  try {
    return (await ctx.inspect(c.id)).details!;
  } catch (error) {
    // A list is a snapshot: a container removed since then is still listed, without details.
    if (error instanceof AppError && error.code === 'NOT_FOUND') return REMOVED_DETAILS;
    throw error;
  }
}

ContainerRef.implement({
  description: 'A container of the engine, running or not.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Full 64-character ID.' }),
    shortId: t.string({ resolve: (c) => c.id.slice(0, 12) }),
    name: t.exposeString('name'),
    image: t.exposeString('image'),
    imageId: t.exposeString('imageId'),
    state: t.field({ type: ContainerStateEnum, resolve: (c) => c.state }),
    status: t.exposeString('status', { description: 'Human status text, e.g. "Up 5 minutes".' }),
    createdAt: t.field({ type: DateTimeScalar, resolve: (c) => c.createdAt }),
    startedAt: t.field({ type: DateTimeScalar, nullable: true, resolve: async (c, _, ctx) => (await details(c, ctx)).startedAt }),
    finishedAt: t.field({ type: DateTimeScalar, nullable: true, resolve: async (c, _, ctx) => (await details(c, ctx)).finishedAt }),
    exitCode: t.int({ nullable: true, resolve: async (c, _, ctx) => (await details(c, ctx)).exitCode }),
    tty: t.boolean({ resolve: async (c, _, ctx) => (await details(c, ctx)).tty }),
    user: t.string({ nullable: true, resolve: async (c, _, ctx) => (await details(c, ctx)).user }),
    workdir: t.string({ nullable: true, resolve: async (c, _, ctx) => (await details(c, ctx)).workdir }),
    command: t.stringList({ resolve: async (c, _, ctx) => (await details(c, ctx)).command }),
    labels: t.field({
      type: [LabelRef],
      resolve: (c) => Object.entries(c.labels).map(([key, value]) => ({ key, value })),
    }),
    ports: t.field({ type: [PortRef], resolve: (c) => c.ports }),
  }),
});

const ContainerFilter = builder.inputType('ContainerFilter', {
  fields: (t) => ({
    state: t.field({ type: ContainerStateEnum, required: false }),
    nameContains: t.string({ required: false, description: 'Case-insensitive substring of the name.' }),
    labels: t.stringList({ required: false, description: 'Each "key" or "key=value" must match.' }),
  }),
});

export const KeyValueInput = builder.inputType('KeyValueInput', {
  fields: (t) => ({ name: t.string(), value: t.string() }),
});

/** A label as Container.labels reads it, so a client writes and reads one shape. */
const LabelInput = builder.inputType('LabelInput', {
  fields: (t) => ({ key: t.string(), value: t.string() }),
});

type Pair = { name: string; value: string } | { key: string; value: string };

/** GraphQL lists of pairs (env's names, labels' keys) become the record the services take; a repeated one is an error. */
export function toRecord(pairs: ReadonlyArray<Pair> | null | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const name = 'key' in pair ? pair.key : pair.name;
    if (Object.hasOwn(record, name)) throw badInput(`"${name}" is given more than once`);
    record[name] = pair.value;
  }
  return record;
}

const PortInput = builder.inputType('PortInput', {
  fields: (t) => ({
    containerPort: t.int(),
    hostPort: t.int({ required: false, description: 'Omit or 0 for an engine-chosen port. Only within ALLOWED_HOST_PORTS (by default 1024-65535).' }),
    protocol: t.field({ type: ProtocolEnum, required: false }),
    hostIp: t.string({ required: false }),
  }),
});

const VolumeInput = builder.inputType('VolumeInput', {
  fields: (t) => ({
    source: t.string({ description: 'Absolute host path (bind mount) or named volume.' }),
    target: t.string({ description: 'Absolute path inside the container.' }),
    readOnly: t.boolean({ required: false }),
  }),
});

const CreateContainerInput = builder.inputType('CreateContainerInput', {
  fields: (t) => ({
    image: t.string({ description: 'A local image; images are never pulled.' }),
    name: t.string(),
    command: t.string({ required: false, description: 'Split into words as a shell would; no shell runs.' }),
    args: t.stringList({ required: false, description: 'The command as an argument list, used as is.' }),
    env: t.field({ type: [KeyValueInput], required: false }),
    ports: t.field({ type: [PortInput], required: false }),
    volumes: t.field({ type: [VolumeInput], required: false }),
    user: t.string({ required: false }),
    workdir: t.string({ required: false }),
    labels: t.field({ type: [LabelInput], required: false }),
    memoryBytes: t.float({ required: false }),
    cpus: t.float({ required: false }),
    pidsLimit: t.int({ required: false }),
    init: t.boolean({ required: false, description: 'Run a tiny init as PID 1 so stops are fast. Default true.' }),
    tty: t.boolean({ required: false }),
    privileged: t.boolean({ required: false, description: 'Admins only, and only when ALLOW_PRIVILEGED_FOR_ADMINS is set; so are hostNetwork, hostPid, hostIpc, capAdd and devices.' }),
    hostNetwork: t.boolean({ required: false }),
    hostPid: t.boolean({ required: false }),
    hostIpc: t.boolean({ required: false }),
    capAdd: t.stringList({ required: false, description: 'Capabilities to add, e.g. NET_ADMIN.' }),
    devices: t.stringList({ required: false, description: 'Host device paths, mapped to the same path inside.' }),
  }),
});

const RemovedContainerRef = builder.objectRef<{ id: string; name: string }>('RemovedContainer').implement({
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name'), removed: t.boolean({ resolve: () => true }) }),
});

builder.queryFields((t) => ({
  containers: t.field({
    type: [ContainerRef],
    description: "All containers in the token's scope, running and stopped, sorted by name.",
    authScopes: { viewer: true },
    args: { filter: t.arg({ type: ContainerFilter, required: false }) },
    resolve: async (_, { filter }, ctx) => {
      const containers = await ctx.services.containers.list({
        state: filter?.state ?? undefined,
        nameContains: filter?.nameContains ?? undefined,
        labels: filter?.labels ?? undefined,
      });
      return containers.filter(ctx.inScope);
    },
  }),
  container: t.field({
    type: ContainerRef,
    authScopes: { viewer: true },
    args: { ref: t.arg.string({ required: true, description: 'Full ID or unique ID prefix (12 to 64 lowercase hex characters), else the exact name.' }) },
    resolve: (_, { ref }, ctx) => ctx.inspect(ref),
  }),
}));

builder.mutationFields((t) => ({
  createContainer: t.field({
    type: ContainerRef,
    description: "Creates and starts a container within the container policy; a scoped token's labels are added. If the start fails, nothing is left behind.",
    authScopes: { operator: true },
    args: { input: t.arg({ type: CreateContainerInput, required: true }) },
    resolve: (_, { input }, ctx) => {
      const { command, args, env, labels, ...rest } = input;
      return ctx.services.containers.create(
        ctx,
        {
          ...stripNulls(rest),
          command: pickCommand(command, args),
          env: toRecord(env),
          labels: toRecord(labels),
          ports: input.ports?.map((p) => stripNulls(p)) ?? undefined,
          volumes: input.volumes?.map((v) => stripNulls(v)) ?? undefined,
        },
        ctx.requester,
      );
    },
  }),
  startContainer: t.field({
    type: ContainerRef,
    authScopes: { operator: true },
    args: { container: t.arg.string({ required: true }) },
    resolve: async (_, args, ctx) => ctx.services.containers.start(ctx, args.container),
  }),
  stopContainer: t.field({
    type: ContainerRef,
    description: 'Sends SIGTERM, then SIGKILL after timeoutSeconds (default 10). Stopping a stopped container is a no-op.',
    authScopes: { operator: true },
    args: { container: t.arg.string({ required: true }), timeoutSeconds: t.arg.int({ required: false }) },
    resolve: async (_, args, ctx) => ctx.services.containers.stop(ctx, args.container, args.timeoutSeconds ?? undefined),
  }),
  restartContainer: t.field({
    type: ContainerRef,
    authScopes: { operator: true },
    args: { container: t.arg.string({ required: true }), timeoutSeconds: t.arg.int({ required: false }) },
    resolve: async (_, args, ctx) => ctx.services.containers.restart(ctx, args.container, args.timeoutSeconds ?? undefined),
  }),
  removeContainer: t.field({
    type: RemovedContainerRef,
    description: 'Without force, removing a running container is a CONFLICT.',
    authScopes: { operator: true },
    args: { container: t.arg.string({ required: true }), force: t.arg.boolean({ required: false }) },
    resolve: async (_, args, ctx) => ctx.services.containers.remove(ctx, args.container, args.force ?? false),
  }),
}));

/** The command comes as a string or as args, never both. */
export function pickCommand(command: string | null | undefined, args: string[] | null | undefined): string | string[] | undefined {
  if (command != null && args != null) throw badInput('Give command or args, not both');
  return args ?? command ?? undefined;
}

/** GraphQL sends null for omitted optional fields; services treat absent as default. */
export function stripNulls<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as { [K in keyof T]: Exclude<T[K], null> };
}
