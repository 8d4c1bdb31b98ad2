import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { LogLimits } from '../../src/core/logs/service.js';
import { selectEngine } from '../../src/engine/docker/connect.js';
import { fromEngineError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      maxWorkers: 10,
      requestTimeoutMs: 30_000,
      debug: false,
      logLevel: 'info',
    });
    expect(loadConfig({ DEBUG: 'true' }).logLevel).toBe('debug');
    expect(loadConfig({ CONTAINER_HOST: 'tcp://127.0.0.1:2375' }).engineHost).toBe('tcp://127.0.0.1:2375');
  });

  it('reads ALLOWED_HOST_PORTS as ports and ranges, or none', () => {
    expect(loadConfig({}).policy.allowedHostPorts).toEqual([{ from: 1024, to: 65535 }]);
    expect(loadConfig({ ALLOWED_HOST_PORTS: '8000-8999, 2222' }).policy.allowedHostPorts).toEqual([
      { from: 8000, to: 8999 },
      { from: 2222, to: 2222 },
    ]);
    expect(loadConfig({ ALLOWED_HOST_PORTS: 'none' }).policy.allowedHostPorts).toEqual([]);
    for (const bad of ['80-70', '0', '70000', 'http', '1-2-3']) {
      expect(() => loadConfig({ ALLOWED_HOST_PORTS: bad }), bad).toThrow(/^Invalid ALLOWED_HOST_PORTS=/);
    }
  });

  it('reads log files by default, only from an engine on a unix socket, and refuses a bad flag', () => {
    const readsFiles = (env: Record<string, string>) => {
      const logs = createApp(loadConfig(env), createLogger('silent')).services.logs as unknown as { limits: LogLimits };
      return logs.limits.readLogFiles;
    };
    expect(loadConfig({}).readLogFiles).toBe(true);
    expect(readsFiles({ DOCKER_HOST: 'unix:///run/engine.sock' })).toBe(true);
    expect(readsFiles({ DOCKER_HOST: 'unix:///run/engine.sock', READ_LOG_FILES: 'false' })).toBe(false);
    expect(readsFiles({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toBe(false);
    expect(() => loadConfig({ READ_LOG_FILES: 'sometimes' })).toThrow(/^Invalid READ_LOG_FILES="sometimes"/);
  });

  it('keeps a container index by default, none with CONTAINER_INDEX=false, and refuses a bad flag', () => {
    const index = (env: Record<string, string>) => createApp(loadConfig(env), createLogger('silent')).services.containerIndex;
    expect(index({})).toBeDefined();
    expect(index({ CONTAINER_INDEX: 'false' })).toBeUndefined();
    expect(() => loadConfig({ CONTAINER_INDEX: 'sometimes' })).toThrow(/^Invalid CONTAINER_INDEX="sometimes"/);
  });

  it('reads ALLOWED_HOSTS as lowercase names, adds a HOST that is a name, and refuses anything else', () => {
    expect(loadConfig({}).allowedHosts).toEqual([]);
    expect(loadConfig({ ALLOWED_HOSTS: 'Lab.Example.org, podgraph' }).allowedHosts).toEqual(['lab.example.org', 'podgraph']);
    expect(loadConfig({ HOST: 'Lab-Server.local', AUTH_TOKENS: '[{"id":"a","role":"admin","token":"a-secret-token-00001"}]' }).allowedHosts).toEqual(['lab-server.local']);
    expect(loadConfig({ HOST: '::1' }).allowedHosts).toEqual([]);
    for (const bad of ['*.example.org', 'http://lab.example.org', 'lab.example.org:4000', '-lab.example']) {
      expect(() => loadConfig({ ALLOWED_HOSTS: bad }), bad).toThrow(/^Invalid ALLOWED_HOSTS=/);
    }
  });

  it('gives read-only subscriptions their own, larger bucket', () => {
    expect(loadConfig({}).watchRateLimit).toEqual({ burst: 1000, perSecond: 100 });
    expect(loadConfig({ WATCH_RATE_LIMIT_BURST: '5', WATCH_RATE_LIMIT_PER_SECOND: '0.5' }).watchRateLimit).toEqual({ burst: 5, perSecond: 0.5 });
    expect(() => loadConfig({ WATCH_RATE_LIMIT_BURST: '0' })).toThrow(/^Invalid WATCH_RATE_LIMIT_BURST=/);
  });

  it('names the bad variable', () => {
    expect(() => loadConfig({ MAX_WORKERS: 'ten' })).toThrow(ConfigError);
    expect(() => loadConfig({ MAX_WORKERS: 'ten' })).toThrow(/^Invalid MAX_WORKERS="ten"/);
  });
});

describe('selectEngine', () => {
  it('prefers an explicit address', () => {
    expect(selectEngine('tcp://127.0.0.1:2375', { DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual({ url: 'tcp://127.0.0.1:2375', source: 'DOCKER_HOST' });
  });
});

describe('fromEngineError', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'ENGINE_UNAVAILABLE'],
    [{ code: 'ENOENT' }, 'ENGINE_UNAVAILABLE'],
    [{ statusCode: 404, json: { message: 'no such container' } }, 'NOT_FOUND'],
    [{ statusCode: 409, json: { message: 'name in use' } }, 'CONFLICT'],
    [{ statusCode: 500, json: { message: 'container name "x" is already in use' } }, 'CONFLICT'],
    [{ statusCode: 500, json: { message: 'x: image not known' } }, 'NOT_FOUND'],
    [{ statusCode: 500, json: { message: 'unable to find user nosuchuser: no matching entries in passwd file' } }, 'NOT_FOUND'],
    [{ statusCode: 500, json: { message: 'something odd' } }, 'INTERNAL'],
    [new Error('boom'), 'INTERNAL'],
  ])('maps %j to %s', (error, code) => {
    expect(fromEngineError(error).code).toBe(code);
  });
});
