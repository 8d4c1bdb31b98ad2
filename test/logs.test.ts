import { describe, expect, it, vi } from 'vitest';
import { DockerEngine } from '../src/engine/docker/engine.js';
import { ContainerLogs } from './documents.js';
import { containerFactory, LOG_SOURCES, startTestServer, TEST_IMAGES, type TestServer } from './kit.js';

/**
 * Prints five numbered lines, alternating stdout and stderr, with a multi-byte character. The
 * pause before line 3 puts it in a later second: Podman's API gives log times to the second.
 */
const FIVE_LINES =
  'for i in 1 2 3 4 5; do [ $i -eq 3 ] && sleep 1.1; if [ $((i % 2)) -eq 0 ]; then echo "err $i ✓" >&2; else echo "out $i ✓"; fi; sleep 0.05; done; sleep 3600';

async function waitForLines(server: TestServer, ref: string, count: number) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { container } = await server.ok(ContainerLogs, { ref, tail: 100 });
    if (container.logs.length >= count) return container.logs;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${count} log lines`);
}

describe.each(LOG_SOURCES)('logs, reading $label', async ({ env, readsFiles }) => {
  const server = await startTestServer({ MAX_LOG_TAIL: '1000', ...env });
  const create = containerFactory(server);

  it(`reads ${readsFiles ? 'the log file, not' : 'through'} the engine's log endpoint`, async () => {
    const c = await create(TEST_IMAGES[1].image, { args: ['sh', '-c', 'echo one; sleep 3600'], command: null });
    await waitForLines(server, c.name, 1);
    const engineLogs = vi.spyOn(DockerEngine.prototype, 'readLogs');
    try {
      expect((await server.ok(ContainerLogs, { ref: c.name })).container.logs.map((l) => l.message)).toEqual(['one']);
      expect(engineLogs.mock.calls.length > 0).toBe(!readsFiles);
    } finally {
      engineLogs.mockRestore();
    }
  });

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it('returns entries with timestamp, stream and message, oldest first', async () => {
      const c = await create(image, { args: ['sh', '-c', FIVE_LINES], command: null });
      const logs = await waitForLines(server, c.name, 5);
      expect(logs.map((l) => [l.stream, l.message])).toEqual([
        ['STDOUT', 'out 1 ✓'],
        ['STDERR', 'err 2 ✓'],
        ['STDOUT', 'out 3 ✓'],
        ['STDERR', 'err 4 ✓'],
        ['STDOUT', 'out 5 ✓'],
      ]);
      const times = logs.map((l) => Date.parse(l.timestamp!));
      expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);

      const tail = (await server.ok(ContainerLogs, { ref: c.name, tail: 2 })).container.logs;
      expect(tail.map((l) => l.message)).toEqual(['err 4 ✓', 'out 5 ✓']);
      expect((await server.ok(ContainerLogs, { ref: c.name, tail: 0 })).container.logs).toEqual([]);

      const since = new Date(times[2]!).toISOString();
      const fromThird = (await server.ok(ContainerLogs, { ref: c.name, since })).container.logs;
      expect(fromThird.map((l) => l.message)).toEqual(['out 3 ✓', 'err 4 ✓', 'out 5 ✓']);

      const bare = (await server.ok(ContainerLogs, { ref: c.name, timestamps: false })).container.logs;
      expect(bare[0]).toEqual({ cursor: logs[0]!.cursor, timestamp: null, stream: 'STDOUT', message: 'out 1 ✓' });
      expect(new Set(logs.map((l) => l.cursor)).size).toBe(5);
    });
  });

  it.each(TEST_IMAGES)('joins a long line the engine wrote in parts on $label', async ({ image }) => {
    const c = await create(image, { args: ['sh', '-c', "head -c 40000 /dev/zero | tr '\\000' x; echo; echo after; sleep 3600"], command: null });
    const logs = await waitForLines(server, c.name, 2);
    expect(logs.map((l) => l.message.length)).toEqual([40000, 5]);
    expect(logs[0]!.message).toMatch(/^x+$/);
  });

  it('keeps a line written in two pieces whole, whatever the tail (Podman 4 tail reads move its first piece to the line before)', async () => {
    // The pieces are more than a second apart, so they never share a (whole-second) timestamp.
    const c = await create(TEST_IMAGES[1].image, { args: ['sh', '-c', 'echo first; printf abc; sleep 1.2; echo def; echo last; sleep 3600'], command: null });
    await waitForLines(server, c.name, 3);
    for (const tail of [1, 2, 3]) {
      const logs = (await server.ok(ContainerLogs, { ref: c.name, tail })).container.logs;
      expect(logs.map((l) => l.message)).toEqual(['first', 'abcdef', 'last'].slice(-tail));
    }
  });

  it('reads a TTY container as one stream', async () => {
    const c = await create(TEST_IMAGES[1].image, { tty: true, args: ['sh', '-c', 'echo tty line; sleep 3600'], command: null });
    const logs = await waitForLines(server, c.name, 1);
    expect(logs).toEqual([expect.objectContaining({ stream: 'STDOUT', message: 'tty line' })]);
  });

  it('inspects the container once for it and its logs, though the logs ask by ID', async () => {
    const c = await create(TEST_IMAGES[1].image, { args: ['sh', '-c', 'echo one; sleep 3600'], command: null });
    await waitForLines(server, c.name, 1);
    const inspect = vi.spyOn(server.app.services.containers, 'get');
    try {
      expect((await server.ok(ContainerLogs, { ref: c.name })).container.logs.map((l) => l.message)).toEqual(['one']);
      expect(inspect).toHaveBeenCalledTimes(1);
    } finally {
      inspect.mockRestore();
    }
  });

  it('rejects a tail out of bounds and a since after until', async () => {
    const c = await create(TEST_IMAGES[1].image);
    expect(await server.errorCode(ContainerLogs, { ref: c.name, tail: 1001 })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(ContainerLogs, { ref: c.name, tail: -1 })).toBe('BAD_USER_INPUT');
    const result = await server.execute(ContainerLogs, { ref: c.name, since: '2030-01-02T00:00:00Z', until: '2030-01-01T00:00:00Z' });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(ContainerLogs, { ref: c.name, since: 'yesterday' })).toBe('BAD_USER_INPUT');
    expect(await server.errorCode(ContainerLogs, { ref: 'pgt-missing' })).toBe('NOT_FOUND');
  });
});
