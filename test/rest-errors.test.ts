import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { toRestError } from '../src/http/rest/errors.js';
import { humanUptime } from '../src/http/rest/routes.js';
import { BUSYBOX_IMAGE, containerFactory, startTestServer, uniqueName } from './kit.js';
import { expectError, RawBody, restClient } from './rest-client.js';

describe('REST errors', async () => {
  const server = await startTestServer();
  const rest = restClient(server);
  const create = containerFactory(server);
  const running = await create(BUSYBOX_IMAGE);
  const path = `/containers/${running.name}`;

  it('400 ValidationError: invalid JSON, a body that is not an object, missing or invalid fields, bad query values', async () => {
    const invalid: Array<[string, string, unknown]> = [
      ['POST', '/containers', new RawBody('{"image": ')],
      ['POST', '/containers', new RawBody('')],
      ['POST', '/containers', []],
      ['POST', '/containers', 'image'],
      ['POST', '/containers', 42],
      ['POST', '/containers', { name: uniqueName('noimage') }],
      ['POST', '/containers', { image: BUSYBOX_IMAGE }],
      ['POST', '/containers', { image: BUSYBOX_IMAGE, name: 'bad name!' }],
      ['POST', '/containers', { image: BUSYBOX_IMAGE, name: uniqueName('p'), ports: { http: '80' } }],
      ['POST', '/containers', { image: BUSYBOX_IMAGE, name: uniqueName('p'), ports: { '80': '99999' } }],
      ['POST', '/containers', { image: BUSYBOX_IMAGE, name: uniqueName('q'), command: 'sh -c "unterminated' }],
      ['POST', `${path}/exec`, {}],
      ['POST', `${path}/exec`, { command: '' }],
      ['POST', `${path}/users`, { password: 'x' }],
      ['POST', `${path}/users`, { username: 'Bad Name' }],
      ['POST', `${path}/users`, { username: 'newline', password: 'a\nroot::0:0::/:/bin/sh' }],
      ['POST', `${path}/files`, { dest_path: '/tmp/a' }],
      ['POST', `${path}/files`, { dest_path: 'relative.txt', content: 'x' }],
      ['POST', `${path}/files`, { dest_path: '/tmp/../etc/passwd', content: 'x' }],
      ['GET', `${path}/logs?tail=-1`, undefined],
      ['GET', `${path}/logs?tail=ten`, undefined],
      ['GET', `${path}/logs?tail=${server.app.services.logs.maxTail + 1}`, undefined],
      ['DELETE', `${path}?force=maybe`, undefined],
      ['DELETE', `${path}?force=`, undefined],
      ['POST', '/containers/%E0%A4%A/start', undefined],
    ];
    for (const [method, url, body] of invalid) {
      const answer = await rest(method, url, body);
      expectError(answer, 400, 'ValidationError');
    }
    // Errors name the REST fields, not the service's.
    expect((await rest('POST', `${path}/files`, { content: 'x' })).body.error.message).toMatch(/dest_path/);
    const env = await rest('POST', '/containers', { image: BUSYBOX_IMAGE, name: uniqueName('e'), environment: { 'BAD-NAME': 'x' } });
    expect(env.body.error.message).toMatch(/^Invalid input: environment\.BAD-NAME/);
  });

  it('404 for a missing container, a missing image and an unknown path', async () => {
    const missing = uniqueName('missing');
    for (const [method, url, body] of [
      ['POST', `/containers/${missing}/start`, undefined],
      ['POST', `/containers/${missing}/stop`, undefined],
      ['DELETE', `/containers/${missing}`, undefined],
      ['GET', `/containers/${missing}/logs`, undefined],
      ['POST', `/containers/${missing}/exec`, { command: 'true' }],
      ['POST', `/containers/${missing}/users`, { username: 'u' }],
      ['POST', `/containers/${missing}/files`, { dest_path: '/tmp/a', content: '' }],
      ['POST', '/containers', { image: 'localhost/podgraph/no-such-image:1', name: missing }],
    ] as const) {
      expectError(await rest(method, url, body), 404, 'PodmanAPIError');
    }
    expectError(await rest('GET', '/nothing-here'), 404, 'RouteNotFoundError');
    expectError(await rest('GET', '/containers/'), 404, 'RouteNotFoundError');
    expectError(await rest('GET', ''), 404, 'RouteNotFoundError');
  });

  it('405 with an Allow header for a known path and another method', async () => {
    const answer = await rest('PUT', '/containers');
    expectError(answer, 405, 'MethodNotAllowedError');
    expect(answer.headers.get('allow')).toBe('GET, POST');
    expect((await rest('GET', `${path}/exec`)).headers.get('allow')).toBe('POST');
  });

  it('408 when an exec runs past its time bound, and the command is stopped', async () => {
    const quick = await startTestServer({ REQUEST_TIMEOUT: '1' });
    const started = Date.now();
    const answer = await restClient(quick)('POST', `${path}/exec`, { command: 'sleep 30' });
    expectError(answer, 408, 'PodmanAPIError');
    expect(Date.now() - started).toBeLessThan(8000);
    const ps = await rest('POST', `${path}/exec`, { command: 'ps -o args | grep -c "^sleep 30" || true' });
    expect(ps.body.execution.output).toBe('0\n');
  });

  it('409 for a name in use, a duplicate user and removing a running container without force', async () => {
    expectError(await rest('POST', '/containers', { image: BUSYBOX_IMAGE, name: running.name }), 409, 'PodmanAPIError');
    expect((await rest('POST', `${path}/users`, { username: 'twice' })).status).toBe(200);
    expectError(await rest('POST', `${path}/users`, { username: 'twice' }), 409, 'PodmanAPIError');
    expectError(await rest('DELETE', path), 409, 'PodmanAPIError');
  });

  it('413 for a body over MAX_BODY_BYTES', async () => {
    const small = restClient(await startTestServer({ MAX_BODY_BYTES: '65536' }));
    const answer = await small('POST', `${path}/files`, { dest_path: '/tmp/big', content: 'x'.repeat(100_000) });
    expectError(answer, 413, 'PayloadTooLargeError');
    expect(answer.headers.get('connection')).toBe('close');
    expect((await small('POST', `${path}/files`, { dest_path: '/tmp/small', content: 'x'.repeat(60_000) })).status).toBe(200);
  });

  it('503 and an unhealthy /health when the engine is unreachable, at once', async () => {
    const down = restClient(await startTestServer({ DOCKER_HOST: 'unix:///nonexistent.sock' }));
    const started = Date.now();
    const health = await down('GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ success: false, status: 'unhealthy', podman: 'disconnected', error: { code: 503, type: 'PodmanAPIError' } });
    expectError(await down('GET', '/containers'), 503, 'PodmanAPIError');
    expectError(await down('POST', '/containers', { image: BUSYBOX_IMAGE, name: uniqueName('down') }), 503, 'PodmanAPIError');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('500 InternalError with a masked message and an id for anything unexpected', () => {
    const logged: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const { status, body } = toRestError(new Error('secret detail at /srv/x'), logger);
    expect(status).toBe(500);
    expect(body.error).toEqual({ message: expect.stringMatching(/^Internal server error \(id [0-9a-f-]{36}\)$/), code: 500, type: 'InternalError' });
    expect(JSON.stringify(body)).not.toContain('secret');
    expect(logged).toHaveLength(1);
    expect(toRestError(new AppError('NOT_FOUND', 'No such container: x'), logger).body.error.message).toBe('No such container: x');
  });

  it('formats uptime like the original', () => {
    expect(humanUptime(0)).toBe('0:00:00');
    expect(humanUptime(3723.9)).toBe('1:02:03');
    expect(humanUptime(86_400 + 5)).toBe('1 day, 0:00:05');
    expect(humanUptime(2 * 86_400 + 3 * 3600 + 4 * 60 + 5)).toBe('2 days, 3:04:05');
  });
});
