import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from '../src/http/rest/openapi.js';
import { ROUTES } from '../src/http/rest/routes.js';
import { authTokens, TOKENS } from './auth-kit.js';
import { BUSYBOX_IMAGE, startTestServer, uniqueName, UNSCOPED } from './kit.js';
import { restClient, type RestAnswer } from './rest-client.js';

type Operation = { requestBody?: { content: Record<string, { schema: object }> }; responses: Record<string, { content: Record<string, { schema: object }> }> };
const operations = openApiDocument.paths as unknown as Record<string, Record<string, Operation>>;

// zod resolves local refs under $defs only, so the components move there for checking.
const underDefs = (value: object): Record<string, unknown> => JSON.parse(JSON.stringify(value).replaceAll('#/components/schemas/', '#/$defs/'));
const defs = underDefs(openApiDocument.components.schemas);
const compile = (schema: object) =>
  z.fromJSONSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...underDefs(schema), $defs: defs } as Parameters<typeof z.fromJSONSchema>[0]);

/** Fails unless the answer's status is documented for the operation and its body fits that status's schema. */
function expectDocumented(method: string, path: string, answer: RestAnswer): void {
  const operation = operations[path]?.[method.toLowerCase()];
  expect(operation, `${method} ${path} is documented`).toBeDefined();
  const response = operation!.responses[String(answer.status)];
  expect(response, `${method} ${path} answered ${answer.status}, documented: ${Object.keys(operation!.responses)}`).toBeDefined();
  const result = compile(response!.content['application/json']!.schema).safeParse(answer.body);
  expect(result.success, `${method} ${path} ${answer.status}: ${JSON.stringify(answer.body)}\n${result.error?.message}`).toBe(true);
}

function expectValidRequest(method: string, path: string, body: unknown): void {
  const schema = operations[path]![method.toLowerCase()]!.requestBody!.content['application/json']!.schema;
  const result = compile(schema).safeParse(body);
  expect(result.success, `request for ${method} ${path} fits its documented schema: ${result.error?.message}`).toBe(true);
}

describe('REST OpenAPI document', async () => {
  const server = await startTestServer();
  const rest = restClient(server);
  const name = uniqueName('openapi');
  afterAll(() => server.app.services.containers.remove(UNSCOPED, name, true).catch(() => undefined));

  it('is served as JSON at /api/v1/openapi.json and documents exactly the routes there are', async () => {
    const answer = await rest('GET', '/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(answer.body.openapi).toBe('3.1.0');
    const documented = Object.entries(operations).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('every documented operation answers with a documented status and body', async () => {
    const missing = uniqueName('missing');
    // [method, documented path, path parameter, query, body]: success and failure cases, in an order that makes sense.
    const steps: Array<[string, string, string?, string?, unknown?]> = [
      ['GET', '/health'],
      ['GET', '/metrics'],
      ['GET', '/openapi.json'],
      ['POST', '/containers', undefined, '', { image: BUSYBOX_IMAGE, name, command: 'sleep 300', environment: { A: '1' }, ports: { '8080/tcp': null } }],
      ['POST', '/containers', undefined, '', { image: BUSYBOX_IMAGE, name }],
      ['POST', '/containers', undefined, '', { name }],
      ['POST', '/containers', undefined, '', { image: 'localhost/podgraph/none:0', name: missing }],
      ['GET', '/containers'],
      ['POST', '/containers/{name}/exec', name, '', { command: 'echo hi' }],
      ['POST', '/containers/{name}/exec', name, '', { command: ['sh', '-c', 'exit 2'], user: '65534' }],
      ['POST', '/containers/{name}/exec', missing, '', { command: 'true' }],
      ['POST', '/containers/{name}/exec', name, '', {}],
      ['POST', '/containers/{name}/users', name, '', { username: 'doc', password: 'pw', shell: '/bin/sh' }],
      ['POST', '/containers/{name}/users', name, '', { username: 'doc' }],
      ['POST', '/containers/{name}/files', name, '', { dest_path: '/tmp/doc.txt', content: 'x' }],
      ['POST', '/containers/{name}/files', name, '', { dest_path: 'doc.txt', content: 'x' }],
      ['GET', '/containers/{name}/logs', name, '?tail=5'],
      ['GET', '/containers/{name}/logs', name, '?tail=x'],
      ['GET', '/containers/{name}/logs', missing],
      ['POST', '/containers/{name}/stop', name],
      ['POST', '/containers/{name}/start', name],
      ['POST', '/containers/{name}/start', missing],
      ['POST', '/containers/{name}/stop', missing],
      ['DELETE', '/containers/{name}', name],
      ['DELETE', '/containers/{name}', name, '?force=perhaps'],
      ['DELETE', '/containers/{name}', name, '?force=true'],
      ['DELETE', '/containers/{name}', name],
    ];
    const exercised = new Set<string>();
    for (const [method, path, param, query = '', body] of steps) {
      const answer = await rest(method, path.replace('{name}', param ?? '') + query, body);
      expectDocumented(method, path, answer);
      if (answer.status === 200 && body !== undefined) expectValidRequest(method, path, body);
      exercised.add(`${method} ${path} ${answer.status}`);
    }
    for (const route of ROUTES) expect([...exercised].some((e) => e.startsWith(`${route.method} ${route.path} 200`)), `${route.method} ${route.path} succeeded`).toBe(true);
    for (const status of [400, 404, 409]) expect([...exercised].some((e) => e.endsWith(` ${status}`)), `some operation answered ${status}`).toBe(true);
  });

  it('answers as documented when a token is missing, lacks the role or is over its rate', async () => {
    const secured = await startTestServer({ AUTH_TOKENS: authTokens('openapi'), RATE_LIMIT_BURST: '1', RATE_LIMIT_PER_SECOND: '0.1' });
    expectDocumented('GET', '/containers', await restClient(secured)('GET', '/containers'));
    expectDocumented('POST', '/containers/{name}/stop', await restClient(secured, TOKENS.viewer)('POST', `/containers/${name}/stop`));
    const operator = restClient(secured, TOKENS.operator);
    const answers = [await operator('POST', `/containers/${name}/start`), await operator('POST', `/containers/${name}/start`)];
    expect(answers.map((a) => a.status)).toContain(429);
    for (const answer of answers) expectDocumented('POST', '/containers/{name}/start', answer);
  });

  it('answers as documented when the engine is unreachable', async () => {
    const down = restClient(await startTestServer({ DOCKER_HOST: 'unix:///nonexistent.sock' }));
    expectDocumented('GET', '/health', await down('GET', '/health'));
    expectDocumented('GET', '/containers', await down('GET', '/containers'));
    expectDocumented('POST', '/containers/{name}/exec', await down('POST', `/containers/${name}/exec`, { command: 'true' }));
  });
});
