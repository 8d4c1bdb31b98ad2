import { z } from 'zod';

const booleanFlag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', '1', 'yes', 'on', 'false', '0', 'no', 'off', ''].includes(v), 'expected true or false')
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const engineUrl = z
  .string()
  .regex(/^(unix|tcp|http|https):\/\/.+/, 'expected unix://PATH or tcp://HOST:PORT');

const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535).default(4000),
  DOCKER_HOST: engineUrl.optional(),
  CONTAINER_HOST: engineUrl.optional(),
  MAX_WORKERS: integer(1, 1000).default(10),
  REQUEST_TIMEOUT: z.coerce.number().positive().max(3600).default(30),
  SHUTDOWN_TIMEOUT: z.coerce.number().positive().max(600).default(10),
  DEBUG: booleanFlag.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  MAX_OUTPUT_BYTES: integer(1024, 256 * 1024 * 1024).default(1024 * 1024),
  MAX_FILE_BYTES: integer(1, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  MAX_LOG_TAIL: integer(1, 1_000_000).default(10_000),
});

export interface Config {
  host: string;
  port: number;
  /** Explicit engine address, from DOCKER_HOST or CONTAINER_HOST. */
  engineHost?: string;
  maxWorkers: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  debug: boolean;
  logLevel: string;
  maxOutputBytes: number;
  maxFileBytes: number;
  maxLogTail: number;
}

export class ConfigError extends Error {}

/** Reads and validates the environment; a bad value throws one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables count as unset, as shells often export them empty.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`Invalid ${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    engineHost: e.DOCKER_HOST ?? e.CONTAINER_HOST,
    maxWorkers: e.MAX_WORKERS,
    requestTimeoutMs: e.REQUEST_TIMEOUT * 1000,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    debug: e.DEBUG,
    logLevel: e.LOG_LEVEL ?? (e.DEBUG ? 'debug' : 'info'),
    maxOutputBytes: e.MAX_OUTPUT_BYTES,
    maxFileBytes: e.MAX_FILE_BYTES,
    maxLogTail: e.MAX_LOG_TAIL,
  };
}
