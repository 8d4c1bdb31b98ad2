import type { ContainerModel } from '../../core/containers.js';
import type { Services } from '../../core/services.js';
import { AppError } from '../../errors.js';
import { toAddUserInput, toCreateContainerInput, toExecInput, toWriteFileInput } from './bodies.js';
import { errorBody, restTimestamp } from './errors.js';
import { openApiDocument } from './openapi.js';
import { queryCount, queryFlag } from './request.js';

export interface RestRequest {
  services: Services;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON object body; read only by the routes that take one. */
  body(): Promise<Record<string, unknown>>;
}

export interface RestResult {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Below the base path; `{name}` matches one segment. */
  path: string;
  handle(request: RestRequest): Promise<RestResult>;
}

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
    async handle({ services }) {
      const health = await services.system.health();
      if (health.healthy) {
        return { body: { status: 'healthy', podman: 'connected', timestamp: restTimestamp(health.timestamp) } };
      }
      const error = new AppError('ENGINE_UNAVAILABLE', health.engineError ?? 'Container engine unreachable');
      return { status: 503, body: { ...errorBody(error), status: 'unhealthy', podman: 'disconnected' } };
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    async handle({ services }) {
      const uptime = services.system.uptimeSeconds();
      return {
        body: {
          uptime_seconds: Math.floor(uptime),
          uptime_human: humanUptime(uptime),
          active_threads: services.pool.active,
          max_workers: services.pool.size,
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
    async handle({ services }) {
      const containers = await services.containers.list();
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
    async handle({ services, body }) {
      const container = await services.containers.create(toCreateContainerInput(await body()));
      return { body: { success: true, container: { id: shortId(container.id), name: container.name, status: statusWord(container) } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/start',
    async handle({ services, params }) {
      const container = await services.containers.start(params.name);
      return { body: { success: true, container: { name: container.name, status: 'started' } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/stop',
    async handle({ services, params }) {
      const container = await services.containers.stop(params.name);
      return { body: { success: true, container: { name: container.name, status: 'stopped' } } };
    },
  },
  {
    method: 'DELETE',
    path: '/containers/{name}',
    async handle({ services, params, query }) {
      const removed = await services.containers.remove(params.name, queryFlag(query, 'force'));
      return { body: { success: true, container: { name: removed.name, removed: true } } };
    },
  },
  {
    method: 'GET',
    path: '/containers/{name}/logs',
    async handle({ services, params, query }) {
      const entries = await services.logs.read(params.name, { tail: queryCount(query, 'tail'), timestamps: false });
      return { body: { success: true, container: { logs: entries.map((e) => `${e.message}\n`).join('') } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/exec',
    async handle({ services, params, body }) {
      const execution = await services.exec.run(params.name, toExecInput(await body()));
      if (execution.timedOut) {
        throw new AppError('TIMEOUT', `Command timed out after ${Math.round(execution.durationMs / 1000)} s; it was stopped`);
      }
      return {
        body: { success: true, execution: { exit_code: execution.exitCode, output: execution.output, success: execution.success } },
      };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/users',
    async handle({ services, params, body }) {
      const user = await services.users.add(params.name, toAddUserInput(await body()));
      return { body: { success: true, user: { username: user.username, created: true } } };
    },
  },
  {
    method: 'POST',
    path: '/containers/{name}/files',
    async handle({ services, params, body }) {
      const file = await services.files.write(params.name, toWriteFileInput(await body()));
      return { body: { success: true, file: { dest_path: file.path, size: file.size } } };
    },
  },
];
