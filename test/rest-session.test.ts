import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerClient, selectEngine } from '../src/engine/docker/connect.js';
import { startTestServer, TEST_IMAGES, uniqueName, UNSCOPED } from './kit.js';
import { restClient, TIMESTAMP } from './rest-client.js';

describe('REST session', async () => {
  const server = await startTestServer();
  const rest = restClient(server);
  // REST bodies carry no labels, so containers made here are removed by name.
  const created: string[] = [];
  const newName = (prefix: string) => {
    const name = uniqueName(prefix);
    created.push(name);
    return name;
  };
  afterAll(() => Promise.all(created.map((name) => server.app.services.containers.remove(UNSCOPED, name, true).catch(() => undefined))));

  /** The logs text once it holds `needle`; the container prints right after it starts. */
  const logsOnceThere = async (name: string, query: string, needle: string) => {
    const started = Date.now();
    let logs = '';
    while (Date.now() - started < 5000 && !logs.includes(needle)) {
      const answer = await rest('GET', `/containers/${name}/logs${query}`);
      expect(answer.status).toBe(200);
      logs = answer.body.container.logs;
    }
    return logs;
  };

  const listed = async (name: string) => {
    const answer = await rest('GET', '/containers');
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(true);
    return (answer.body.containers as Array<{ name: string; status: string }>).find((c) => c.name === name);
  };

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it("runs the spec's typical client session with its exact bodies", async () => {
      const health = await rest('GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'healthy', podman: 'connected', timestamp: expect.stringMatching(TIMESTAMP) });

      const name = newName('session');
      const create = await rest('POST', '/containers', { image, name, command: 'sleep 300' });
      expect(create.status).toBe(200);
      expect(create.body).toEqual({ success: true, container: { id: expect.stringMatching(/^[0-9a-f]{12}$/), name, status: 'running' } });
      const id = create.body.container.id;

      expect(await listed(name)).toEqual({ id, name, status: 'running', image });

      const user = await rest('POST', `/containers/${name}/users`, { username: 'student', password: 'lab-pass-1', shell: '/bin/sh' });
      expect(user.status).toBe(200);
      expect(user.body).toEqual({ success: true, user: { username: 'student', created: true } });

      const grep = await rest('POST', `/containers/${name}/exec`, { command: 'grep student /etc/passwd' });
      expect(grep.status).toBe(200);
      expect(grep.body).toEqual({ success: true, execution: { exit_code: 0, output: expect.stringMatching(/^student:x:\d+:\d+:.*:\/bin\/sh\n$/), success: true, cancelled: false } });

      const content = 'flag{rest-compat}\n';
      const file = await rest('POST', `/containers/${name}/files`, { dest_path: '/tmp/x.txt', content });
      expect(file.status).toBe(200);
      expect(file.body).toEqual({ success: true, file: { dest_path: '/tmp/x.txt', size: content.length } });

      const cat = await rest('POST', `/containers/${name}/exec`, { command: 'cat /tmp/x.txt' });
      expect(cat.body.execution).toEqual({ exit_code: 0, output: content, success: true, cancelled: false });

      const whoami = await rest('POST', `/containers/${name}/exec`, { command: 'whoami', user: 'student' });
      expect(whoami.body.execution).toEqual({ exit_code: 0, output: 'student\n', success: true, cancelled: false });

      const logs = await rest('GET', `/containers/${name}/logs?tail=10`);
      expect(logs.status).toBe(200);
      expect(logs.body).toEqual({ success: true, container: { logs: '' } });

      const stop = await rest('POST', `/containers/${name}/stop`);
      expect(stop.status).toBe(200);
      expect(stop.body).toEqual({ success: true, container: { name, status: 'stopped' } });
      expect(['exited', 'stopped']).toContain((await listed(name))?.status);

      const remove = await rest('DELETE', `/containers/${name}?force=true`);
      expect(remove.status).toBe(200);
      expect(remove.body).toEqual({ success: true, container: { name, removed: true } });
      expect(await listed(name)).toBeUndefined();

      const metrics = await rest('GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toEqual({
        uptime_seconds: expect.any(Number),
        uptime_human: expect.stringMatching(/^\d+:\d{2}:\d{2}$/),
        active_threads: expect.any(Number),
        max_workers: server.app.services.pool.write.slots,
        timestamp: expect.stringMatching(TIMESTAMP),
      });
      expect(metrics.body.uptime_seconds).toBeGreaterThanOrEqual(0);
    });
  });

  it('maps ports, volumes (both forms) and environment onto the container', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pgt-rest-'));
    writeFileSync(path.join(root, 'task.txt'), 'from the host\n');
    mkdirSync(path.join(root, 'rw'));
    const bound = await startTestServer({ ALLOWED_BIND_ROOTS: root });
    const name = newName('mapped');
    try {
      const create = await restClient(bound)('POST', '/containers', {
        image: TEST_IMAGES[1].image,
        name,
        command: 'sleep 300',
        ports: { '8080': null, '53/udp': null },
        volumes: { [root]: { bind: '/lab', mode: 'ro' }, [path.join(root, 'rw')]: '/lab-rw' },
        environment: { LAB_MODE: 'exam' },
      });
      expect(create.status, JSON.stringify(create.body)).toBe(200);
      // Asked of the engine itself: the test Docker runs without a bridge, so no port is live.
      const info = await createDockerClient(selectEngine(process.env.DOCKER_HOST)).getContainer(name).inspect();
      expect(Object.keys(info.HostConfig.PortBindings ?? {}).sort()).toEqual(['53/udp', '8080/tcp']);
      const check = await rest('POST', `/containers/${name}/exec`, { command: 'cat /lab/task.txt; echo "$LAB_MODE"; touch /lab/x 2>/dev/null || echo read-only; touch /lab-rw/y && echo writable' });
      expect(check.body.execution.output).toBe('from the host\nexam\nread-only\nwritable\n');
    } finally {
      await server.app.services.containers.remove(UNSCOPED, name, true).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('splits a create command string like a shell, without running one; a list is the argv; logs are one text', async () => {
    const quoted = newName('quoted');
    const fromString = await rest('POST', '/containers', {
      image: TEST_IMAGES[1].image,
      name: quoted,
      command: `sh -c 'echo "$1|$2"; echo to-stderr >&2; exec sleep 300' probe "two  words" $(id)`,
    });
    expect(fromString.status).toBe(200);

    const listForm = newName('argv');
    const fromList = await rest('POST', '/containers', {
      image: TEST_IMAGES[1].image,
      name: listForm,
      command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; exec sleep 300'],
      environment: { LAB: 'rest', ATTEMPTS: 3 },
    });
    expect(fromList.status).toBe(200);

    // The quotes grouped words; the outer string never went through a shell, so $(id) stayed text.
    const logs = await logsOnceThere(quoted, '', 'to-stderr');
    expect(logs.split('\n').sort()).toEqual(['', 'to-stderr', 'two  words|$(id)']);
    expect(await logsOnceThere(listForm, '?tail=2', 'line5')).toBe('line4\nline5\n');
    const env = await rest('POST', `/containers/${listForm}/exec`, { command: 'echo "$LAB $ATTEMPTS"' });
    expect(env.body.execution.output).toBe('rest 3\n');
  });
});
