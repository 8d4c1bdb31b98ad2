import { describe, expect, it } from 'vitest';
import {
  ContainerQuery,
  ContainersQuery,
  CreateContainer,
  ImagesQuery,
  RemoveContainer,
  RestartContainer,
  StartContainer,
  StopContainer,
} from './documents.js';
import { BUSYBOX_IMAGE, containerFactory, DEBIAN_IMAGE, startTestServer, TEST_IMAGES, TEST_LABEL, uniqueName } from './kit.js';

describe('containers', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it('creates and starts, with the inspect details', async () => {
      const c = await create(image, { env: [{ name: 'GREETING', value: 'hi there' }], labels: [{ key: 'lab', value: 'web-101' }] });
      expect(c.state).toBe('RUNNING');
      expect(c.id).toMatch(/^[0-9a-f]{64}$/);
      expect(c.shortId).toBe(c.id.slice(0, 12));
      expect(c.image).toContain('podgraph/');
      expect(c.command).toEqual(['sleep', '3600']);
      expect(c.startedAt).not.toBeNull();
      expect(c.exitCode).toBeNull();
      expect(c.labels).toContainEqual({ key: 'lab', value: 'web-101' });
      expect(c.tty).toBe(false);
    });

    it('stops, starts, restarts and removes, with states along the way', async () => {
      const c = await create(image);
      const stopped = (await server.ok(StopContainer, { container: c.name, timeoutSeconds: 5 })).stopContainer;
      expect(stopped.state).toBe('EXITED');
      expect(stopped.finishedAt).not.toBeNull();
      expect(stopped.exitCode).not.toBeNull();
      // Stopping a stopped container is a no-op, not an error.
      expect((await server.ok(StopContainer, { container: c.name })).stopContainer.state).toBe('EXITED');
      expect((await server.ok(StartContainer, { container: c.name })).startContainer.state).toBe('RUNNING');
      expect((await server.ok(RestartContainer, { container: c.name })).restartContainer.state).toBe('RUNNING');
      const removed = (await server.ok(RemoveContainer, { container: c.name, force: true })).removeContainer;
      expect(removed).toEqual({ id: c.id, name: c.name, removed: true });
      expect(await server.errorCode(ContainerQuery, { ref: c.name })).toBe('NOT_FOUND');
    });
  });

  it('finds a container by name, full ID and unique ID prefix', async () => {
    const c = await create(BUSYBOX_IMAGE);
    for (const ref of [c.name, c.id, c.id.slice(0, 12)]) {
      expect((await server.ok(ContainerQuery, { ref })).container.id).toBe(c.id);
    }
  });

  it('lists running and stopped containers, filtered by state, name and label', async () => {
    const running = await create(BUSYBOX_IMAGE, { labels: [{ key: 'listing', value: 'yes' }] });
    const stopped = await create(BUSYBOX_IMAGE, { labels: [{ key: 'listing', value: 'yes' }] });
    await server.ok(StopContainer, { container: stopped.name });

    const all = (await server.ok(ContainersQuery, { filter: { labels: ['listing=yes'] } })).containers;
    expect(all.map((c) => c.name).sort()).toEqual([running.name, stopped.name].sort());
    const exited = (await server.ok(ContainersQuery, { filter: { labels: ['listing=yes'], state: 'EXITED' } })).containers;
    expect(exited.map((c) => c.name)).toEqual([stopped.name]);
    const byName = (await server.ok(ContainersQuery, { filter: { nameContains: running.name.toUpperCase() } })).containers;
    expect(byName.map((c) => c.name)).toEqual([running.name]);
    // Inspect-only fields resolve lazily on list results too.
    expect(exited[0]!.finishedAt).not.toBeNull();
    expect(all.every((c) => c.labels.some((l) => l.key === TEST_LABEL))).toBe(true);
  });

  it('takes the command as a shell-like string or as an argument list', async () => {
    const fromString = await create(BUSYBOX_IMAGE, { command: `sh -c 'echo "a b" && sleep 3600'` });
    expect(fromString.command).toEqual(['sh', '-c', 'echo "a b" && sleep 3600']);
    const fromArgs = await create(BUSYBOX_IMAGE, { command: null, args: ['sleep', '3600'] });
    expect(fromArgs.command).toEqual(['sleep', '3600']);
  });

  it('refuses to remove a running container without force', async () => {
    const c = await create(BUSYBOX_IMAGE);
    expect(await server.errorCode(RemoveContainer, { container: c.name, force: false })).toBe('CONFLICT');
    expect(await server.errorCode(RemoveContainer, { container: c.name })).toBe('CONFLICT');
    expect((await server.ok(ContainerQuery, { ref: c.name })).container.state).toBe('RUNNING');
  });

  it('answers CONFLICT for a name in use and NOT_FOUND for a missing image or container', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const again = await server.execute(CreateContainer, { input: { image: BUSYBOX_IMAGE, name: c.name, command: 'sleep 1' } });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const noImage = await server.execute(CreateContainer, { input: { image: 'localhost/podgraph/nope:1', name: uniqueName('x') } });
    expect(noImage.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const missing = { container: 'pgt-does-not-exist' };
    expect(await server.errorCode(StartContainer, missing)).toBe('NOT_FOUND');
    expect(await server.errorCode(StopContainer, missing)).toBe('NOT_FOUND');
    expect(await server.errorCode(RestartContainer, missing)).toBe('NOT_FOUND');
    expect(await server.errorCode(RemoveContainer, missing)).toBe('NOT_FOUND');
  });

  it('leaves no container behind when the start fails', async () => {
    const name = uniqueName('orphan');
    const result = await server.execute(CreateContainer, {
      // Without init the engine itself execs the command, so the start fails.
      input: { image: BUSYBOX_IMAGE, name, args: ['/no/such/binary'], init: false, labels: [{ key: TEST_LABEL, value: '1' }] },
    });
    expect(result.errors?.[0]?.extensions?.code).toMatch(/BAD_USER_INPUT|INTERNAL/);
    expect(await server.errorCode(ContainerQuery, { ref: name })).toBe('NOT_FOUND');
  });

  it('rejects invalid input before it reaches the engine', async () => {
    const bad = [
      { image: BUSYBOX_IMAGE, name: 'bad name!' },
      { image: 'UPPER CASE', name: uniqueName('x') },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), command: 'sh -c "unterminated' },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), command: 'a', args: ['b'] },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), ports: [{ containerPort: 70000 }] },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), volumes: [{ source: 'relative/path', target: '/data' }] },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), volumes: [{ source: 'vol', target: '/data/../etc' }] },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), env: [{ name: 'BAD-NAME', value: 'x' }] },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), memoryBytes: 1024 },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), workdir: 'tmp' },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), command: '\ud800' },
      { image: 'NaN', name: uniqueName('x') },
      { image: 'Busybox', name: uniqueName('x') },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), cpus: 0.001 },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), user: '-1' },
      { image: BUSYBOX_IMAGE, name: uniqueName('x'), user: '0:2147483648' },
    ];
    for (const input of bad) {
      const result = await server.execute(CreateContainer, { input });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
    expect(await server.errorCode(StopContainer, { container: 'x', timeoutSeconds: -1 })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(ContainerQuery, { ref: '../etc' })).toBe('BAD_USER_INPUT');
  });

  it('applies resource limits, workdir, user and env', async () => {
    const c = await create(DEBIAN_IMAGE, {
      memoryBytes: 64 * 1024 * 1024,
      pidsLimit: 64,
      cpus: 0.5,
      workdir: '/tmp',
      user: 'nobody',
      env: [{ name: 'LAB', value: 'one two' }],
    });
    expect(c.state).toBe('RUNNING');
    const info = await server.app.services.containers.get(c.id);
    expect(info.details?.workdir).toBe('/tmp');
    expect(info.details?.user).toBe('nobody');
  });

  it('lists local images', async () => {
    const { images } = await server.ok(ImagesQuery);
    const tags = images.flatMap((i) => i.tags);
    expect(tags).toEqual(expect.arrayContaining([DEBIAN_IMAGE, BUSYBOX_IMAGE]));
  });
});

describe.each([
  { label: 'from the container index', env: {} as Record<string, string> },
  { label: 'from the engine (CONTAINER_INDEX=false)', env: { CONTAINER_INDEX: 'false' } },
])('one container, one answer, listed $label', async ({ env }) => {
  const server = await startTestServer(env);
  const create = containerFactory(server);

  it('lists the command as its argument list, as inspecting it does, not split at spaces', async () => {
    const command = ['sh', '-c', 'i=0; while true; do i=$((i+1)); sleep 60; done'];
    const c = await create(BUSYBOX_IMAGE, { command: null, args: command });
    const { containers } = await server.ok(ContainersQuery, { filter: { nameContains: c.name } });
    const { container } = await server.ok(ContainerQuery, { ref: c.name });
    expect(containers.map((listed) => listed.command)).toEqual([command]);
    expect(container?.command).toEqual(command);
  });
});
