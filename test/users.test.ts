import { describe, expect, it } from 'vitest';
import { sha512Crypt } from '../src/core/shacrypt.js';
import { AddUser, ContainerUsers, Exec, ReadFile, RemoveUser } from './documents.js';
import { BUSYBOX_IMAGE, containerFactory, startTestServer, TEST_IMAGES, type TestServer } from './kit.js';

/** Every character a shell would act on, plus ':' (the chpasswd separator). */
const HOSTILE_PASSWORD = `it's $(touch /tmp/pwned) "x" \`touch /tmp/pwned2\` ; :colon: \\ end`;

async function shadowHash(server: TestServer, container: string, username: string): Promise<string> {
  const { container: c } = await server.ok(ReadFile, { ref: container, path: '/etc/shadow' });
  const line = c.file.content.split('\n').find((l) => l.startsWith(`${username}:`));
  return line?.split(':')[1] ?? '';
}

/** Checks a password against its shadow hash inside the container (Debian) or here (SHA-512 crypt). */
async function passwordMatches(server: TestServer, container: string, password: string, hash: string): Promise<boolean> {
  if (hash.startsWith('$6$')) return sha512Crypt(password, hash.split('$')[2]) === hash;
  const { exec } = await server.ok(Exec, {
    container,
    input: { args: ['perl', '-e', 'print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "match" : "differ"', '--', password, hash] },
  });
  return exec.stdout === 'match';
}

describe('users', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it('adds a user with a hostile password that works exactly and runs nothing', async () => {
      const c = await create(image);
      const { addUser } = await server.ok(AddUser, {
        container: c.name,
        input: { username: 'student1', password: HOSTILE_PASSWORD, shell: '/bin/sh', groups: ['nogroup'] },
      });
      expect(addUser).toMatchObject({ username: 'student1', home: '/home/student1', shell: '/bin/sh' });
      expect(addUser.uid).toBeGreaterThanOrEqual(1000);
      expect(addUser.groups).toContain('nogroup');

      const hash = await shadowHash(server, c.name, 'student1');
      expect(hash).toMatch(/^\$/);
      expect(await passwordMatches(server, c.name, HOSTILE_PASSWORD, hash)).toBe(true);
      expect(await passwordMatches(server, c.name, 'wrong', hash)).toBe(false);

      const check = await server.ok(Exec, {
        container: c.name,
        input: { command: 'ls /tmp/pwned /tmp/pwned2 2>&1; whoami; stat -c %U:%a "$HOME"', user: 'student1' },
      });
      expect(check.exec.stdout).toMatch(/No such file/);
      expect(check.exec.stdout).toContain('student1\nstudent1:');
    });

    it('lists users parsed from the account files', async () => {
      const c = await create(image);
      await server.ok(AddUser, { container: c.name, input: { username: 'lister', home: '/srv/lister' } });
      const { container } = await server.ok(ContainerUsers, { ref: c.name });
      expect(container.users.find((u) => u.username === 'root')).toMatchObject({ uid: 0, gid: 0, home: '/root' });
      expect(container.users.find((u) => u.username === 'lister')).toMatchObject({ home: '/srv/lister', groups: ['lister'] });
    });

    it('answers CONFLICT for a duplicate and removes users', async () => {
      const c = await create(image);
      await server.ok(AddUser, { container: c.name, input: { username: 'dup' } });
      expect(await server.errorCode(AddUser, { container: c.name, input: { username: 'dup' } })).toBe('CONFLICT');
      expect(await server.errorCode(AddUser, { container: c.name, input: { username: 'root' } })).toBe('CONFLICT');

      expect((await server.ok(RemoveUser, { container: c.name, username: 'dup', removeHome: true })).removeUser).toBe(true);
      const { container } = await server.ok(ContainerUsers, { ref: c.name });
      expect(container.users.map((u) => u.username)).not.toContain('dup');
      expect(await server.errorCode(RemoveUser, { container: c.name, username: 'dup' })).toBe('NOT_FOUND');
      const home = await server.ok(Exec, { container: c.name, input: { args: ['ls', '/home'] } });
      expect(home.exec.stdout).not.toContain('dup');
    });
  });

  it('refuses passwords and names it cannot pass safely, before touching the container', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const bad = [
      { username: 'x', password: 'line\nbreak' },
      { username: 'x', password: 'carriage\rreturn' },
      { username: 'x', password: '' },
      { username: '-rf' },
      { username: 'Upper' },
      { username: 'a:b' },
      { username: 'a b' },
      { username: 'x'.repeat(33) },
      { username: 'x', shell: 'bash' },
      { username: 'x', home: '/home/../etc' },
      { username: 'x', groups: ['bad group'] },
    ];
    for (const input of bad) {
      expect(await server.errorCode(AddUser, { container: c.name, input }), JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
    expect(await server.errorCode(AddUser, { container: c.name, input: { username: 'x', groups: ['nosuchgroup'] } })).toBe('NOT_FOUND');
    const { container } = await server.ok(ContainerUsers, { ref: c.name });
    expect(container.users.map((u) => u.username)).toEqual(['root', 'nobody']);
  });
});
