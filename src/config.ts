import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { tokenList, toTokenRecords, type TokenRecord } from './auth/tokens.js';
import type { LogFormat } from './logger.js';
import type { StoreConfig } from './store/database.js';

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

/** Comma-separated values; blanks dropped. */
const commaList = (item: z.ZodType<string, string>) =>
  z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)).pipe(z.array(item));

const absoluteRoot = z
  .string()
  .refine((p) => p.startsWith('/') && path.posix.normalize(p) === p, 'expected absolute, normalised paths')
  .transform((p) => (p.length > 1 ? p.replace(/\/$/, '') : p));

/** Host ports as `N` or `N-M`, comma-separated, or `none`. */
const portRanges = z
  .string()
  .transform((v) => (v.trim().toLowerCase() === 'none' ? [] : v.split(',').map((s) => s.trim()).filter(Boolean)))
  .pipe(
    z.array(
      z
        .string()
        .regex(/^\d{1,5}(-\d{1,5})?$/, 'expected ports or ranges such as 8000-8999,2222, or none')
        .transform((item) => {
          const [from, to = from] = item.split('-').map(Number) as [number, number?];
          return { from, to };
        })
        .refine(({ from, to }) => from >= 1 && from <= to && to <= 65535, 'expected ranges within 1-65535, low end first'),
    ),
  );

/** A DNS name as a Host header carries it: letters, digits and hyphens in dot-separated labels. */
const hostName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i, 'expected host names such as lab.example.org')
  .transform((name) => name.toLowerCase());

const MiB = 1024 * 1024;

/** The project's own `.data`: this module and the built bundle both sit one folder below the project. */
const DEFAULT_DATA_DIR = fileURLToPath(new URL('../.data', import.meta.url));

/** Every variable the server reads, validated; see CONFIG_TABLES for what each means. */
export const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535).default(4000),
  DOCKER_HOST: engineUrl.optional(),
  CONTAINER_HOST: engineUrl.optional(),
  MAX_WORKERS: integer(1, 1000).default(10),
  MAX_READ_WORKERS: integer(1, 1000).default(10),
  MAX_QUEUE_WAIT: z.coerce.number().positive().max(3600).default(2),
  REQUEST_TIMEOUT: z.coerce.number().positive().max(3600).default(30),
  SHUTDOWN_TIMEOUT: z.coerce.number().positive().max(600).default(10),
  DEBUG: booleanFlag.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  MAX_OUTPUT_BYTES: integer(1024, 256 * 1024 * 1024).default(1024 * 1024),
  MAX_FILE_BYTES: integer(1, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  MAX_LOG_TAIL: integer(1, 1_000_000).default(10_000),
  MAX_TERMINALS: integer(1, 10_000).default(50),
  MAX_TERMINALS_PER_TOKEN: integer(1, 10_000).default(10),
  TERMINAL_IDLE_TIMEOUT: z.coerce.number().positive().max(7 * 24 * 3600).default(900),
  STREAM_QUEUE_BYTES: integer(16 * 1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
  READ_LOG_FILES: booleanFlag.default(true),
  CONTAINER_INDEX: booleanFlag.default(true),
  DATA_DIR: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/.+/, 'expected postgres://USER@HOST/DATABASE or postgresql://…').optional(),
  HISTORY_RETENTION_DAYS: z.coerce.number().positive().max(36_500).default(30),
  HISTORY_MAX_EXECUTIONS: integer(1000, 1_000_000_000).default(1_000_000),
  RECORD_TERMINALS: booleanFlag.default(true),
  MAX_LAB_STUDENTS: integer(1, 100_000).default(200),
  MAX_LAB_CONTAINERS: integer(1, 1_000_000).default(1000),
  LAB_GRACE_PERIOD: integer(0, 30 * 24 * 3600).default(3600),
  AUTH_TOKENS: z.string().optional(),
  AUTH_TOKENS_FILE: z.string().optional(),
  CORS_ORIGINS: commaList(z.url({ protocol: /^https?$/ })).default([]),
  ALLOWED_HOSTS: commaList(hostName).default([]),
  GRAPHIQL: booleanFlag.default(true),
  INTROSPECTION: booleanFlag.default(true),
  MAX_QUERY_DEPTH: integer(2, 100).default(15),
  MAX_ALIASES: integer(0, 1000).default(20),
  MAX_DIRECTIVES: integer(0, 1000).default(20),
  MAX_QUERY_TOKENS: integer(100, 100_000).default(2000),
  MAX_QUERY_COST: integer(100, 10_000_000).default(50_000),
  RATE_LIMIT_BURST: integer(1, 100_000).default(60),
  RATE_LIMIT_PER_SECOND: z.coerce.number().positive().max(100_000).default(10),
  WATCH_RATE_LIMIT_BURST: integer(1, 1_000_000).default(1000),
  WATCH_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().max(1_000_000).default(100),
  MAX_BODY_BYTES: integer(1024, 1024 * MiB).default(32 * MiB),
  MAX_WS_PAYLOAD_BYTES: integer(1024, 1024 * MiB).default(MiB),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: integer(1, 10_000).default(100),
  ALLOWED_BIND_ROOTS: commaList(absoluteRoot).default([]),
  IMAGE_ALLOWLIST: commaList(z.string().regex(/^[a-zA-Z0-9._\-/:@*]+$/, 'expected image patterns such as localhost/podgraph/*')).default([]),
  ALLOW_PRIVILEGED_FOR_ADMINS: booleanFlag.default(false),
  ALLOWED_HOST_PORTS: portRanges.default([{ from: 1024, to: 65535 }]),
  DEFAULT_MEMORY_BYTES: integer(6 * MiB, 2 ** 40).default(512 * MiB),
  MAX_MEMORY_BYTES: integer(6 * MiB, 2 ** 40).default(4096 * MiB),
  DEFAULT_PIDS_LIMIT: integer(1, 4_194_304).default(1024),
  MAX_PIDS_LIMIT: integer(1, 4_194_304).default(8192),
  DEFAULT_CPUS: z.coerce.number().positive().max(1024).default(1),
  MAX_CPUS: z.coerce.number().positive().max(1024).default(4),
});

/** One row of the configuration tables: variables, their defaults and meaning, in Markdown. */
export interface ConfigRow {
  variables: string;
  defaults: string;
  meaning: string;
}

/**
 * The documented variables: `--help` prints these rows and README's tables must match them
 * (test/docs.test.ts), so neither drifts from the other or from envSchema.
 */
export const CONFIG_TABLES: Record<'server' | 'security', ConfigRow[]> = {
  server: [
    { variables: '`HOST`', defaults: '`127.0.0.1`', meaning: 'address to listen on' },
    { variables: '`PORT`', defaults: '`4000`', meaning: 'port (0 picks a free one)' },
    { variables: '`DOCKER_HOST` / `CONTAINER_HOST`', defaults: '(first standard socket)', meaning: 'engine address, `unix://PATH` or `tcp://HOST:PORT`' },
    { variables: '`MAX_WORKERS`', defaults: '`10`', meaning: 'engine operations that change state or run a process (create, start, exec, file writes…) running at once; more wait for a slot' },
    { variables: '`MAX_READ_WORKERS`', defaults: '`10`', meaning: 'engine reads (lists, inspects, file reads, log history) running at once, in their own lane so they never wait behind execs' },
    { variables: '`MAX_QUEUE_WAIT`', defaults: '`2`', meaning: 'seconds of waiting for a slot a lane admits; work that would wait longer is refused at once with `RATE_LIMITED` and `retryAfterSeconds`' },
    { variables: '`REQUEST_TIMEOUT`', defaults: '`30`', meaning: "seconds an operation may take (waiting for a slot included), and an exec's default timeout" },
    { variables: '`SHUTDOWN_TIMEOUT`', defaults: '`10`', meaning: 'seconds a SIGINT/SIGTERM shutdown takes at most, from the signal to the last socket closed' },
    { variables: '`DEBUG`', defaults: '`false`', meaning: 'debug logging' },
    { variables: '`LOG_LEVEL`', defaults: '`info` (`debug` with `DEBUG`)', meaning: 'pino level' },
    { variables: '`LOG_FORMAT`', defaults: '`pretty` on a terminal, else `json`', meaning: '`pretty`: one readable line per entry; `json`: one JSON object per line, for log collectors' },
    { variables: '`MAX_OUTPUT_BYTES`', defaults: '`1048576`', meaning: 'exec output kept per execution (the rest is read and dropped, `truncated: true`)' },
    { variables: '`MAX_FILE_BYTES`', defaults: '`16777216`', meaning: 'largest file written or read' },
    { variables: '`MAX_LOG_TAIL`', defaults: '`10000`', meaning: 'largest `tail` for logs (a query asking for more than `MAX_QUERY_COST` lines in all is refused first)' },
    { variables: '`STREAM_QUEUE_BYTES`', defaults: '`4194304`', meaning: 'bytes queued for one live subscriber; beyond that it misses items and is told so (`StreamGap`)' },
    { variables: '`READ_LOG_FILES`', defaults: '`true`', meaning: "read container logs from the engine's own log files where this host can (engine on a unix socket, file readable); else through the engine's API" },
    {
      variables: '`CONTAINER_INDEX`',
      defaults: '`true`',
      meaning: "answer `containers` and `container(ref)` from an index of every container kept current by the engine's events, without an engine round trip; the server's own changes are in it before it answers, others' within moments. While it catches up (at start-up, after the engine's event stream broke) the engine answers. `false`: always ask the engine",
    },
    { variables: '`DATA_DIR`', defaults: '`.data` in the project', meaning: 'where the embedded history database (`podgraph.db`, SQLite) is created and kept' },
    { variables: '`DATABASE_URL`', defaults: '(none)', meaning: '`postgres://…`: keep the history in this PostgreSQL database instead' },
    {
      variables: '`HISTORY_RETENTION_DAYS` / `HISTORY_MAX_EXECUTIONS`',
      defaults: '`30` / `1000000`',
      meaning: 'history older than this many days, and executions beyond the newest this many, are deleted in the background',
    },
    {
      variables: '`RECORD_TERMINALS`',
      defaults: '`true`',
      meaning: "record every terminal's output, input and resizes in the history (`false`: terminals are not recorded, and run while the history store is down)",
    },
    {
      variables: '`MAX_LAB_STUDENTS` / `MAX_LAB_CONTAINERS`',
      defaults: '`200` / `1000`',
      meaning: 'students in one lab, and in all labs together (one container each); asking for more is `BAD_USER_INPUT` before anything is created',
    },
    { variables: '`LAB_GRACE_PERIOD`', defaults: '`3600`', meaning: "seconds an expired lab's stopped containers are kept (for a late `extendLab`) before the lab is removed" },
    { variables: '`MAX_TERMINALS`', defaults: '`50`', meaning: 'interactive terminals running at once; one more is a `CONFLICT`' },
    { variables: '`TERMINAL_IDLE_TIMEOUT`', defaults: '`900`', meaning: 'seconds a terminal may go with no watcher and no input before it is closed' },
  ],
  security: [
    { variables: '`AUTH_TOKENS` / `AUTH_TOKENS_FILE`', defaults: '(none)', meaning: 'JSON list of `{id, role, token or sha256, scope}` entries' },
    { variables: '`ALLOWED_HOSTS`', defaults: '(none)', meaning: 'comma-separated host names the server is reached by; `localhost`, `*.localhost`, IP addresses and a `HOST` that is a name always pass, any other `Host` is `FORBIDDEN`' },
    { variables: '`CORS_ORIGINS`', defaults: '(none)', meaning: 'comma-separated browser origins allowed to call' },
    { variables: '`GRAPHIQL` / `INTROSPECTION`', defaults: '`true`', meaning: 'serve GraphiQL; answer introspection (and suggest field names in errors)' },
    { variables: '`MAX_QUERY_DEPTH` / `MAX_ALIASES` / `MAX_DIRECTIVES`', defaults: '`15` / `20` / `20`', meaning: "per document; the depth counts introspection too (GraphiQL's introspection query is 15 deep)" },
    {
      variables: '`MAX_QUERY_TOKENS` / `MAX_QUERY_COST`',
      defaults: '`2000` / `50000`',
      meaning: "per document / per operation: the objects it may return, where `tail`, `limit`, `first` or `last` (or its default) multiplies a field's",
    },
    { variables: '`RATE_LIMIT_BURST` / `RATE_LIMIT_PER_SECOND`', defaults: '`60` / `10`', meaning: 'per-token bucket for mutations and `execStream` starts' },
    { variables: '`WATCH_RATE_LIMIT_BURST` / `WATCH_RATE_LIMIT_PER_SECOND`', defaults: '`1000` / `100`', meaning: 'per-token bucket for read-only subscription starts (logs, events, stats, watching a terminal)' },
    { variables: '`MAX_BODY_BYTES`', defaults: '`33554432`', meaning: 'largest GraphQL request body (a length is required)' },
    { variables: '`MAX_WS_PAYLOAD_BYTES`', defaults: '`1048576`', meaning: 'largest WebSocket message' },
    { variables: '`MAX_SUBSCRIPTIONS_PER_CONNECTION`', defaults: '`100`', meaning: 'operations running at once on one WebSocket' },
    { variables: '`MAX_TERMINALS_PER_TOKEN`', defaults: '`10`', meaning: 'terminals one token may have open at once (`CONFLICT` beyond)' },
    { variables: '`ALLOWED_BIND_ROOTS`', defaults: '(none)', meaning: 'comma-separated host directories that may be bind-mounted' },
    { variables: '`IMAGE_ALLOWLIST`', defaults: '(any)', meaning: 'comma-separated image patterns (`*` wildcard)' },
    { variables: '`ALLOW_PRIVILEGED_FOR_ADMINS`', defaults: '`false`', meaning: 'let admins use the host-level options and host ports beyond `ALLOWED_HOST_PORTS`' },
    { variables: '`ALLOWED_HOST_PORTS`', defaults: '`1024-65535`', meaning: 'host ports containers may publish on: ports and ranges (`8000-8999,2222`), or `none`; an engine-chosen port counts as allowed unless `none`' },
    { variables: '`DEFAULT_MEMORY_BYTES` / `MAX_MEMORY_BYTES`', defaults: '512 MiB / 4 GiB', meaning: 'memory limit' },
    { variables: '`DEFAULT_PIDS_LIMIT` / `MAX_PIDS_LIMIT`', defaults: '`1024` / `8192`', meaning: 'process limit' },
    { variables: '`DEFAULT_CPUS` / `MAX_CPUS`', defaults: '`1` / `4`', meaning: 'CPU limit' },
  ],
};

/** `--help`: usage and every variable with its default and meaning, as plain text. */
export function helpText(): string {
  const plain = (markdown: string) => markdown.replace(/`/g, '');
  const rows = [...CONFIG_TABLES.server, ...CONFIG_TABLES.security].map(
    (row) => `  ${plain(row.variables)}  (default: ${plain(row.defaults).replace(/^\((.*)\)$/, '$1')})\n      ${plain(row.meaning)}`,
  );
  return [
    'Usage: podgraph [--help | --version]',
    '',
    'Serves GraphQL (and GraphiQL) at /graphql, REST at /api/v1 and Prometheus metrics at /metrics,',
    'for the Docker- or Podman-compatible engine it finds. Configured by environment variables:',
    '',
    ...rows,
    '',
  ].join('\n');
}

/** Where the server may listen without tokens: only this machine can reach it. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What a created container may ask for; see core/policy.ts. */
export interface ContainerPolicyConfig {
  allowedBindRoots: string[];
  imageAllowlist: string[];
  allowPrivilegedForAdmins: boolean;
  /** Host ports a container may publish on; empty: none at all. */
  allowedHostPorts: Array<{ from: number; to: number }>;
  defaultMemoryBytes: number;
  maxMemoryBytes: number;
  defaultPidsLimit: number;
  maxPidsLimit: number;
  defaultCpus: number;
  maxCpus: number;
}

/** Limits on the shape of GraphQL documents (graphql-armor). */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
}

export interface Config {
  host: string;
  port: number;
  /** Explicit engine address, from DOCKER_HOST or CONTAINER_HOST. */
  engineHost?: string;
  /** Engine operations that change state or run a process, at once. */
  maxWorkers: number;
  /** Engine reads (lists, inspects, file reads) at once, in their own lane. */
  maxReadWorkers: number;
  /** Longest wait for a slot that is admitted; work that would wait longer is refused at once. */
  maxQueueWaitMs: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  debug: boolean;
  logLevel: string;
  /** How log lines are written; unset, readable on a terminal and JSON elsewhere. */
  logFormat?: LogFormat;
  maxOutputBytes: number;
  maxFileBytes: number;
  maxLogTail: number;
  /** Most interactive terminals open at once. */
  maxTerminals: number;
  /** Most terminals one token may have open at once. */
  maxTerminalsPerToken: number;
  /** A terminal nobody watches or types into for this long is closed. */
  terminalIdleTimeoutMs: number;
  /** Bytes one live-stream subscriber may have queued before it starts missing items. */
  streamQueueBytes: number;
  /** Whether logs are read from the engine's own log files where this host can (see engine/logfile.ts). */
  readLogFiles: boolean;
  /** Whether lists and lookups come from an index kept current by the engine's events (core/container-index.ts). */
  containerIndex: boolean;
  /** Where the history is kept. */
  store: StoreConfig;
  history: { retentionMs: number; maxExecutions: number };
  /** Whether terminals are recorded as they happen. */
  recordTerminals: boolean;
  /** Quotas of labs, and how long an expired lab's stopped containers are kept. */
  labs: { maxStudents: number; maxStudentsTotal: number; gracePeriodMs: number };
  /** Configured tokens, hashed; empty means authentication is off (loopback only). */
  tokens: TokenRecord[];
  corsOrigins: string[];
  /** Host names (lowercase) a request's Host header may carry besides localhost and IP addresses. */
  allowedHosts: string[];
  graphiql: boolean;
  introspection: boolean;
  queryLimits: QueryLimits;
  /** Per-token bucket for mutations and subscriptions that act (execStream). */
  rateLimit: { burst: number; perSecond: number };
  /** Per-token bucket for read-only subscriptions (logs, events, stats, terminal watching). */
  watchRateLimit: { burst: number; perSecond: number };
  maxBodyBytes: number;
  maxWsPayloadBytes: number;
  maxSubscriptionsPerConnection: number;
  policy: ContainerPolicyConfig;
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
  const tokens = readTokens(e.AUTH_TOKENS, e.AUTH_TOKENS_FILE);
  if (tokens.length === 0 && !isLoopback(e.HOST)) {
    throw new ConfigError(`Refusing to listen on ${e.HOST} without authentication: set AUTH_TOKENS or AUTH_TOKENS_FILE, or HOST=127.0.0.1`);
  }
  for (const [limit, max] of [['DEFAULT_MEMORY_BYTES', 'MAX_MEMORY_BYTES'], ['DEFAULT_PIDS_LIMIT', 'MAX_PIDS_LIMIT'], ['DEFAULT_CPUS', 'MAX_CPUS']] as const) {
    if (e[limit] > e[max]) throw new ConfigError(`Invalid ${limit}=${e[limit]}: must not exceed ${max}=${e[max]}`);
  }
  return {
    host: e.HOST,
    port: e.PORT,
    engineHost: e.DOCKER_HOST ?? e.CONTAINER_HOST,
    maxWorkers: e.MAX_WORKERS,
    maxReadWorkers: e.MAX_READ_WORKERS,
    maxQueueWaitMs: e.MAX_QUEUE_WAIT * 1000,
    requestTimeoutMs: e.REQUEST_TIMEOUT * 1000,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    debug: e.DEBUG,
    logLevel: e.LOG_LEVEL ?? (e.DEBUG ? 'debug' : 'info'),
    logFormat: e.LOG_FORMAT,
    maxOutputBytes: e.MAX_OUTPUT_BYTES,
    maxFileBytes: e.MAX_FILE_BYTES,
    maxLogTail: e.MAX_LOG_TAIL,
    maxTerminals: e.MAX_TERMINALS,
    maxTerminalsPerToken: e.MAX_TERMINALS_PER_TOKEN,
    terminalIdleTimeoutMs: e.TERMINAL_IDLE_TIMEOUT * 1000,
    streamQueueBytes: e.STREAM_QUEUE_BYTES,
    readLogFiles: e.READ_LOG_FILES,
    containerIndex: e.CONTAINER_INDEX,
    store: { dataDir: path.resolve(e.DATA_DIR ?? DEFAULT_DATA_DIR), databaseUrl: e.DATABASE_URL },
    history: { retentionMs: e.HISTORY_RETENTION_DAYS * 24 * 3600 * 1000, maxExecutions: e.HISTORY_MAX_EXECUTIONS },
    recordTerminals: e.RECORD_TERMINALS,
    labs: { maxStudents: e.MAX_LAB_STUDENTS, maxStudentsTotal: e.MAX_LAB_CONTAINERS, gracePeriodMs: e.LAB_GRACE_PERIOD * 1000 },
    tokens,
    corsOrigins: e.CORS_ORIGINS,
    // The name the server listens on is one its clients reach it by.
    allowedHosts: isIP(e.HOST) ? e.ALLOWED_HOSTS : [...e.ALLOWED_HOSTS, e.HOST.toLowerCase()],
    graphiql: e.GRAPHIQL,
    introspection: e.INTROSPECTION,
    queryLimits: {
      maxDepth: e.MAX_QUERY_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxDirectives: e.MAX_DIRECTIVES,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxCost: e.MAX_QUERY_COST,
    },
    rateLimit: { burst: e.RATE_LIMIT_BURST, perSecond: e.RATE_LIMIT_PER_SECOND },
    watchRateLimit: { burst: e.WATCH_RATE_LIMIT_BURST, perSecond: e.WATCH_RATE_LIMIT_PER_SECOND },
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxWsPayloadBytes: e.MAX_WS_PAYLOAD_BYTES,
    maxSubscriptionsPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    policy: {
      allowedBindRoots: e.ALLOWED_BIND_ROOTS,
      imageAllowlist: e.IMAGE_ALLOWLIST,
      allowPrivilegedForAdmins: e.ALLOW_PRIVILEGED_FOR_ADMINS,
      allowedHostPorts: e.ALLOWED_HOST_PORTS,
      defaultMemoryBytes: e.DEFAULT_MEMORY_BYTES,
      maxMemoryBytes: e.MAX_MEMORY_BYTES,
      defaultPidsLimit: e.DEFAULT_PIDS_LIMIT,
      maxPidsLimit: e.MAX_PIDS_LIMIT,
      defaultCpus: e.DEFAULT_CPUS,
      maxCpus: e.MAX_CPUS,
    },
  };
}

/** Tokens from AUTH_TOKENS (JSON) and AUTH_TOKENS_FILE (a JSON file), hashed at once. */
function readTokens(inline: string | undefined, file: string | undefined): TokenRecord[] {
  const sources: Array<[name: string, read: () => string]> = [];
  if (inline !== undefined) sources.push(['AUTH_TOKENS', () => inline]);
  if (file !== undefined) sources.push([`AUTH_TOKENS_FILE (${file})`, () => readFileSync(file, 'utf8')]);
  const entries = sources.flatMap(([name, read]) => {
    let json: unknown;
    try {
      json = JSON.parse(read());
    } catch (error) {
      // JSON.parse quotes the text it failed on, which may be a secret: say only what failed.
      const reason = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
      throw new ConfigError(`Invalid ${name}: ${reason}`);
    }
    const parsed = tokenList.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(`Invalid ${name}: ${issue.path.join('.') || '(list)'}: ${issue.message}`);
    }
    return parsed.data;
  });
  if (new Set(entries.map((t) => t.id)).size !== entries.length) throw new ConfigError('Invalid AUTH_TOKENS/AUTH_TOKENS_FILE: token ids must be unique');
  return toTokenRecords(entries);
}
