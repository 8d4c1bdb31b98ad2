import { describe, expect, it, vi } from 'vitest';
import { ContainerExecutions, Exec, ExecutionQuery, StopContainer, WriteFile } from './documents.js';
import { BUSYBOX_IMAGE, containerFactory, processList, startTestServer, TEST_IMAGES } from './kit.js';

describe('exec', async () => {
  const server = await startTestServer({ MAX_OUTPUT_BYTES: '4096' });
  const create = containerFactory(server);

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it("answers a program the container cannot start as a shell does, in podgraph's words on either engine", async () => {
      const c = await create(image);
      const run = async (args: string[]) => (await server.ok(Exec, { container: c.name, input: { args } })).exec;
      expect(await run(['no-such-program'])).toMatchObject({ exitCode: 127, stdout: '', stderr: 'no-such-program: executable not found\n' });
      expect(await run(['/no/such/program'])).toMatchObject({ exitCode: 127, stdout: '', stderr: '/no/such/program: executable not found\n' });
      expect(await run(['/etc/passwd'])).toMatchObject({ exitCode: 126, stdout: '', stderr: '/etc/passwd: permission denied\n' });
      // An account the container lacks is the same answer for an exec's user as for a file's owner.
      const noUser = await server.execute(Exec, { container: c.name, input: { command: 'true', user: 'ghost' } });
      expect(noUser.errors?.[0]).toMatchObject({ message: 'No such user in the container: ghost', extensions: { code: 'NOT_FOUND' } });
      const noOwner = await server.execute(WriteFile, { container: c.name, input: { path: '/tmp/owned', content: 'x', owner: 'ghost' } });
      expect(noOwner.errors?.[0]).toMatchObject({ message: 'No such user in the container: ghost', extensions: { code: 'NOT_FOUND' } });
    });

    it('separates stdout and stderr, keeps their order, and reports the exit code', async () => {
      const c = await create(image);
      const { exec } = await server.ok(Exec, {
        container: c.name,
        // Two pipes give no order for writes microseconds apart; the pauses make it observable.
        input: { command: 'echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; exit 3' },
      });
      expect(exec).toMatchObject({
        exitCode: 3,
        stdout: 'out1\nout2\n',
        stderr: 'err1\n',
        output: 'out1\nerr1\nout2\n',
        success: false,
        timedOut: false,
        cancelled: false,
        truncated: false,
        command: ['/bin/sh', '-c', 'echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; exit 3'],
      });
      expect(exec.durationMs).toBeGreaterThanOrEqual(200);
    });

    it('runs an argument list as is, with no shell', async () => {
      const c = await create(image);
      const { exec } = await server.ok(Exec, { container: c.name, input: { args: ['echo', '$(id)', '; rm -rf /', "'quoted'"] } });
      expect(exec.stdout).toBe("$(id) ; rm -rf / 'quoted'\n");
      expect(exec.success).toBe(true);
    });

    it('passes stdin, env, workdir and user', async () => {
      const c = await create(image);
      const { exec } = await server.ok(Exec, {
        container: c.name,
        input: {
          command: 'cat; echo "[$GREETING]"; pwd; id -u',
          stdin: 'from stdin\n',
          env: [{ name: 'GREETING', value: 'hello world' }],
          workdir: '/tmp',
          user: 'nobody',
        },
      });
      expect(exec.stdout).toBe('from stdin\n[hello world]\n/tmp\n65534\n');
      expect(exec.user).toBe('nobody');
    });

    it('keeps multi-byte characters split across chunks and replaces invalid bytes', async () => {
      const c = await create(image);
      // "€" is E2 82 AC: its bytes arrive in separate writes, with a pause between them.
      const { exec } = await server.ok(Exec, {
        container: c.name,
        input: { command: "printf '\\342'; sleep 0.2; printf '\\202\\254 ok \\377\\376 end\\n'" },
      });
      expect(exec.stdout).toBe('€ ok \uFFFD\uFFFD end\n');
      expect(exec.success).toBe(true);
    });

    it('caps output and says so, reading the rest so the command finishes', async () => {
      const c = await create(image);
      const { exec } = await server.ok(Exec, {
        container: c.name,
        input: { command: 'i=0; while [ $i -lt 2000 ]; do echo "line $i of output"; i=$((i+1)); done; echo done >&2' },
      });
      expect(exec.truncated).toBe(true);
      expect(exec.exitCode).toBe(0);
      expect(Buffer.byteLength(exec.output)).toBeLessThanOrEqual(4096);
      expect(exec.stdout.startsWith('line 0 of output\n')).toBe(true);
    });

    it('kills the command and its children on timeout and says so, whichever user runs them', async () => {
      const c = await create(image);
      const started = Date.now();
      const { exec } = await server.ok(Exec, {
        container: c.name,
        input: { command: 'echo before; sleep 123 & sleep 124; echo never', timeoutSeconds: 1, user: 'nobody' },
      });
      expect(Date.now() - started).toBeLessThan(4000);
      expect(exec).toMatchObject({ timedOut: true, cancelled: false, success: false, exitCode: null });
      expect(exec.stdout).toBe('before\n');
      expect(await processList(server, c.name)).not.toMatch(/sleep 12[34]/);
    });
  });

  it('keeps a history of executions per container', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const first = (await server.ok(Exec, { container: c.name, input: { command: 'echo one' } })).exec;
    const second = (await server.ok(Exec, { container: c.name, input: { args: ['false'] } })).exec;
    expect((await server.ok(ExecutionQuery, { id: first.id })).execution).toMatchObject({ id: first.id, exitCode: 0, output: 'one\n' });
    const { container } = await server.ok(ContainerExecutions, { ref: c.name });
    expect(container.executions.map((e) => e.id)).toEqual([second.id, first.id]);
    expect(await server.errorCode(ExecutionQuery, { id: 'no-such-execution' })).toBe('NOT_FOUND');
  });

  it('records the container by ID and name, inspecting it only when the reference could be an ID', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const inspect = vi.spyOn(server.app.services.containers, 'inspectIn');
    try {
      const byName = (await server.ok(Exec, { container: c.name, input: { args: ['true'] } })).exec;
      expect(inspect).not.toHaveBeenCalled();
      const byId = (await server.ok(Exec, { container: c.id, input: { args: ['true'] } })).exec;
      const byPrefix = (await server.ok(Exec, { container: c.id.slice(0, 12), input: { args: ['true'] } })).exec;
      expect(inspect).toHaveBeenCalledTimes(2);
      for (const execution of [byName, byId, byPrefix]) expect(execution).toMatchObject({ containerId: c.id, containerName: c.name, exitCode: 0 });
    } finally {
      inspect.mockRestore();
    }
  });

  it('answers CONFLICT on a stopped container and NOT_FOUND on a missing one', async () => {
    const c = await create(BUSYBOX_IMAGE);
    await server.ok(StopContainer, { container: c.name });
    expect(await server.errorCode(Exec, { container: c.name, input: { command: 'true' } })).toBe('CONFLICT');
    expect(await server.errorCode(Exec, { container: 'pgt-missing', input: { command: 'true' } })).toBe('NOT_FOUND');
  });

  it('rejects invalid input', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const bad = [
      {},
      { command: '' },
      { args: [] },
      { command: 'true', args: ['true'] },
      { args: ['echo', 'nul\u0000byte'] },
      { command: 'true', workdir: 'relative' },
      { command: 'true', user: 'bad user' },
      { command: 'true', user: '-u' },
      { command: 'true', user: '2147483648' },
      { command: 'true', timeoutSeconds: 0 },
      { command: 'true', timeoutSeconds: 100000 },
      { command: 'true', env: [{ name: '1X', value: 'y' }] },
    ];
    for (const input of bad) {
      expect(await server.errorCode(Exec, { container: c.name, input }), JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
  });
});
