import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { authTokens, bearer, containerMaker, TOKENS } from './auth-kit.js';
import { Exec } from './documents.js';
import { graphql } from './gql/index.js';
import { BUSYBOX_IMAGE, cleanUpLater, containerFactory, startTestServer, uniqueName, type GraphQLClient } from './kit.js';
import { watchWs, wsClient } from './live-client.js';
import { serverProcess } from './process-kit.js';
import { asAdmin, DATABASES, freshDataDir, freshPostgresUrl } from './store-kit.js';

const ExecutionById = graphql(`
  query HistoryExecution($id: ID!) {
    execution(id: $id) {
      id
      containerName
      command
      stdout
      exitCode
      caller
      callerRole
      workdir
    }
  }
`);

const Executions = graphql(`
  query HistoryExecutions($filter: ExecutionFilter, $first: Int, $after: String) {
    executions(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          stdout
          success
          user
          caller
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const ContainerExecutions = graphql(`
  query HistoryContainerExecutions($ref: String!) {
    container(ref: $ref) {
      executions(limit: 5) {
        id
        stdout
      }
    }
  }
`);

const ActivityQuery = graphql(`
  query HistoryActivity($filter: ActivityFilter, $first: Int) {
    activity(filter: $filter, first: $first) {
      edges {
        node {
          kind
          containerName
          caller
          outcome
          path
          username
          ref
          execution {
            stdout
          }
        }
      }
    }
  }
`);

const ActivityFeed = graphql(`
  subscription HistoryActivityFeed($labels: [String!], $kinds: [ActivityKind!]) {
    activityFeed(labels: $labels, kinds: $kinds) {
      __typename
      ... on Activity {
        kind
        containerName
        caller
        outcome
        path
      }
    }
  }
`);

const WriteFile = graphql(`
  mutation HistoryWriteFile($container: String!, $path: String!) {
    writeFile(container: $container, input: { path: $path, content: "hello" }) {
      path
    }
  }
`);

const StoreHealth = graphql(`
  query HistoryStoreHealth {
    health {
      store {
        database
        healthy
        error
      }
    }
  }
`);

const execIn = async (server: GraphQLClient, container: string, command: string, user?: string) =>
  (await server.ok(Exec, { container, input: { command, user } })).exec;

describe.each(DATABASES)('history on $label', ({ settings }) => {
  it('keeps executions across a restart: by id, per container, and in executions(filter)', async () => {
    const store = await settings();
    const first = await startTestServer(store);
    const container = await containerFactory(first)(BUSYBOX_IMAGE);
    const ran = await execIn(first, container.name, 'echo kept');
    await first.stop();

    const second = await startTestServer(store);
    const { execution } = await second.ok(ExecutionById, { id: ran.id });
    expect(execution).toEqual({ id: ran.id, containerName: container.name, command: ['/bin/sh', '-c', 'echo kept'], stdout: 'kept\n', exitCode: 0, caller: 'anonymous', callerRole: 'admin', workdir: null });
    expect((await second.ok(ContainerExecutions, { ref: container.name })).container.executions).toEqual([{ id: ran.id, stdout: 'kept\n' }]);
    const listed = await second.ok(Executions, { filter: { container: container.name } });
    expect(listed.executions.edges.map((e) => e.node.id)).toEqual([ran.id]);
  });

  it('pages executions newest first, filtered by container, user and success', async () => {
    const server = await startTestServer(await settings());
    const container = await containerFactory(server)(BUSYBOX_IMAGE);
    for (const n of [1, 2, 3, 4, 5]) await execIn(server, container.name, `echo ${n}; exit ${n % 2}`, n === 5 ? 'nobody' : undefined);
    const page = (variables: { first: number; after?: string; filter?: Record<string, unknown> }) =>
      server.ok(Executions, { ...variables, filter: { container: container.name, ...variables.filter } }).then((r) => r.executions);
    const one = await page({ first: 2 });
    expect(one.edges.map((e) => e.node.stdout)).toEqual(['5\n', '4\n']);
    expect(one.pageInfo.hasNextPage).toBe(true);
    const two = await page({ first: 5, after: one.pageInfo.endCursor! });
    expect(two.edges.map((e) => e.node.stdout)).toEqual(['3\n', '2\n', '1\n']);
    expect(two.pageInfo.hasNextPage).toBe(false);
    expect((await page({ first: 10, filter: { success: true } })).edges.map((e) => e.node.stdout)).toEqual(['4\n', '2\n']);
    expect((await page({ first: 10, filter: { user: 'nobody' } })).edges.map((e) => e.node.stdout)).toEqual(['5\n']);
    expect(await server.errorCode(Executions, { first: 1, after: 'garbage' })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(Executions, { first: 1, filter: { since: 'yesterday' } })).toBe('BAD_USER_INPUT');
  });

  it('records what is done, with caller, container and outcome, and feeds it live', async () => {
    const server = await startTestServer(await settings());
    const lab = uniqueName('lab');
    const client = wsClient(server);
    cleanUpLater(async () => client.dispose());
    const feed = watchWs(client, ActivityFeed, { labels: [`lab=${lab}`] });
    const container = await containerFactory(server)(BUSYBOX_IMAGE, { labels: [{ key: 'lab', value: lab }] });
    await server.ok(WriteFile, { container: container.name, path: '/tmp/notes.txt' });
    await execIn(server, container.name, 'echo watched');
    expect(await server.errorCode(WriteFile, { container: container.name, path: '/tmp/notes.txt/x' })).toBe('CONFLICT');
    const live = await feed.until((events) => events.length >= 4);
    expect(live.map((e) => e.activityFeed)).toEqual([
      expect.objectContaining({ __typename: 'Activity', kind: 'CONTAINER_CREATE', containerName: container.name, caller: 'anonymous', outcome: 'ok' }),
      expect.objectContaining({ kind: 'FILE_WRITE', path: '/tmp/notes.txt', outcome: 'ok' }),
      expect.objectContaining({ kind: 'EXEC_END', outcome: 'ok' }),
      expect.objectContaining({ kind: 'FILE_WRITE', path: '/tmp/notes.txt/x', outcome: 'CONFLICT' }),
    ]);
    feed.stop();
    const { activity } = await server.ok(ActivityQuery, { filter: { containers: [container.name] }, first: 10 });
    expect(activity.edges.map((e) => e.node.kind)).toEqual(['FILE_WRITE', 'EXEC_END', 'FILE_WRITE', 'CONTAINER_CREATE']);
    expect(activity.edges[1]!.node.execution).toEqual({ stdout: 'watched\n' });
    const refused = await server.ok(ActivityQuery, { filter: { kinds: ['FILE_WRITE'], containers: [container.name] }, first: 1 });
    expect(refused.activity.edges).toHaveLength(1);
  });
});

const RemoveContainer = graphql(`
  mutation HistoryRemove($container: String!) {
    removeContainer(container: $container, force: true) {
      id
    }
  }
`);

describe('history under a token scope', () => {
  it("shows a scoped token only its containers' executions and activity, also once they are removed", async () => {
    const lab = uniqueName('lab');
    const server = await startTestServer({ AUTH_TOKENS: authTokens(lab) });
    const make = containerMaker(server.url);
    const mine = await make.createOk('scoped');
    const other = await make.createOk('admin');
    const as = (token: keyof typeof TOKENS) => bearer(TOKENS[token]);
    const run = async (container: string) => (await server.execute(Exec, { container, input: { command: 'echo x' } }, as('admin'))).data!.exec.id;
    const inMine = await run(mine.name);
    const inOther = await run(other.name);

    const listed = await server.execute(Executions, { first: 50 }, as('scoped'));
    const ids = listed.data!.executions.edges.map((e) => e.node.id);
    expect(ids).toContain(inMine);
    expect(ids).not.toContain(inOther);
    expect((await server.execute(ExecutionById, { id: inOther }, as('scoped'))).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const names = (await server.execute(ActivityQuery, { first: 100 }, as('scoped'))).data!.activity.edges.map((e) => e.node.containerName);
    expect(names).toContain(mine.name);
    expect(names).not.toContain(other.name);
    expect(names).not.toContain(null);

    await server.execute(RemoveContainer, { container: mine.name }, as('admin'));
    expect((await server.execute(ExecutionById, { id: inMine }, as('scoped'))).data?.execution.id).toBe(inMine);
  });
});

describe.each(DATABASES)('an acknowledged write on $label', ({ settings }) => {
  it('survives kill -9 of the server right after the answer', async () => {
    const env = await settings();
    const first = await serverProcess(env);
    const container = await containerFactory(first)(BUSYBOX_IMAGE);
    const ran = await execIn(first, container.name, 'echo durable');
    await first.kill();

    const second = await startTestServer(env);
    expect((await second.ok(ExecutionById, { id: ran.id })).execution.stdout).toBe('durable\n');
  }, 180_000);
});

describe('a PostgreSQL server that stops answering', () => {
  it('tells the client an action was done but not recorded, shows in health, and records again once it is back', async () => {
    const url = await freshPostgresUrl();
    const database = new URL(url).pathname.slice(1);
    const server = await startTestServer({ DATABASE_URL: url });
    const container = await containerFactory(server)(BUSYBOX_IMAGE);
    await execIn(server, container.name, 'true');
    expect((await server.ok(StoreHealth)).health.store).toEqual({ database: 'postgres', healthy: true, error: null });

    await asAdmin(`alter database ${database} allow_connections false`);
    await asAdmin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}'`);
    try {
      const refused = await server.execute(Exec, { container: container.name, input: { command: 'echo unrecorded' } });
      expect(refused.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^The execution was done, but the history store could not record it/), extensions: { code: 'STORE_UNAVAILABLE' } });
      const health = (await server.ok(StoreHealth)).health.store;
      expect(health).toMatchObject({ database: 'postgres', healthy: false });
      expect(health.error).toBeTruthy();
    } finally {
      await asAdmin(`alter database ${database} allow_connections true`);
    }
    await expect.poll(async () => (await server.ok(StoreHealth)).health.store.healthy, { timeout: 30_000 }).toBe(true);
    const ran = await execIn(server, container.name, 'echo recorded');
    expect((await server.ok(ExecutionById, { id: ran.id })).execution.stdout).toBe('recorded\n');
  });
});

describe('an embedded database on a full disk', () => {
  it('tells the client an action was done but not recorded, and records again once there is room', async () => {
    // A small file system of its own, filled up by the test (mounting one takes root, as the engines do).
    const dataDir = freshDataDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dataDir]);
    cleanUpLater(async () => execFileSync('umount', ['-l', dataDir]));
    const server = await startTestServer({ DATA_DIR: dataDir });
    const container = await containerFactory(server)(BUSYBOX_IMAGE);
    await execIn(server, container.name, 'true');
    const filler = path.join(dataDir, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const refused = await server.execute(Exec, { container: container.name, input: { command: 'echo unrecorded' } });
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^The execution was done, but the history store could not record it/), extensions: { code: 'STORE_UNAVAILABLE' } });
    rmSync(filler);
    const ran = await execIn(server, container.name, 'echo recorded');
    expect((await server.ok(ExecutionById, { id: ran.id })).execution.stdout).toBe('recorded\n');
  });
});
