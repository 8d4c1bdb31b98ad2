import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Authenticator, bearerToken, connectionToken } from '../../src/auth/authenticator.js';
import { RateLimiter } from '../../src/auth/rate-limit.js';
import { ContainerScope } from '../../src/auth/scope.js';
import { ANONYMOUS } from '../../src/auth/tokens.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ContainerPolicy } from '../../src/core/policy.js';
import { AppError } from '../../src/errors.js';

const SECRET = 'a-long-enough-secret-0001';
const tokens = (list: unknown) => loadConfig({ AUTH_TOKENS: JSON.stringify(list) }).tokens;
const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as AppError).code;
  }
  return 'none';
};

describe('token configuration', () => {
  it('keeps only hashes, and accepts a SHA-256 in place of the secret', () => {
    const sha256 = createHash('sha256').update('another-long-secret-02').digest('hex');
    const records = tokens([
      { id: 'a', role: 'admin', token: SECRET },
      { id: 'b', role: 'viewer', sha256 },
    ]);
    expect(JSON.stringify(records)).not.toContain(SECRET);
    const auth = new Authenticator(records);
    expect(auth.authenticate(SECRET)).toMatchObject({ tokenId: 'a', role: 'admin' });
    expect(auth.authenticate('another-long-secret-02')).toMatchObject({ tokenId: 'b', role: 'viewer' });
    expect(codeOf(() => auth.authenticate('another-long-secret-03'))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => auth.authenticate(undefined))).toBe('UNAUTHENTICATED');
  });

  it('reads a token file, together with AUTH_TOKENS', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'podgraph-tokens-'));
    try {
      const file = path.join(dir, 'tokens.json');
      const sha256 = createHash('sha256').update('file-held-secret-0003').digest('hex');
      writeFileSync(file, JSON.stringify([{ id: 'from-file', role: 'operator', sha256, scope: { name: 'lab1-*' } }]));
      const records = loadConfig({ AUTH_TOKENS_FILE: file, AUTH_TOKENS: JSON.stringify([{ id: 'inline', role: 'admin', token: SECRET }]) }).tokens;
      const auth = new Authenticator(records);
      expect(auth.authenticate('file-held-secret-0003')).toMatchObject({ tokenId: 'from-file', role: 'operator' });
      expect(auth.authenticate(SECRET).tokenId).toBe('inline');
      expect(() => loadConfig({ AUTH_TOKENS_FILE: path.join(dir, 'missing.json') })).toThrow(/^Invalid AUTH_TOKENS_FILE .*: ENOENT$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is off with no tokens: everyone is the anonymous admin', () => {
    expect(new Authenticator([]).authenticate(undefined)).toBe(ANONYMOUS);
  });

  it.each([
    ['a short token', [{ id: 'a', role: 'admin', token: 'short' }]],
    ['an unknown role', [{ id: 'a', role: 'root', token: SECRET }]],
    ['both token and sha256', [{ id: 'a', role: 'admin', token: SECRET, sha256: 'a'.repeat(64) }]],
    ['a duplicate id', [{ id: 'a', role: 'admin', token: SECRET }, { id: 'a', role: 'viewer', token: `${SECRET}x` }]],
    ['a scope with nothing in it', [{ id: 'a', role: 'operator', token: SECRET, scope: {} }]],
    ['an unknown field', [{ id: 'a', role: 'admin', token: SECRET, extra: 1 }]],
  ])('refuses %s with one line that never shows the secret', (_, list) => {
    expect(() => tokens(list)).toThrow(ConfigError);
    try {
      tokens(list);
    } catch (error) {
      expect((error as Error).message).toMatch(/^Invalid AUTH_TOKENS/);
      expect((error as Error).message).not.toContain(SECRET);
    }
  });

  it('does not echo malformed JSON, which may hold a secret', () => {
    expect(() => loadConfig({ AUTH_TOKENS: `[{"token": "${SECRET}"` })).toThrow(/^Invalid AUTH_TOKENS: not valid JSON$/);
  });

  it('refuses a non-loopback address without tokens, and allows it with them', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/Refusing to listen on 0\.0\.0\.0 without authentication/);
    expect(loadConfig({ HOST: '127.0.0.2' }).tokens).toEqual([]);
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_TOKENS: JSON.stringify([{ id: 'a', role: 'admin', token: SECRET }]) }).tokens).toHaveLength(1);
  });

  it('reads the token from a Bearer header or from connectionParams', () => {
    expect(bearerToken(`Bearer ${SECRET}`)).toBe(SECRET);
    expect(bearerToken(`Basic ${SECRET}`)).toBeUndefined();
    expect(connectionToken({ authorization: `Bearer ${SECRET}` })).toBe(SECRET);
    expect(connectionToken({ token: SECRET })).toBe(SECRET);
    expect(connectionToken(undefined)).toBeUndefined();
  });
});

describe('container scope', () => {
  const scope = new ContainerScope({ name: 'lab1-*', labels: ['lab=web-101'] });

  it('needs the name pattern and every label', () => {
    expect(scope.allows({ name: 'lab1-alice', labels: { lab: 'web-101', x: 'y' } })).toBe(true);
    expect(scope.allows({ name: 'lab1-alice', labels: { lab: 'web-102' } })).toBe(false);
    expect(scope.allows({ name: 'lab2-alice', labels: { lab: 'web-101' } })).toBe(false);
    expect(scope.allows({ name: 'lab1xalice', labels: { lab: 'web-101' } })).toBe(false);
  });
});

describe('rate limiter', () => {
  it('allows a burst, then refuses with a retry hint until the bucket refills', () => {
    let now = 0;
    const limiter = new RateLimiter(3, 0.5, () => now);
    for (let i = 0; i < 3; i++) limiter.take('t');
    let refusal: AppError | undefined;
    try {
      limiter.take('t');
    } catch (error) {
      refusal = error as AppError;
    }
    expect(refusal?.code).toBe('RATE_LIMITED');
    expect(refusal?.details?.retryAfterSeconds).toBe(2);
    limiter.take('other');
    now = 2000;
    limiter.take('t');
  });
});

describe('container policy', () => {
  const config = loadConfig({ ALLOWED_BIND_ROOTS: '/srv/labs', IMAGE_ALLOWLIST: 'localhost/podgraph/*', MAX_MEMORY_BYTES: String(1024 ** 3) }).policy;
  const spec = {
    image: 'localhost/podgraph/busybox:latest',
    name: 'lab1-x',
    labels: {},
    volumes: [] as Array<{ source: string }>,
    privileged: false,
    hostNetwork: false,
    hostPid: false,
    hostIpc: false,
    capAdd: [] as string[],
    devices: [] as string[],
    ports: [] as Array<{ hostPort?: number }>,
  };
  const admin = { admin: true, scope: null };
  const UNPRIVILEGED = { admin: false, scope: null };
  const policy = new ContainerPolicy(config);
  const allowing = new ContainerPolicy({ ...config, allowPrivilegedForAdmins: true });

  it('fills in the default limits and caps requests at the maximum', () => {
    expect(policy.apply(spec, UNPRIVILEGED)).toMatchObject({ memoryBytes: 512 * 1024 ** 2, pidsLimit: 1024, cpus: 1 });
    expect(policy.apply({ ...spec, memoryBytes: 64 * 1024 ** 2 }, UNPRIVILEGED).memoryBytes).toBe(64 * 1024 ** 2);
    expect(codeOf(() => policy.apply({ ...spec, memoryBytes: 2 * 1024 ** 3 }, admin))).toBe('BAD_USER_INPUT');
  });

  it('allows host-level options to admins only, and only when configured', () => {
    for (const option of [{ privileged: true }, { hostNetwork: true }, { hostPid: true }, { hostIpc: true }, { capAdd: ['SYS_ADMIN'] }, { devices: ['/dev/fuse'] }]) {
      expect(codeOf(() => policy.apply({ ...spec, ...option }, admin))).toBe('FORBIDDEN');
      expect(codeOf(() => allowing.apply({ ...spec, ...option }, UNPRIVILEGED))).toBe('FORBIDDEN');
      expect(codeOf(() => allowing.apply({ ...spec, ...option }, admin))).toBe('none');
    }
  });

  it('publishes on host ports in the allowed ranges only; beyond them, admins when configured', () => {
    const publishing = (...hostPorts: Array<number | undefined>) => ({ ...spec, ports: hostPorts.map((hostPort) => ({ hostPort })) });
    expect(codeOf(() => policy.apply(publishing(8080, 65535, undefined, 0), UNPRIVILEGED))).toBe('none');
    for (const port of [22, 80, 1023]) {
      expect(codeOf(() => policy.apply(publishing(8080, port), admin)), String(port)).toBe('FORBIDDEN');
      expect(codeOf(() => allowing.apply(publishing(port), UNPRIVILEGED)), String(port)).toBe('FORBIDDEN');
      expect(codeOf(() => allowing.apply(publishing(port), admin)), String(port)).toBe('none');
    }
    const closed = new ContainerPolicy({ ...config, allowedHostPorts: [] });
    expect(codeOf(() => closed.apply(publishing(undefined), UNPRIVILEGED))).toBe('FORBIDDEN');
    expect(codeOf(() => closed.apply(spec, UNPRIVILEGED))).toBe('none');
    const narrow = new ContainerPolicy({ ...config, allowedHostPorts: [{ from: 8000, to: 8999 }] });
    expect(codeOf(() => narrow.apply(publishing(8999), UNPRIVILEGED))).toBe('none');
    expect(codeOf(() => narrow.apply(publishing(9000), UNPRIVILEGED))).toBe('FORBIDDEN');
  });

  it('binds host paths only under the allowed roots, and images only from the allowlist', () => {
    expect(codeOf(() => policy.apply({ ...spec, volumes: [{ source: '/srv/labs/a' }] }, UNPRIVILEGED))).toBe('none');
    expect(codeOf(() => policy.apply({ ...spec, volumes: [{ source: 'named-volume' }] }, UNPRIVILEGED))).toBe('none');
    expect(codeOf(() => policy.apply({ ...spec, volumes: [{ source: '/srv/labsx' }] }, admin))).toBe('FORBIDDEN');
    expect(codeOf(() => policy.apply({ ...spec, volumes: [{ source: '/' }] }, admin))).toBe('FORBIDDEN');
    expect(codeOf(() => policy.apply({ ...spec, image: 'docker.io/library/alpine' }, admin))).toBe('FORBIDDEN');
  });

  it("keeps a scoped requester to its names and gives the container its labels", () => {
    const scoped = { admin: false, scope: new ContainerScope({ name: 'lab1-*', labels: ['lab=web-101'] }) };
    expect(policy.apply({ ...spec, labels: { lab: 'other', a: 'b' } }, scoped).labels).toEqual({ lab: 'web-101', a: 'b' });
    expect(codeOf(() => policy.apply({ ...spec, name: 'lab2-x' }, scoped))).toBe('FORBIDDEN');
  });
});
