import { describe, expect, it } from 'vitest';
import { groupLines, passwdLines, shadowLines } from '../src/core/accounts.js';
import { sha512Crypt } from '../src/core/shacrypt.js';
import { AddUser, ContainerUsers, Exec, ReadFile, RemoveUser, WriteFile } from './documents.js';
import type { AddUserInput } from './gql/graphql.js';
import { BUSYBOX_IMAGE, containerFactory, startTestServer, TEST_IMAGES, type TestServer } from './kit.js';

/** Every character a shell would act on, plus ':' (the chpasswd separator). */
const HOSTILE_PASSWORD = `it's $(touch /tmp/pwned) "x" \`touch /tmp/pwned2\` ; :colon: \\ end`;

/** What could end a field or a line of an account file, or mean something to a shell or a path. */
const INJECTIONS = {
  'line feed': '\nevil::0:0::/root:/bin/sh\n',
  'carriage return': '\rtouch /tmp/pwned\r',
  colon: ':0:0::/root:/bin/sh',
  NUL: '\0evil',
  'command substitution': '$(touch /tmp/pwned)',
  backticks: '`touch /tmp/pwned`',
  semicolon: ';touch /tmp/pwned;',
  pipe: '|touch /tmp/pwned',
  quotes: `'"`,
  'parent directory': '../',
  '4 KiB': 'a'.repeat(4096),
  'é': 'é',
  'right-to-left override': '\u202e',
  space: ' x',
};

/** Each field with a payload in it, so that the payload is the only thing wrong with the input. */
const INJECTED_FIELDS: Record<string, (payload: string) => AddUserInput> = {
  username: (p) => ({ username: `stud${p}` }),
  home: (p) => ({ username: 'stud', home: `/home/${p}stud` }),
  shell: (p) => ({ username: 'stud', shell: `/bin/${p}sh` }),
  groups: (p) => ({ username: 'stud', groups: [`nogroup${p}`] }),
};

const ACCOUNT_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow'] as const;

/** The account files' bytes, base64. */
async function accountFiles(server: TestServer, container: string): Promise<Record<string, string>> {
  const read = async (path: string) => (await server.ok(ReadFile, { ref: container, path, encoding: 'BASE64' })).container.file.content;
  return Object.fromEntries(await Promise.all(ACCOUNT_FILES.map(async (path) => [path, await read(path)])));
}

const text = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('utf8');

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

    it('refuses every injection in every account field, changes nothing, then adds one line for a real user', async () => {
      const c = await create(image);
      const before = await accountFiles(server, c.name);
      for (const [field, inject] of Object.entries(INJECTED_FIELDS)) {
        for (const [label, payload] of Object.entries(INJECTIONS)) {
          const result = await server.execute(AddUser, { container: c.name, input: inject(payload) });
          const error = result.errors?.[0];
          expect(error?.extensions?.code, `${label} in ${field}`).toBe('BAD_USER_INPUT');
          const issues = error?.extensions?.issues as { field: string }[];
          expect(new Set(issues.map((issue) => issue.field.split('.')[0])), `${label} in ${field}`).toEqual(new Set([field]));
          expect(error?.message, `${label} in ${field}`).toContain(`${field}`);
        }
      }
      const fileAsHome = await server.execute(AddUser, { container: c.name, input: { username: 'stud', home: '/etc/passwd' } });
      expect(fileAsHome.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(fileAsHome.errors?.[0]?.message).toContain('home: /etc/passwd');

      expect(await accountFiles(server, c.name)).toEqual(before);
      expect(passwdLines(text(before['/etc/passwd'])).problems).toEqual([]);
      expect(groupLines(text(before['/etc/group'])).problems).toEqual([]);
      expect(shadowLines(text(before['/etc/shadow'])).problems).toEqual([]);
      expect(passwdLines(text(before['/etc/passwd'])).entries.filter((u) => u.uid === 0).map((u) => u.username)).toEqual(['root']);
      expect(await server.errorCode(ReadFile, { ref: c.name, path: '/tmp/pwned' })).toBe('NOT_FOUND');

      await server.ok(AddUser, { container: c.name, input: { username: 'legit', home: '/home/legit', shell: '/bin/sh' } });
      const passwd = text((await accountFiles(server, c.name))['/etc/passwd']);
      expect(passwd.startsWith(text(before['/etc/passwd']))).toBe(true);
      expect(passwd.slice(text(before['/etc/passwd']).length)).toMatch(/^legit:x:(\d+):\1::\/home\/legit:\/bin\/sh\n$/);
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

  it('refuses to edit account files it cannot parse, naming the file and line', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const malformed = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nhalf:x:1000\n';
    await server.ok(WriteFile, { container: c.name, input: { path: '/etc/passwd', content: malformed } });
    const before = await accountFiles(server, c.name);
    const result = await server.execute(AddUser, { container: c.name, input: { username: 'stud' } });
    expect(result.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(result.errors?.[0]?.message).toContain('/etc/passwd line 3');
    expect(await accountFiles(server, c.name)).toEqual(before);
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
