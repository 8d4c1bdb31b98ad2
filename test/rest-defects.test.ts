import { describe, expect, it } from 'vitest';
import { sha512Crypt } from '../src/core/shacrypt.js';
import { BUSYBOX_IMAGE, containerFactory, DEBIAN_IMAGE, startTestServer, TEST_IMAGES, uniqueName } from './kit.js';
import { expectError, restClient } from './rest-client.js';

/** Each test here would have failed against the original service (see the spec's list of defects). */
describe('REST: the original service defects', async () => {
  const server = await startTestServer();
  const rest = restClient(server);
  const create = containerFactory(server);

  const exec = async (container: string, command: string | string[], user?: string) => {
    const answer = await rest('POST', `/containers/${container}/exec`, { command, user });
    expect(answer.status).toBe(200);
    return answer.body.execution as { exit_code: number; output: string; success: boolean; cancelled: boolean };
  };

  it('force=false (and 0, no, absent) never removes a running container; only true/1/yes do', async () => {
    const c = await create(BUSYBOX_IMAGE);
    for (const query of ['?force=false', '?force=0', '?force=no', '?force=FALSE', '']) {
      expectError(await rest('DELETE', `/containers/${c.name}${query}`), 409, 'PodmanAPIError');
    }
    expect((await exec(c.name, 'true')).success).toBe(true);
    const removed = await rest('DELETE', `/containers/${c.name}?force=yes`);
    expect(removed.body).toEqual({ success: true, container: { name: c.name, removed: true } });
  });

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it('a password with quotes and $() is set exactly and runs nothing', async () => {
      const c = await create(image);
      const password = `it's "quoted" $(touch /tmp/pwned) \`touch /tmp/pwned2\`; :x`;
      const added = await rest('POST', `/containers/${c.name}/users`, { username: 'quoter', password, shell: '/bin/sh' });
      expect(added.body).toEqual({ success: true, user: { username: 'quoter', created: true } });

      expect((await exec(c.name, 'ls /tmp/pwned /tmp/pwned2')).exit_code).not.toBe(0);
      const hash = (await exec(c.name, ['grep', '^quoter:', '/etc/shadow'])).output.split(':')[1]!;
      expect(hash).toMatch(/^\$/);
      // Debian's chpasswd hashes with yescrypt (checked by perl's crypt inside); busybox gets SHA-512 crypt.
      const matches = async (candidate: string) =>
        hash.startsWith('$6$')
          ? sha512Crypt(candidate, hash.split('$')[2]) === hash
          : (await exec(c.name, ['perl', '-e', 'print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "yes" : "no"', candidate, hash])).output === 'yes';
      expect(await matches(password)).toBe(true);
      expect(await matches('wrong')).toBe(false);
    });
  });

  it('exec and user management work on an image with neither bash nor useradd', async () => {
    const c = await create(BUSYBOX_IMAGE);
    expect((await exec(c.name, 'command -v bash || command -v useradd')).exit_code).not.toBe(0);
    const added = await rest('POST', `/containers/${c.name}/users`, { username: 'boxuser', password: 'pw' });
    expect(added.status).toBe(200);
    expect(await exec(c.name, 'id -un', 'boxuser')).toEqual({ exit_code: 0, output: 'boxuser\n', success: true, cancelled: false });
  });

  it('file size counts bytes, not characters', async () => {
    const c = await create(DEBIAN_IMAGE);
    const content = 'héllo wörld ✓ 🧪\n';
    const file = await rest('POST', `/containers/${c.name}/files`, { dest_path: '/srv/lab/readme.txt', content });
    expect(file.body).toEqual({ success: true, file: { dest_path: '/srv/lab/readme.txt', size: Buffer.byteLength(content) } });
    expect(Buffer.byteLength(content)).toBeGreaterThan(content.length);
    expect((await exec(c.name, 'wc -c < /srv/lab/readme.txt')).output.trim()).toBe(String(Buffer.byteLength(content)));
  });

  it('a failure to read logs is an error, not a success carrying the error text', async () => {
    const answer = await rest('GET', `/containers/${uniqueName('nologs')}/logs?tail=10`);
    expectError(answer, 404, 'PodmanAPIError');
    expect(answer.body.container).toBeUndefined();
  });

  it('output that is not valid UTF-8 still answers, with stdout and stderr in one text', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const result = await exec(c.name, `printf 'a\\377b\\n'; echo err >&2; exit 3`);
    expect(result).toMatchObject({ exit_code: 3, success: false });
    // Docker copies the two pipes concurrently, so their relative order is not guaranteed.
    expect(result.output.split('\n').sort()).toEqual(['', 'a\uFFFDb', 'err']);
  });
});
