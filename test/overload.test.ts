import { describe, expect, it } from 'vitest';
import { ContainerQuery, ContainersQuery, Exec, ReadFile } from './documents.js';
import { BUSYBOX_IMAGE, containerFactory, startTestServer } from './kit.js';
import { restClient } from './rest-client.js';

describe('reads beside execs that hold every slot', async () => {
  const server = await startTestServer({ MAX_WORKERS: '2', MAX_QUEUE_WAIT: '1' });
  const create = containerFactory(server);
  const rest = restClient(server);

  it('answers lists, inspects and file reads, and refuses one more exec at once with a retry hint', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const { write } = server.app.services.pool;
    const long = [0, 1].map(() => server.execute(Exec, { container: c.name, input: { command: 'sleep 600', timeoutSeconds: 4 } }));
    // Both write slots held for longer than the bound: the lane now refuses newcomers.
    await expect.poll(() => write.impliedWaitMs(), { timeout: 30_000 }).toBeGreaterThan(1000);

    await server.ok(ContainersQuery);
    await server.ok(ContainerQuery, { ref: c.name });
    expect((await server.ok(ReadFile, { ref: c.name, path: '/etc/passwd' })).container?.file?.content).toMatch(/^root:/);
    expect((await rest('GET', '/containers')).status).toBe(200);

    const refused = await server.execute(Exec, { container: c.name, input: { command: 'true' } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(write.active).toBe(2);

    // Their own timeout ends the long execs, and frees the lane.
    for (const result of await Promise.all(long)) expect(result.data?.exec.timedOut).toBe(true);
    await expect.poll(() => write.active, { timeout: 30_000 }).toBe(0);
  });
});
