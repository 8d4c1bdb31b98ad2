import { describe, expect, it } from 'vitest';
import { HealthQuery } from './documents.js';
import { startTestServer } from './kit.js';

describe('health', async () => {
  const server = await startTestServer();

  it('reports the engine it talks to', async () => {
    const { health } = await server.ok(HealthQuery);
    expect(health.healthy).toBe(true);
    expect(health.engine?.name).toBe(process.env.PODGRAPH_ENGINE ?? 'podman');
    expect(health.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });
});
