import type { ContainerModel } from '../../engine/container-model.js';
import { AppError, type ErrorCode } from '../../errors.js';
import type { ActivityKind } from '../../core/activity.js';
import type { Session } from '../../core/session.js';
import { toAddUserInput, toCreateContainerInput, toExecInput, toWriteFileInput } from './bodies.js';
import { errorBody, restTimestamp } from './errors.js';
import { openApiDocument } from './openapi.js';
import { queryCount, queryFlag } from './request.js';

export interface RestRequest {
  /** The authenticated principal's access: services, scope checks and policy requester. */
  ctx: Session;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON object body; read only by the routes that take one. */
  body(): Promise<Record<string, unknown>>;
}

export interface RestResult {
  status?: number;
  /** Set on an error answer: its code from the table (a status may stand for several). */
  code?: ErrorCode;
  /** JSON; absent only for an answer without content (a CORS preflight). */
  body?: unknown;
  headers?: Record<string, string>;
}

interface RouteOf<M extends string> {
  method: M;
  /** Below the base path; `{name}` matches one segment. */
  path: string;
  handle(request: RestRequest): Promise<RestResult>;
}

/** A route that reads, or one that acts and names the activity its attempts are recorded as. */
export type Route = RouteOf<'GET'> | (RouteOf<'POST' | 'DELETE'> & { records: ActivityKind });

/** The original answered with 12-character ids and the engine's lower-case state word. */
const shortId = (id: string) => id.slice(0, 12);
const statusWord = (container: ContainerModel) => container.state.toLowerCase();

/** Python's `str(timedelta)` without the fraction: "0:05:23", "2 days, 3:04:05". */
export function humanUptime(seconds: number): string {
  const total = Math.floor(seconds);
  const days = Math.floor(total / 86_400);
  const clock = [Math.floor((total % 86_400) / 3600), Math.floor((total % 3600) / 60), total % 60];
  const time = clock.map((n, i) => (i === 0 ? String(n) : String(n).padStart(2, '0'))).join(':');
  return days ? `${days} day${days === 1 ? '' : 's'}, ${time}` : time;
}

export const ROUTES: Route[] = [
  {
    method: 'GET',
    path: '/health',
    async handle({ ctx }) {
      const health = await ctx.services.system.health();
      if (health.healthy) {
        return { body: { status: 'healthy', podman: 'connected', timestamp: restTimestamp(health.timestamp) } };
      }
      const error = new AppError('ENGINE_UNAVAILABLE', health.engineError ?? 'Container engine unreachable');
      return { status: error.status, code: error.code, body: { ...errorBody(error), status: 'unhealthy', podman: 'disconnected' } };
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    async handle({ ctx: { services } }) {
      const uptime = services.system.uptimeSeconds();
      return {
        body: {
          uptime_seconds: Math.floor(uptime),
          uptime_human: humanUptime(uptime),
          active_threads: services.pool.active,
          max_workers: services.pool.write.slots,
          timestamp: restTimestamp(),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    handle: async () => ({ body: openApiDocument }),
  },
  {
    method: 'GET',
    path: '/containers',
    async handle({ ctx }) {
      const containers = (await ctx.services.containers.list()).filter(ctx.inScope);
      return {
        body: {
          success: true,
          containers: containers.map((c) => ({ id: shortId(c.id), name: c.name, status: statusWord(c), image: c.image })),
        },
      };
    },
  },
  {
    method: 'POST',
    path: '/containers',
    records: 'CONTAINER_CREATE',
    async handle({ ctx, body }) {
      const container = await ctx.services.containers.create(ctx, toCreateContainerInput(await body()), ctx.requester);
      return { body: { success: true, container: { id: shortId(container.id), name: container.name, status: statusWord(container) } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/start',
    records: 'CONTAINER_START',
    async handle({ ctx, params }) {
      const container = await ctx.services.containers.start(ctx, params.name);
      return { body: { success: true, container: { name: container.name, status: 'started' } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/stop',
    records: 'CONTAINER_STOP',
    async handle({ ctx, params }) {
      const container = await ctx.services.containers.stop(ctx, params.name);
      return { body: { success: true, container: { name: container.name, status: 'stopped' } } };
    },
  },
  {
    method: 'DELETE',
    path: '/containers/{name}',
    records: 'CONTAINER_REMOVE',
    async handle({ ctx, params, query }) {
      const force = queryFlag(query, 'force');
      const removed = await ctx.services.containers.remove(ctx, params.name, force);
      return { body: { success: true, container: { name: removed.name, removed: true } } };
    },
  },
  {
    method: 'GET',
    path: '/containers/{name}/logs',
    async handle({ ctx, params, query }) {
      const tail = queryCount(query, 'tail');
      const entries = await ctx.services.logs.read(ctx, params.name, { tail, timestamps: false });
      return { body: { success: true, container: { logs: entries.map((e) => `${e.message}\n`).join('') } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/exec',
    records: 'EXEC_START',
    async handle({ ctx, params, body }) {
      const input = toExecInput(await body());
      const execution = await ctx.services.exec.run(ctx, params.name, input, ctx.signal);
      if (execution.timedOut) {
        throw new AppError('TIMEOUT', `Command timed out after ${Math.round(execution.durationMs / 1000)} s; it was stopped`);
      }
      return {
        body: {
          success: true,
          execution: { exit_code: execution.exitCode, output: execution.output, success: execution.success, cancelled: execution.cancelled },
        },
      };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/users',
    records: 'USER_ADD',
    async handle({ ctx, params, body }) {
      const input = toAddUserInput(await body());
      const user = await ctx.services.users.add(ctx, params.name, input);
      return { body: { success: true, user: { username: user.username, created: true } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/files',
    records: 'FILE_WRITE',
    async handle({ ctx, params, body }) {
      const input = toWriteFileInput(await body());
      const file = await ctx.services.files.write(ctx, params.name, input);
      return { body: { success: true, file: { dest_path: file.path, size: file.size } } };
    },
  },
];
