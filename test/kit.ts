import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { afterAll, onTestFinished } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Caller } from '../src/core/caller.js';
import { createDockerClient, selectEngine } from '../src/engine/docker/connect.js';
import { createLogger } from '../src/logger.js';
import { CreateContainer, Exec } from './documents.js';
import type { CreateContainerInput } from './gql/graphql.js';

export const DEBIAN_IMAGE = 'localhost/podgraph/debian:bookworm';
export const BUSYBOX_IMAGE = 'localhost/podgraph/busybox:latest';
export const TEST_IMAGES = [
  { label: 'debian', image: DEBIAN_IMAGE },
  { label: 'busybox', image: BUSYBOX_IMAGE },
] as const;
/**
 * Both ways the server reads logs, as server settings: the engine's own log files (the default
 * where the engine runs on this host, as here) and its API.
 */
export const LOG_SOURCES = [
  { label: 'log files', env: {} as Record<string, string>, readsFiles: true },
  { label: 'the engine API', env: { READ_LOG_FILES: 'false' }, readsFiles: false },
];
/** A caller of the services whose scope covers every container, for clean-up that skips the transports. */
export const UNSCOPED: Caller = { actor: { tokenId: 'test', role: 'admin' }, scoped: false, inScope: () => true };

/** Every container a test creates carries this label, so leftovers can be found and removed. */
export const TEST_LABEL = 'podgraph.test';

export interface Result<T> {
  data?: T | null;
  errors?: GraphQLFormattedError[];
}

/** GraphQL over HTTP to a server at `url`, however it runs. */
export interface GraphQLClient {
  url: string;
  execute<T, V>(document: TypedDocumentNode<T, V>, variables?: V, headers?: Record<string, string>): Promise<Result<T>>;
  /** Executes and fails unless the result has data and no errors. */
  ok<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Promise<T>;
  /** Executes and returns the single error's code, failing if the call succeeded. */
  errorCode<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Promise<string>;
}

export interface TestServer extends GraphQLClient {
  app: App;
  stop(): Promise<void>;
}

export function graphqlClient(url: string): GraphQLClient {
  const execute = async <T, V>(document: TypedDocumentNode<T, V>, variables?: V, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return (await response.json()) as Result<T>;
  };
  return {
    url,
    execute,
    async ok(document, variables) {
      const result = await execute(document, variables);
      if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data;
    },
    async errorCode(document, variables) {
      const result = await execute(document, variables);
      if (!result.errors?.length) throw new Error(`expected an error, got ${JSON.stringify(result.data)}`);
      return String(result.errors[0]!.extensions?.code);
    },
  };
}

/** A real server on a free loopback port, against the engine of DOCKER_HOST; stopped after the test or file that started it. */
export async function startTestServer(
  env: Record<string, string> = {},
  logger: Logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
): Promise<TestServer> {
  // Admission refuses work by the wait the machine's speed implies; functional tests must not
  // depend on that speed, so only the tests of admission set MAX_QUEUE_WAIT.
  // Each server has a history database of its own, unless the test names one.
  const dataDir = env.DATA_DIR ? undefined : mkdtempSync(path.join(tmpdir(), 'podgraph-data-'));
  const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', MAX_QUEUE_WAIT: '3600', DATA_DIR: dataDir, ...env });
  const app = createApp(config, logger);
  const server: TestServer = {
    ...graphqlClient(await app.start()),
    app,
    stop: () => (stopped ??= app.stop().finally(() => dataDir && rmSync(dataDir, { recursive: true, force: true }))),
  };
  let stopped: Promise<void> | undefined;
  cleanUpLater(() => server.stop());
  return server;
}

/**
 * Runs `cleanup` after the current test, or after the file when called outside a test:
 * an afterAll registered inside a test is never run.
 */
export function cleanUpLater(cleanup: () => Promise<unknown>): void {
  try {
    onTestFinished(async () => {
      await cleanup();
    });
  } catch {
    // Not inside a test ("can only be called inside a test"): the file's end it is.
    afterAll(cleanup);
  }
}

// Read from /proc, as the Debian image has no ps.
const PROCESS_LIST = 'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f"; echo; done 2>/dev/null';

/** The command lines of a container's processes, one a line. */
export async function processList(server: TestServer, container: string): Promise<string> {
  return (await server.ok(Exec, { container, input: { command: PROCESS_LIST } })).exec.stdout;
}

/** Probes until `done` holds for what it found, a few times a second, and fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let counter = 0;
/** A container name unique to this run and test file. */
export function uniqueName(prefix: string): string {
  return `pgt-${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/**
 * The engine itself, for clean-up: a server under test may be set up to time out (a 1 s bound
 * with one worker) and would then leave its containers behind.
 */
const cleanupEngine = createDockerClient(selectEngine(process.env.DOCKER_HOST));

/**
 * Creates running test containers (sleeping, labelled, with init) through GraphQL and removes
 * them all, forcibly, after the file.
 */
export function containerFactory(server: GraphQLClient) {
  const created: string[] = [];
  cleanUpLater(async () => {
    const remove = (name: string) =>
      cleanupEngine
        .getContainer(name)
        .remove({ force: true })
        // Gone already (a test removed it), or being removed right now.
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
        });
    await Promise.all(created.map(remove));
  });
  return async (image: string, input: Partial<CreateContainerInput> = {}) => {
    const name = uniqueName(input.name ?? 'c');
    created.push(name);
    const { createContainer } = await server.ok(CreateContainer, {
      input: {
        image,
        command: 'sleep 3600',
        ...input,
        name,
        labels: [{ key: TEST_LABEL, value: '1' }, ...(input.labels ?? [])],
      },
    });
    return createContainer;
  };
}
