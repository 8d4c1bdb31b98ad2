import { describe, expect, it } from 'vitest';
import {
  AddUser,
  ContainerLogs,
  ContainersQuery,
  CreateContainer,
  Exec,
  HealthQuery,
  RemoveContainer,
  StopContainer,
  WriteFile,
} from './documents.js';
import { startTestServer, TEST_IMAGES, TEST_LABEL, uniqueName } from './kit.js';

// The original design's typical client session, step by step, through GraphQL.
describe('typical client session', async () => {
  const server = await startTestServer();

  it.each(TEST_IMAGES)('runs from health to removal on $label', async ({ image }) => {
    const name = uniqueName('session');
    expect((await server.ok(HealthQuery)).health.healthy).toBe(true);

    const created = await server.ok(CreateContainer, {
      input: { image, name, command: 'sleep 300', labels: [{ key: TEST_LABEL, value: '1' }] },
    });
    expect(created.createContainer.state).toBe('RUNNING');

    const listed = (await server.ok(ContainersQuery)).containers.find((c) => c.name === name);
    expect(listed?.state).toBe('RUNNING');

    await server.ok(AddUser, { container: name, input: { username: 'student', password: 's3cret!', shell: '/bin/sh' } });
    const grep = (await server.ok(Exec, { container: name, input: { command: 'grep student /etc/passwd' } })).exec;
    expect(grep.exitCode).toBe(0);
    expect(grep.stdout).toContain('student:x:');

    await server.ok(WriteFile, { container: name, input: { path: '/tmp/x.txt', content: 'exercise content' } });
    const cat = (await server.ok(Exec, { container: name, input: { command: 'cat /tmp/x.txt' } })).exec;
    expect(cat.stdout).toContain('exercise content');

    const whoami = (await server.ok(Exec, { container: name, input: { command: 'whoami', user: 'student' } })).exec;
    expect(whoami.stdout.trim()).toBe('student');

    const logs = await server.execute(ContainerLogs, { ref: name, tail: 10 });
    expect(logs.errors).toBeUndefined();
    expect(Array.isArray(logs.data?.container.logs)).toBe(true);

    await server.ok(StopContainer, { container: name });
    const stopped = (await server.ok(ContainersQuery, { filter: { nameContains: name } })).containers;
    expect(stopped.map((c) => c.state)).toEqual(['EXITED']);

    expect((await server.ok(RemoveContainer, { container: name, force: true })).removeContainer.removed).toBe(true);
    const after = (await server.ok(ContainersQuery, { filter: { nameContains: name } })).containers;
    expect(after).toEqual([]);

    expect((await server.ok(HealthQuery)).health.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });
});
