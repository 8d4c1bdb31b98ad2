import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { authTokens, TOKENS } from './auth-kit.js';
import { BUSYBOX_IMAGE, containerFactory, startTestServer, uniqueName, UNSCOPED } from './kit.js';
import { expectError, restClient } from './rest-client.js';

const LAB = `rest-${process.pid}`;

describe('REST under authentication: the same tokens, roles, scopes and rate limit as GraphQL', async () => {
  // Containers are made through a server without tokens, on the same engine.
  const open = await startTestServer();
  const create = containerFactory(open);
  const unscoped = await create(BUSYBOX_IMAGE);
  const logLines: string[] = [];
  const server = await startTestServer({ AUTH_TOKENS: authTokens(LAB) }, pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }));
  const auditLines = () => logLines.map((line) => JSON.parse(line)).filter((entry) => entry.audit);

  it('401 without a token or with an unknown one, on every route', async () => {
    for (const path of ['/health', '/containers', `/containers/${unscoped.name}/logs`]) {
      expectError(await restClient(server)('GET', path), 401, 'UnauthenticatedError');
      expectError(await restClient(server, 'not-a-configured-token')('GET', path), 401, 'UnauthenticatedError');
    }
    expectError(await restClient(server)('POST', `/containers/${unscoped.name}/exec`, { command: 'true' }), 401, 'UnauthenticatedError');
  });

  it('403 for a viewer that acts; reading is allowed', async () => {
    const viewer = restClient(server, TOKENS.viewer);
    expect((await viewer('GET', '/containers')).status).toBe(200);
    expect((await viewer('GET', `/containers/${unscoped.name}/logs`)).status).toBe(200);
    expectError(await viewer('POST', `/containers/${unscoped.name}/exec`, { command: 'true' }), 403, 'ForbiddenError');
    expectError(await viewer('DELETE', `/containers/${unscoped.name}?force=true`), 403, 'ForbiddenError');
    expectError(await viewer('POST', '/containers', { image: BUSYBOX_IMAGE, name: uniqueName('viewer') }), 403, 'ForbiddenError');
    expect((await restClient(server, TOKENS.operator)('POST', `/containers/${unscoped.name}/exec`, { command: 'true' })).status).toBe(200);
  });

  it('403 when the container policy refuses a REST body (a bind mount outside ALLOWED_BIND_ROOTS)', async () => {
    const body = { image: BUSYBOX_IMAGE, name: uniqueName('bind'), volumes: { '/etc': '/host-etc' } };
    expectError(await restClient(server, TOKENS.operator)('POST', '/containers', body), 403, 'ForbiddenError');
  });

  it('a scoped token sees and touches only its containers, and its creations carry its labels', async () => {
    const scoped = restClient(server, TOKENS.scoped);
    const mine = uniqueName('scoped');
    const created = await scoped('POST', '/containers', { image: BUSYBOX_IMAGE, name: mine, command: 'sleep 300' });
    try {
      expect(created.status).toBe(200);
      expect((await open.app.services.containers.get(mine)).labels.lab).toBe(LAB);
      const names = (await scoped('GET', '/containers')).body.containers.map((c: { name: string }) => c.name);
      expect(names).toContain(mine);
      expect(names).not.toContain(unscoped.name);
      expect((await scoped('POST', `/containers/${mine}/exec`, { command: 'true' })).status).toBe(200);

      for (const [method, path, body] of [
        ['POST', `/containers/${unscoped.name}/exec`, { command: 'true' }],
        ['GET', `/containers/${unscoped.name}/logs`, undefined],
        ['POST', `/containers/${unscoped.name}/stop`, undefined],
        ['DELETE', `/containers/${unscoped.name}?force=true`, undefined],
      ] as const) {
        expectError(await scoped(method, path, body), 404, 'PodmanAPIError');
      }
    } finally {
      await open.app.services.containers.remove(UNSCOPED, mine, true).catch(() => undefined);
    }
  });

  it('records every action with token, activity, container and outcome, as GraphQL does, and never its secrets', async () => {
    const operator = restClient(server, TOKENS.operator);
    const before = auditLines().length;
    await operator('POST', `/containers/${unscoped.name}/users`, { username: 'audited', password: 'audit-secret-pw' });
    await restClient(server, TOKENS.viewer)('POST', `/containers/${unscoped.name}/stop`);
    await operator('GET', '/containers');
    const lines = auditLines().slice(before);
    expect(lines).toEqual([
      expect.objectContaining({ tokenId: 'operator', role: 'operator', action: 'USER_ADD', container: unscoped.name, username: 'audited', outcome: 'ok' }),
      expect.objectContaining({ tokenId: 'viewer', action: 'CONTAINER_STOP', ref: unscoped.name, outcome: 'FORBIDDEN' }),
    ]);
    expect(logLines.join('\n')).not.toContain('audit-secret-pw');
  });

  it('answers browsers from CORS_ORIGINS only, preflight included', async () => {
    const allowed = 'https://lab.example';
    const cors = await startTestServer({ CORS_ORIGINS: allowed });
    const call = (method: string, origin: string, headers: Record<string, string> = {}) =>
      fetch(`${cors.url}/api/v1/containers`, { method, headers: { origin, ...headers } });

    const preflight = await call('OPTIONS', allowed, { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect((await call('GET', allowed)).headers.get('access-control-allow-origin')).toBe(allowed);

    for (const method of ['OPTIONS', 'GET']) {
      const foreign = await call(method, 'https://elsewhere.example', { 'access-control-request-method': 'POST' });
      expect(foreign.status).toBe(403);
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    }
    // Without CORS_ORIGINS no page but the server's own may call.
    expect((await fetch(`${server.url}/api/v1/containers`, { method: 'OPTIONS', headers: { origin: allowed } })).status).toBe(403);
  });

  it('429 with Retry-After once a token has used its burst of actions; reading is not counted', async () => {
    const limited = await startTestServer({ AUTH_TOKENS: authTokens(LAB), RATE_LIMIT_BURST: '2', RATE_LIMIT_PER_SECOND: '0.1' });
    const operator = restClient(limited, TOKENS.operator);
    for (let i = 0; i < 2; i++) expect((await operator('POST', `/containers/${unscoped.name}/exec`, { command: 'true' })).status).toBe(200);
    const refused = await operator('POST', `/containers/${unscoped.name}/exec`, { command: 'true' });
    expectError(refused, 429, 'RateLimitedError');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await operator('GET', '/containers')).status).toBe(200);
  });
});
