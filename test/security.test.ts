import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  getIntrospectionQuery,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  print,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLFormattedError,
  type GraphQLInputType,
} from 'graphql';
import { createClient } from 'graphql-ws';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDockerClient, selectEngine } from '../src/engine/docker/connect.js';
import { schema } from '../src/schema/index.js';
import { authTokens, bearer, codes, containerMaker, sendAs, TOKENS, TRANSPORTS, transports, type Outcome, type Token, type Transport } from './auth-kit.js';
import { CloseTerminal, OpenTerminalId, TerminalInput } from './documents.js';
import { graphql } from './gql/index.js';
import { startTestServer, type Result } from './kit.js';
import { runServer } from './process-kit.js';

/** The label that puts a container in the scoped token's scope; unique to this run. */
const LAB = `sec-${process.pid}-${Date.now().toString(36)}`;
const PASSWORD = 'pa55-never-in-any-log';
const bindRoot = mkdtempSync(path.join(tmpdir(), 'podgraph-bind-'));
afterAll(() => rmSync(bindRoot, { recursive: true, force: true }));

const logLines: string[] = [];
const AUTH_TOKENS = authTokens(LAB);
const server = await startTestServer(
  { AUTH_TOKENS, ALLOWED_BIND_ROOTS: bindRoot, MAX_BODY_BYTES: '65536', MAX_WS_PAYLOAD_BYTES: '65536' },
  pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
);
const strictLog: string[] = [];
/** Tighter query and rate limits, no introspection, no GraphiQL, one allowed browser origin. */
const strict = await startTestServer({
  AUTH_TOKENS,
  RATE_LIMIT_BURST: '15',
  RATE_LIMIT_PER_SECOND: '0.1',
  MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
  MAX_QUERY_DEPTH: '2',
  MAX_ALIASES: '5',
  MAX_QUERY_TOKENS: '200',
  INTROSPECTION: 'false',
  GRAPHIQL: 'false',
  CORS_ORIGINS: 'https://lab.example',
}, pino({ level: 'info' }, { write: (line: string) => strictLog.push(line) }));
const logLinesOf = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

const { create, createOk } = containerMaker(server.url);

/** A /metrics scrape (as admin): the value of one series, 0 if absent. */
async function scrape(url: string): Promise<(series: string) => number> {
  const text = await (await fetch(`${url}/metrics`, { headers: bearer(TOKENS.admin) })).text();
  return (series) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
}

const send = <T, V>(transport: Transport, token: Token | undefined, document: TypedDocumentNode<T, V>, variables?: V, target = server) =>
  sendAs(target.url, transport, token, document, variables);

const Whoami = graphql(`
  query SecWhoami {
    whoami {
      tokenId
      role
      scoped
      scopeLabels {
        key
        value
      }
    }
  }
`);

const Health = graphql(`
  query SecHealth {
    health {
      healthy
    }
  }
`);

const Containers = graphql(`
  query SecContainers {
    containers {
      name
      labels {
        key
        value
      }
    }
  }
`);

const Container = graphql(`
  query SecContainer($ref: String!) {
    container(ref: $ref) {
      id
      name
    }
  }
`);

const Stop = graphql(`
  mutation SecStop($container: String!) {
    stopContainer(container: $container, timeoutSeconds: 0) {
      state
    }
  }
`);

const Exec = graphql(`
  mutation SecExec($container: String!, $command: String!) {
    exec(container: $container, input: { command: $command }) {
      id
      stdout
      exitCode
    }
  }
`);

const Execution = graphql(`
  query SecExecution($id: ID!) {
    execution(id: $id) {
      id
    }
  }
`);

const WriteFile = graphql(`
  mutation SecWriteFile($container: String!) {
    writeFile(container: $container, input: { path: "/tmp/x", content: "x" }) {
      size
    }
  }
`);

const AddUser = graphql(`
  mutation SecAddUser($container: String!, $password: String!) {
    addUser(container: $container, input: { username: "student", password: $password }) {
      username
    }
  }
`);

/** A placeholder of the right GraphQL type for a required argument, so that only authorization can fail. */
function placeholder(type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (isListType(getNullableType(type))) return `[${placeholder(getNamedType(type))}]`;
  if (isEnumType(named)) return named.getValues()[0]!.name;
  if (isInputObjectType(named)) {
    const fields = Object.values(named.getFields()).filter((f) => isNonNullType(f.type));
    return `{ ${fields.map((f) => `${f.name}: ${placeholder(f.type)}`).join(', ')} }`;
  }
  if (isScalarType(named) && ['Int', 'Float'].includes(named.name)) return '1';
  if (isScalarType(named) && named.name === 'Boolean') return 'false';
  if (isScalarType(named) && named.name === 'DateTime') return '"2025-01-01T00:00:00Z"';
  return '"x"';
}

/** A document calling `field` with placeholder arguments and selecting __typename. */
function callOf(operation: 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>): string {
  const args = field.args.filter((a: GraphQLArgument) => isNonNullType(a.type)).map((a) => `${a.name}: ${placeholder(a.type)}`);
  const selection = isScalarType(getNamedType(field.type)) ? '' : ' { __typename }';
  return `${operation} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }`;
}

const authScopesOf = (field: GraphQLField<unknown, unknown>) =>
  (field.extensions?.pothosOptions as { authScopes?: Record<string, boolean> } | undefined)?.authScopes;

describe('authentication', () => {
  it.each(TRANSPORTS)('refuses a missing or wrong token over %s', async (transport) => {
    for (const token of [undefined, 'not-a-configured-token-xyz']) {
      const result = await transports[transport](server.url, token, print(Health));
      if (transport === 'ws') {
        expect(result.closeCode).toBe(4401);
      } else {
        expect(result.status).toBe(401);
        expect(codes(result)).toEqual(['UNAUTHENTICATED']);
        expect(result.data ?? null).toBeNull();
      }
    }
  });

  it.each(TRANSPORTS)('accepts a configured token over %s', async (transport) => {
    const result = await send(transport, 'viewer', Health);
    expect(result.errors).toBeUndefined();
    expect(result.data?.health.healthy).toBe(true);
  });

  it.each(TRANSPORTS)('tells a token over %s who it is: id, role and scope', async (transport) => {
    const viewer = await send(transport, 'viewer', Whoami);
    expect(viewer.data?.whoami).toEqual({ tokenId: 'viewer', role: 'viewer', scoped: false, scopeLabels: [] });
    const scoped = await send(transport, 'scoped', Whoami);
    expect(scoped.data?.whoami).toEqual({ tokenId: 'scoped', role: 'operator', scoped: true, scopeLabels: [{ key: 'lab', value: LAB }] });
  });

  it('refuses to start on 0.0.0.0 without tokens, with one line and exit code 1', async () => {
    const { code, output } = await runServer({ HOST: '0.0.0.0', PORT: '0', AUTH_TOKENS: '', AUTH_TOKENS_FILE: '' }).exited;
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([
      'podgraph: Refusing to listen on 0.0.0.0 without authentication: set AUTH_TOKENS or AUTH_TOKENS_FILE, or HOST=127.0.0.1',
    ]);
  });
});

describe('roles', () => {
  it('declares the roles of every root field where it is defined', () => {
    for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values(type?.getFields() ?? {})) {
        expect(authScopesOf(field), `${type!.name}.${field.name}`).toBeDefined();
      }
    }
  });

  it('lets a viewer read but run no mutation at all', async () => {
    expect((await send('http', 'viewer', Containers)).errors).toBeUndefined();
    const mutations = Object.values(schema.getMutationType()!.getFields());
    expect(mutations.length).toBeGreaterThanOrEqual(10);
    for (const field of mutations) {
      const result = await transports.http(server.url, TOKENS.viewer, callOf('mutation', field));
      expect(codes(result), field.name).toEqual(['FORBIDDEN']);
    }
  });

  it('refuses a viewer any action subscription (exec, terminal input) when it starts', async () => {
    const actions = Object.values(schema.getSubscriptionType()?.getFields() ?? {}).filter((f) => !authScopesOf(f)?.viewer);
    for (const field of actions) {
      const result = await transports.ws(server.url, TOKENS.viewer, callOf('subscription', field));
      expect(codes(result), field.name).toEqual(['FORBIDDEN']);
    }
  });

  it.each(TRANSPORTS)('refuses a viewer a mutation over %s', async (transport) => {
    expect(codes(await send(transport, 'viewer', Stop, { container: 'anything' }))).toEqual(['FORBIDDEN']);
  });
});

describe('container scope', async () => {
  const inside = await createOk('admin', { labels: [{ key: 'lab', value: LAB }] });
  const outside = await createOk('admin');
  const outsideExec = await send('http', 'admin', Exec, { container: outside.name, command: 'true' });

  it('lists only containers in scope', async () => {
    const names = (await send('http', 'scoped', Containers)).data!.containers.map((c) => c.name);
    expect(names).toContain(inside.name);
    expect(names).not.toContain(outside.name);
    const all = (await send('http', 'operator', Containers)).data!.containers.map((c) => c.name);
    expect(all).toEqual(expect.arrayContaining([inside.name, outside.name]));
  });

  it.each(TRANSPORTS)('answers NOT_FOUND for a container out of scope over %s: read, exec, stop, write', async (transport) => {
    expect(codes(await send(transport, 'scoped', Container, { ref: outside.name }))).toEqual(['NOT_FOUND']);
    expect(codes(await send(transport, 'scoped', Container, { ref: outside.id }))).toEqual(['NOT_FOUND']);
    expect(codes(await send(transport, 'scoped', Exec, { container: outside.name, command: 'true' }))).toEqual(['NOT_FOUND']);
    expect(codes(await send(transport, 'scoped', Stop, { container: outside.name }))).toEqual(['NOT_FOUND']);
    expect(codes(await send(transport, 'scoped', WriteFile, { container: outside.name }))).toEqual(['NOT_FOUND']);
    expect(codes(await send(transport, 'scoped', Execution, { id: outsideExec.data!.exec.id }))).toEqual(['NOT_FOUND']);
  });

  it('lets a scoped operator work on containers in scope', async () => {
    expect((await send('http', 'scoped', Container, { ref: inside.name })).data?.container.id).toBe(inside.id);
    const exec = await send('ws', 'scoped', Exec, { container: inside.name, command: 'echo in scope' });
    expect(exec.data?.exec.stdout).toBe('in scope\n');
    expect((await send('http', 'admin', Execution, { id: outsideExec.data!.exec.id })).data?.execution.id).toBe(outsideExec.data!.exec.id);
  });

  it('gives containers a scoped token creates its labels, so it keeps seeing them', async () => {
    const mine = await createOk('scoped', { labels: [{ key: 'lab', value: 'other' }] });
    expect(mine.labels).toContainEqual({ key: 'lab', value: LAB });
    expect((await send('http', 'scoped', Container, { ref: mine.name })).data?.container.id).toBe(mine.id);
  });
});

describe('container policy', () => {
  const docker = createDockerClient(selectEngine(process.env.DOCKER_HOST));

  it('refuses host bind mounts outside the allowed roots, even to admins', async () => {
    for (const source of ['/', '/etc', `${bindRoot}-sibling`, path.dirname(bindRoot)]) {
      for (const token of ['operator', 'admin'] as const) {
        const result = await create(token, { volumes: [{ source, target: '/host' }] });
        expect(codes(result), `${token} ${source}`).toEqual(['FORBIDDEN']);
      }
    }
  });

  it('allows bind mounts under an allowed root and named volumes', async () => {
    const bound = await createOk('operator', { volumes: [{ source: bindRoot, target: '/data', readOnly: true }] });
    expect(bound.state).toBe('RUNNING');
  });

  it('refuses privileged and host-level options to operators, and to admins unless the policy allows them', async () => {
    const options = [{ privileged: true }, { hostNetwork: true }, { hostPid: true }, { hostIpc: true }, { capAdd: ['SYS_ADMIN'] }, { devices: ['/dev/kmsg'] }];
    for (const option of options) {
      expect(codes(await create('operator', option)), JSON.stringify(option)).toEqual(['FORBIDDEN']);
      expect(codes(await create('admin', option)), JSON.stringify(option)).toEqual(['FORBIDDEN']);
    }
  });

  it('refuses host ports below 1024 (outside ALLOWED_HOST_PORTS) to operators and admins alike, on GraphQL and REST', async () => {
    for (const token of ['operator', 'admin'] as const) {
      const result = await create(token, { ports: [{ containerPort: 80, hostPort: 80 }] });
      expect(codes(result), token).toEqual(['FORBIDDEN']);
      expect(result.errors![0]!.message).toContain('ALLOWED_HOST_PORTS');
    }
    const rest = await fetch(`${server.url}/api/v1/containers`, {
      method: 'POST',
      headers: { ...bearer(TOKENS.operator), 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'localhost/podgraph/busybox:latest', name: `ports-${process.pid}`, ports: { '80': '22' } }),
    });
    expect(rest.status).toBe(403);
  });

  it('applies the default limits and refuses more than the maximum', async () => {
    const limited = await createOk('operator');
    const info = await docker.getContainer(limited.id).inspect();
    expect(info.HostConfig.Memory).toBe(512 * 1024 * 1024);
    expect(info.HostConfig.PidsLimit).toBe(1024);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    const lowered = await createOk('operator', { memoryBytes: 64 * 1024 * 1024, pidsLimit: 64 });
    expect((await docker.getContainer(lowered.id).inspect()).HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(codes(await create('operator', { memoryBytes: 8 * 1024 ** 3 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await create('admin', { cpus: 64 }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('query limits and introspection', () => {
  const deep = 'query { containers { labels { key } } }';
  const aliases = `query { ${Array.from({ length: 50 }, (_, i) => `a${i}: health { healthy }`).join(' ')} }`;
  const tokens = `query { health { ${'healthy '.repeat(300)}} }`;

  it.each(TRANSPORTS)('refuses depth, alias and token bombs over %s', async (transport) => {
    for (const query of [deep, aliases, tokens]) {
      const result = await transports[transport](strict.url, TOKENS.viewer, query);
      expect(codes(result), query.slice(0, 40)).toEqual(['BAD_USER_INPUT']);
      expect(result.data ?? null).toBeNull();
    }
    expect((await transports[transport](strict.url, TOKENS.viewer, 'query { health { healthy } }')).errors).toBeUndefined();
  });

  it('names the limit hit and counts it in /metrics, on every transport and for repeated queries', async () => {
    const before = await scrape(strict.url);
    for (const transport of TRANSPORTS) {
      for (let round = 0; round < 2; round++) {
        const result = await transports[transport](strict.url, TOKENS.viewer, deep);
        expect(result.errors?.map((e) => e.extensions?.limit)).toEqual(['max_depth']);
      }
    }
    const after = await scrape(strict.url);
    const rejections = 2 * TRANSPORTS.length;
    expect(after('podgraph_query_limit_rejections_total{limit="max_depth"}') - before('podgraph_query_limit_rejections_total{limit="max_depth"}')).toBe(rejections);
    expect(after('podgraph_errors_total{code="BAD_USER_INPUT"}') - before('podgraph_errors_total{code="BAD_USER_INPUT"}')).toBe(rejections);
    expect(after('podgraph_query_limit_rejections_total{limit="max_aliases"}')).toBe(before('podgraph_query_limit_rejections_total{limit="max_aliases"}'));
  });

  it('answers the introspection query GraphiQL sends under the default limits, and refuses it when switched off', async () => {
    const query = getIntrospectionQuery();
    expect((await transports.http(server.url, TOKENS.viewer, query)).errors).toBeUndefined();
    const refused = await transports.http(strict.url, TOKENS.viewer, '{ __schema { queryType { name } } }');
    expect(refused.data ?? null).toBeNull();
    expect(new Set(codes(refused))).toEqual(new Set(['BAD_USER_INPUT']));
  });

  it('counts introspection in the depth limit', async () => {
    const deepSchema = `{ __schema { types { fields { type ${'{ ofType '.repeat(36)}{ name }${' }'.repeat(36)} } } } }`;
    for (const transport of TRANSPORTS) {
      const result = await transports[transport](server.url, TOKENS.viewer, deepSchema);
      expect(result.errors?.map((e) => [e.extensions?.code, e.extensions?.limit])).toEqual([['BAD_USER_INPUT', 'max_depth']]);
    }
  });

  it('makes list sizes count in the cost: 20 × logs(tail: 10000) is refused before it runs, one is not', async () => {
    const logs = (tail: string) => `container(ref: "pgt-no-such-container") { logs(tail: ${tail}) { message } }`;
    const twenty = (tail: string) => Array.from({ length: 20 }, (_, i) => `a${i}: ${logs(tail)}`).join(' ');
    for (const transport of TRANSPORTS) {
      for (const [query, variables] of [[`{ ${twenty('10000')} }`], [`query ($t: Int) { ${twenty('$t')} }`, { t: 10000 }]] as const) {
        const result = await transports[transport](server.url, TOKENS.viewer, query, variables);
        expect(result.errors?.map((e) => [e.extensions?.code, e.extensions?.limit]), transport).toEqual([['BAD_USER_INPUT', 'max_cost']]);
      }
      // Within the cost, it runs: the container is what is missing.
      expect(codes(await transports[transport](server.url, TOKENS.viewer, `{ ${logs('10000')} }`))).toEqual(['NOT_FOUND']);
    }
  });

  it('serves GraphiQL only when enabled', async () => {
    const page = (url: string) => fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await (await page(server.url)).text()).toContain('GraphiQL');
    expect(await (await page(strict.url)).text()).not.toContain('GraphiQL');
  });

  it('allows only the configured browser origins, never a wildcard', async () => {
    const preflight = (url: string, origin: string) =>
      fetch(`${url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await preflight(strict.url, 'https://lab.example')).headers.get('access-control-allow-origin')).toBe('https://lab.example');
    for (const url of [strict.url, server.url]) {
      const response = await preflight(url, 'https://evil.example');
      expect(response.headers.get('access-control-allow-origin') ?? '').not.toMatch(/evil|\*/);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });
});

describe('cross-site requests', async () => {
  // Authentication off: what a page on another site could otherwise do through a browser on this machine.
  const open = await startTestServer();
  const post = (url: string, urlPath: string, origin: string, body: string) =>
    fetch(`${url}${urlPath}`, { method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body });
  const upgrade = (url: string, origin: string) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { headers: { origin } });
      socket.on('open', () => {
        socket.close();
        resolve(101);
      });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('error', () => undefined);
    });

  it('refuses requests and WebSockets from other origins, on GraphQL and REST', async () => {
    const graphqlRefusal = await post(open.url, '/graphql', 'https://evil.example', JSON.stringify({ query: 'mutation { removeContainer(container: "x") { removed } }' }));
    expect(graphqlRefusal.status).toBe(403);
    expect(((await graphqlRefusal.json()) as Result<unknown>).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const restRefusal = await post(open.url, '/api/v1/containers', 'https://evil.example', JSON.stringify({ image: 'x', name: 'x' }));
    expect(restRefusal.status).toBe(403);
    expect(await upgrade(open.url, 'https://evil.example')).toBe(403);
    expect(await upgrade(open.url, 'null')).toBe(403);
  });

  it("accepts the server's own origin (GraphiQL) and the configured ones", async () => {
    expect(await upgrade(open.url, open.url)).toBe(101);
    expect(await upgrade(strict.url, 'https://lab.example')).toBe(101);
    const own = await fetch(`${open.url}/graphql`, {
      method: 'POST',
      headers: { origin: open.url, 'content-type': 'application/json' },
      body: JSON.stringify({ query: print(Health) }),
    });
    expect(((await own.json()) as Result<{ health: { healthy: boolean } }>).data?.health.healthy).toBe(true);
  });
});

describe('bounds', () => {
  it('refuses a request body over MAX_BODY_BYTES before reading it', async () => {
    const result = await transports.http(server.url, TOKENS.operator, `query { health { healthy } } # ${'x'.repeat(70_000)}`);
    expect(result.status).toBe(413);
    expect(codes(result)).toEqual(['PAYLOAD_TOO_LARGE']);
  });

  it('refuses a request body of unknown length (chunked) before reading it', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(JSON.stringify({ query: '{ health { healthy } }' }));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('bounds the operations running at once on one WebSocket', async () => {
    const target = await createOk('admin');
    const client = createClient({ url: `${strict.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: bearer(TOKENS.operator) });
    const run = (command: string) =>
      new Promise<Outcome<unknown>>((resolve) => {
        client.subscribe(
          { query: print(Exec), variables: { container: target.name, command } },
          { next: (result) => resolve(result as Outcome<unknown>), error: (errors) => resolve({ errors: errors as GraphQLFormattedError[] }), complete: () => undefined },
        );
      });
    try {
      const running = [run('sleep 1'), run('sleep 1')];
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(codes(await run('true'))).toEqual(['RATE_LIMITED']);
      expect((await Promise.all(running)).map(codes)).toEqual([[], []]);
      expect(codes(await run('true'))).toEqual([]);
    } finally {
      await client.dispose();
    }
  });

  it('closes a WebSocket whose message is over MAX_WS_PAYLOAD_BYTES, with a log line and a count', async () => {
    const before = await scrape(server.url);
    const result = await transports.ws(server.url, TOKENS.operator, `query { health { healthy } } # ${'x'.repeat(70_000)}`);
    expect(result.closeCode).toBe(1009);
    const counted = 'podgraph_errors_total{code="PAYLOAD_TOO_LARGE"}';
    expect((await scrape(server.url))(counted) - before(counted)).toBe(1);
    expect(logLinesOf(logLines)).toContainEqual(expect.objectContaining({ level: 40, code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', msg: expect.stringContaining('MAX_WS_PAYLOAD_BYTES') }));
  });
});

describe('metrics', () => {
  it('serves /metrics to tokens without a scope only, when authentication is on', async () => {
    const status = async (token: string | undefined) => (await fetch(`${server.url}/metrics`, { headers: bearer(token) })).status;
    expect(await status(undefined)).toBe(401);
    expect(await status('not-a-token')).toBe(401);
    expect(await status(TOKENS.scoped)).toBe(403);
    expect(await status(TOKENS.viewer)).toBe(200);
    const refused = await fetch(`${server.url}/metrics`, { headers: bearer(TOKENS.scoped) });
    expect(await refused.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'FORBIDDEN' } }] });
  });

  it('counts every error answered, by code, on GraphQL and REST alike', async () => {
    const before = await scrape(server.url);
    for (const transport of TRANSPORTS) expect(codes(await send(transport, 'operator', Stop, { container: 'no-such-container' }))).toEqual(['NOT_FOUND']);
    const rest = await fetch(`${server.url}/api/v1/containers/no-such-container/logs`, { headers: bearer(TOKENS.viewer) });
    expect(rest.status).toBe(404);
    const after = await scrape(server.url);
    const counted = 'podgraph_errors_total{code="NOT_FOUND"}';
    expect(after(counted) - before(counted)).toBe(TRANSPORTS.length + 1);
  });
});

describe('rate limit', () => {
  it('refuses a burst of mutations past the bucket on every transport, with a retry hint', async () => {
    const outcomes: Array<Outcome<unknown>> = [];
    for (let i = 0; i < 15; i++) outcomes.push(await send('http', 'burst', Stop, { container: 'no-such-container' }, strict));
    expect(outcomes.flatMap(codes).filter((c) => c === 'RATE_LIMITED')).toEqual([]);
    const limited = await send('http', 'burst', Stop, { container: 'no-such-container' }, strict);
    expect(limited.status).toBe(429);
    expect(codes(limited)).toEqual(['RATE_LIMITED']);
    expect(limited.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    for (const transport of ['sse', 'ws'] as const) {
      const refused = await send(transport, 'burst', Stop, { container: 'no-such-container' }, strict);
      expect(codes(refused)).toEqual(['RATE_LIMITED']);
      expect(Object.keys(refused.errors![0]!.extensions!).sort()).toEqual(['code', 'retryAfterSeconds']);
    }
    expect(logLinesOf(strictLog).filter((line) => line.outcome === 'RATE_LIMITED')).toContainEqual(
      expect.objectContaining({ audit: true, tokenId: 'burst', action: 'stopContainer' }),
    );
    // Reads are not limited, nor are other tokens.
    expect((await send('http', 'burst', Health, undefined, strict)).errors).toBeUndefined();
    expect(codes(await send('http', 'operator', Stop, { container: 'no-such-container' }, strict))).toEqual(['NOT_FOUND']);
  });
});

describe('audit log', () => {
  it('writes one line per action with token, action, container and outcome, never a password', async () => {
    const target = await createOk('admin', { labels: [{ key: 'lab', value: LAB }] });
    logLines.length = 0;
    await send('http', 'scoped', AddUser, { container: target.name, password: PASSWORD });
    await send('http', 'viewer', AddUser, { container: target.name, password: PASSWORD });
    const audit = logLinesOf(logLines).filter((line) => line.audit);
    expect(audit).toEqual([
      expect.objectContaining({ tokenId: 'scoped', role: 'operator', action: 'USER_ADD', container: target.name, username: 'student', outcome: 'ok' }),
      // Refused before the service ran: the container is only the reference it named.
      expect.objectContaining({ tokenId: 'viewer', role: 'viewer', action: 'USER_ADD', ref: target.name, outcome: 'FORBIDDEN' }),
    ]);
    expect(logLines.join('\n')).not.toContain(PASSWORD);
    expect(logLines.join('\n')).not.toContain(TOKENS.scoped);
  });

  it('records a terminal once per session, with the bytes each token typed, not once per keystroke', async () => {
    const target = await createOk('admin');
    logLines.length = 0;
    const opened = await send('http', 'operator', OpenTerminalId, { container: target.name, args: ['/bin/sh'] });
    const id = opened.data!.openTerminal.id;
    for (const key of ['e', 'c', 'h', 'o', '\n']) expect(codes(await send('http', 'operator', TerminalInput, { id, data: key }))).toEqual([]);
    expect(codes(await send('http', 'admin', TerminalInput, { id, data: 'true\n' }))).toEqual([]);
    expect(codes(await send('http', 'viewer', TerminalInput, { id, data: 'id\n' }))).toEqual(['FORBIDDEN']);
    expect(codes(await send('http', 'operator', CloseTerminal, { id }))).toEqual([]);
    const session = () => logLinesOf(logLines).filter((line) => line.action === 'TERMINAL_CLOSE');
    await expect.poll(session, { timeout: 10_000 }).toHaveLength(1);
    expect(session()[0]).toMatchObject({ audit: true, terminal: id, container: target.name, openedBy: 'operator', typedBytes: { operator: 5, admin: 5 } });
    // The session's record and the close's answer race; only which lines there are matters.
    const actions = logLinesOf(logLines).filter((line) => line.audit).map((line) => `${line.action} ${line.outcome ?? ''}`.trim());
    expect(actions.sort()).toEqual(['TERMINAL_CLOSE ok', 'TERMINAL_OPEN ok', 'closeTerminal ok', 'terminalInput FORBIDDEN']);
  });
});

