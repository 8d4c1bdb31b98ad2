import { describe, expect, it } from 'vitest';
import { authTokens, codes, containerMaker, sendAs } from './auth-kit.js';
import { AddUser, DeleteFile, Exec, FileMeta, ListDirectory, ReadFile, StopContainer, WriteFile } from './documents.js';
import { BUSYBOX_IMAGE, containerFactory, DEBIAN_IMAGE, startTestServer, TEST_IMAGES } from './kit.js';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('files', async () => {
  const server = await startTestServer({ MAX_FILE_BYTES: String(64 * 1024) });
  const create = containerFactory(server);

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it('writes UTF-8 text with a size in bytes and reads it back', async () => {
      const c = await create(image);
      const content = 'héllo wörld ✓\nline two\n';
      const { writeFile } = await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/x.txt', content } });
      expect(writeFile).toMatchObject({ path: '/tmp/x.txt', type: 'FILE', size: Buffer.byteLength(content), mode: 0o644, uid: 0, gid: 0 });
      expect(writeFile.size).not.toBe(content.length);

      const read = (await server.ok(ReadFile, { ref: c.name, path: '/tmp/x.txt' })).container.file;
      expect(read).toMatchObject({ content, size: Buffer.byteLength(content), isText: true, modeOctal: '0644', type: 'FILE' });
      const cat = await server.ok(Exec, { container: c.name, input: { args: ['cat', '/tmp/x.txt'] } });
      expect(cat.exec.stdout).toBe(content);
    });

    it('round-trips binary content byte for byte, and allows an empty file', async () => {
      const c = await create(image);
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/bin', content: ALL_BYTES.toString('base64'), encoding: 'BASE64' } });
      const read = (await server.ok(ReadFile, { ref: c.name, path: '/tmp/bin', encoding: 'BASE64' })).container.file;
      expect(Buffer.from(read.content, 'base64').equals(ALL_BYTES)).toBe(true);
      expect(read).toMatchObject({ size: 256, isText: false });
      expect(await server.errorCode(ReadFile, { ref: c.name, path: '/tmp/bin', encoding: 'UTF8' })).toBe('BAD_USER_INPUT');

      const empty = await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/empty', content: '' } });
      expect(empty.writeFile.size).toBe(0);
      expect((await server.ok(ReadFile, { ref: c.name, path: '/tmp/empty' })).container.file.content).toBe('');
    });

    it('sets mode and owner, creating missing parents owned likewise', async () => {
      const c = await create(image);
      await server.ok(AddUser, { container: c.name, input: { username: 'owner1' } });
      const { writeFile } = await server.ok(WriteFile, {
        container: c.name,
        input: { path: '/home/owner1/lab/one/secret.txt', content: 'flag', mode: 0o600, owner: 'owner1' },
      });
      expect(writeFile.mode).toBe(0o600);
      const stat = await server.ok(Exec, {
        container: c.name,
        input: { args: ['stat', '-c', '%U:%G %a %s', '/home/owner1/lab/one/secret.txt', '/home/owner1/lab'] },
      });
      const [file, dir] = stat.exec.stdout.split('\n');
      expect(file).toBe('owner1:owner1 600 4');
      expect(dir).toMatch(/^owner1:owner1 755 /);
      const numeric = await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/n', content: 'x', owner: '1234:4321' } });
      expect(numeric.writeFile).toMatchObject({ uid: 1234, gid: 4321 });
      // The existing /tmp keeps its sticky, world-writable mode.
      const tmp = await server.ok(Exec, { container: c.name, input: { args: ['stat', '-c', '%a', '/tmp'] } });
      expect(tmp.exec.stdout).toBe('1777\n');
    });

    it('overwrites, deletes, and answers NOT_FOUND and CONFLICT where it should', async () => {
      const c = await create(image);
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/over', content: 'first version' } });
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/over', content: 'second' } });
      expect((await server.ok(ReadFile, { ref: c.name, path: '/tmp/over' })).container.file.content).toBe('second');

      expect((await server.ok(DeleteFile, { container: c.name, path: '/tmp/over' })).deleteFile).toBe(true);
      expect(await server.errorCode(FileMeta, { ref: c.name, path: '/tmp/over' })).toBe('NOT_FOUND');
      expect(await server.errorCode(DeleteFile, { container: c.name, path: '/tmp/over' })).toBe('NOT_FOUND');

      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/dir/a', content: 'a' } });
      expect(await server.errorCode(DeleteFile, { container: c.name, path: '/tmp/dir' })).toBe('CONFLICT');
      expect(await server.errorCode(WriteFile, { container: c.name, input: { path: '/tmp/dir', content: 'x' } })).toBe('CONFLICT');
      expect(await server.errorCode(WriteFile, { container: c.name, input: { path: '/tmp/dir/a/b', content: 'x' } })).toBe('CONFLICT');
      expect((await server.ok(DeleteFile, { container: c.name, path: '/tmp/dir', recursive: true })).deleteFile).toBe(true);
      expect((await server.ok(FileMeta, { ref: c.name, path: '/tmp' })).container.file.type).toBe('DIRECTORY');
      expect(await server.errorCode(ReadFile, { ref: c.name, path: '/tmp' })).toBe('BAD_USER_INPUT');

      const noParents = { path: '/tmp/missing/dir/f', content: 'x', createParents: false };
      expect(await server.errorCode(WriteFile, { container: c.name, input: noParents })).toBe('NOT_FOUND');
      expect(await server.errorCode(WriteFile, { container: c.name, input: { path: '/tmp/f', content: 'x', owner: 'nosuchuser' } })).toBe(
        'NOT_FOUND',
      );
    });
  });

  describe.each(TEST_IMAGES)('directory listings on $label', ({ image }) => {
    it('lists names with spaces, hidden ones, a subdirectory and a symlink, with their stat; follows a symlink to a directory', async () => {
      const c = await create(image);
      const before = Date.now();
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/list/with space.txt', content: 'hello', mode: '0640', owner: '1234:4321' } });
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/list/.hidden', content: '' } });
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/list/..two dots', content: 'x' } });
      // A line break in a name must not shift the stat lines that follow the names.
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/list/new\nline', content: 'abc' } });
      await server.ok(Exec, { container: c.name, input: { args: ['mkdir', '/tmp/list/sub dir', '/tmp/empty'] } });
      await server.ok(Exec, { container: c.name, input: { args: ['ln', '-s', 'with space.txt', '/tmp/list/link'] } });
      await server.ok(Exec, { container: c.name, input: { args: ['ln', '-s', '/tmp/list', '/tmp/to-list'] } });

      const { directory } = (await server.ok(ListDirectory, { ref: c.name, path: '/tmp/list' })).container;
      expect(directory).toMatchObject({ path: '/tmp/list', totalEntries: 6, truncated: false });
      expect(directory.entries.map((e) => e.name)).toEqual(['link', 'new\nline', 'sub dir', 'with space.txt', '..two dots', '.hidden']);
      const [link, withLineBreak, subdir, file] = directory.entries;
      expect(withLineBreak).toMatchObject({ path: '/tmp/list/new\nline', type: 'FILE', size: 3 });
      expect(file).toMatchObject({ path: '/tmp/list/with space.txt', type: 'FILE', size: 5, mode: 0o640, modeOctal: '0640', uid: 1234, gid: 4321, linkTarget: null });
      expect(link).toMatchObject({ path: '/tmp/list/link', type: 'SYMLINK', size: 'with space.txt'.length, linkTarget: 'with space.txt' });
      expect(subdir).toMatchObject({ path: '/tmp/list/sub dir', type: 'DIRECTORY', mode: 0o755, uid: 0, linkTarget: null });
      // Whole seconds, from the container's clock, which is the host's.
      expect(Date.parse(file!.modifiedAt)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(Date.parse(file!.modifiedAt)).toBeLessThanOrEqual(Date.now());

      const followed = (await server.ok(ListDirectory, { ref: c.name, path: '/tmp/to-list' })).container.directory;
      expect(followed.entries.map((e) => [e.name, e.path])).toContainEqual(['sub dir', '/tmp/to-list/sub dir']);
      expect((await server.ok(ListDirectory, { ref: c.name, path: '/tmp/empty' })).container.directory).toMatchObject({ entries: [], totalEntries: 0 });
      const root = (await server.ok(ListDirectory, { ref: c.name, path: '/' })).container.directory;
      expect(root.entries.find((e) => e.name === 'tmp')).toMatchObject({ path: '/tmp', type: 'DIRECTORY', mode: 0o1777 });
    });

    it('answers NOT_FOUND for a missing path, BAD_USER_INPUT for a file or a path that is not absolute and normalised', async () => {
      const c = await create(image);
      await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/plain', content: 'x' } });
      expect(await server.errorCode(ListDirectory, { ref: c.name, path: '/tmp/missing' })).toBe('NOT_FOUND');
      expect(await server.errorCode(ListDirectory, { ref: c.name, path: '/tmp/plain' })).toBe('BAD_USER_INPUT');
      for (const path of ['tmp', '/tmp/../etc', '/tmp/', '', '/tmp/nul\u0000']) {
        expect(await server.errorCode(ListDirectory, { ref: c.name, path }), path).toBe('BAD_USER_INPUT');
      }
    });
  });

  it('lists at most 1,000 entries of a larger directory, or the limit asked for, and says how many it has', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const command = 'mkdir /tmp/many && cd /tmp/many && i=0; while [ $i -lt 1005 ]; do : > "f $i"; i=$((i+1)); done; : > .dot';
    await server.ok(Exec, { container: c.name, input: { command } });
    const { directory } = (await server.ok(ListDirectory, { ref: c.name, path: '/tmp/many' })).container;
    expect(directory).toMatchObject({ totalEntries: 1006, truncated: true });
    expect(directory.entries).toHaveLength(1000);
    expect(new Set(directory.entries.map((e) => e.name)).size).toBe(1000);
    expect(directory.entries.every((e) => /^f \d+$/.test(e.name) && e.type === 'FILE')).toBe(true);

    const few = (await server.ok(ListDirectory, { ref: c.name, path: '/tmp/many', limit: 2 })).container.directory;
    expect(few).toMatchObject({ totalEntries: 1006, truncated: true });
    expect(few.entries.map((e) => e.name)).toEqual(['f 0', 'f 1']);
    for (const limit of [0, 1001]) expect(await server.errorCode(ListDirectory, { ref: c.name, path: '/tmp', limit }), String(limit)).toBe('BAD_USER_INPUT');
  });

  it('lists only in a running container (CONFLICT otherwise)', async () => {
    const c = await create(BUSYBOX_IMAGE);
    await server.ok(StopContainer, { container: c.name });
    expect(await server.errorCode(ListDirectory, { ref: c.name, path: '/tmp' })).toBe('CONFLICT');
  });

  it('answers CONFLICT for a container without the stat it lists with', async () => {
    const c = await create(DEBIAN_IMAGE);
    await server.ok(Exec, { container: c.name, input: { args: ['rm', '/usr/bin/stat'] } });
    expect(await server.errorCode(ListDirectory, { ref: c.name, path: '/tmp' })).toBe('CONFLICT');
  });

  it('writes and reads files in a stopped container', async () => {
    const c = await create(BUSYBOX_IMAGE);
    await server.ok(StopContainer, { container: c.name });
    await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/offline.txt', content: 'still works' } });
    expect((await server.ok(ReadFile, { ref: c.name, path: '/tmp/offline.txt' })).container.file.content).toBe('still works');
  });

  it('rejects unsafe paths, bad encodings and oversized content', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const paths = ['relative.txt', '/tmp/../etc/passwd', '/tmp/./x', '/tmp//x', '/tmp/x/', '/', '/tmp/nul\u0000byte', ''];
    for (const path of paths) {
      expect(await server.errorCode(WriteFile, { container: c.name, input: { path, content: 'x' } }), path).toBe('BAD_USER_INPUT');
      expect(await server.errorCode(ReadFile, { ref: c.name, path }), path).toBe('BAD_USER_INPUT');
    }
    const bad = [
      { path: '/tmp/x', content: 'not base64!', encoding: 'BASE64' as const },
      { path: '/tmp/x', content: 'x', mode: 0o10000 },
      { path: '/tmp/x', content: 'x', mode: -1 },
      // Octal digits sent as a number: 600 would be 0o1130.
      { path: '/tmp/x', content: 'x', mode: 600 },
      { path: '/tmp/x', content: 'x', mode: '0800' },
      { path: '/tmp/x', content: 'x', mode: '017777' },
      { path: '/tmp/x', content: 'x', mode: 'rw-------' },
      { path: '/tmp/x', content: 'x', owner: 'a b' },
      { path: '/tmp/x', content: 'x', owner: '262144' },
      { path: '/tmp/x', content: 'x', owner: '0:262144' },
      { path: '/tmp/x', content: 'x'.repeat(64 * 1024 + 1) },
    ];
    for (const input of bad) {
      expect(await server.errorCode(WriteFile, { container: c.name, input }), JSON.stringify(input).slice(0, 80)).toBe('BAD_USER_INPUT');
    }
  });

  it('writes one path from many clients at once: each write lands whole, none fails', async () => {
    const c = await create(BUSYBOX_IMAGE);
    const contents = Array.from({ length: 12 }, (_, i) => `writer ${i} 😀`);
    const results = await Promise.all(contents.map((content) => server.execute(WriteFile, { container: c.name, input: { path: '/tmp/shared.txt', content } })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(contents).toContain((await server.ok(ReadFile, { ref: c.name, path: '/tmp/shared.txt' })).container.file.content);
  });

  it('reads a mode as the octal people write: "0600", "600" and "0o600" are rw-------, as is 384', async () => {
    const c = await create(BUSYBOX_IMAGE);
    for (const mode of ['0600', '600', '0o600', 0o600]) {
      const { writeFile } = await server.ok(WriteFile, { container: c.name, input: { path: '/tmp/mode', content: 'x', mode } });
      expect(writeFile.mode, String(mode)).toBe(0o600);
    }
    const refused = await server.execute(WriteFile, { container: c.name, input: { path: '/tmp/mode', content: 'x', mode: 644 } });
    expect(refused.errors?.[0]?.message).toMatch(/"0600"/);
  });
});

describe('directory listings with tokens', async () => {
  const server = await startTestServer({ AUTH_TOKENS: authTokens('files') });
  const container = (await containerMaker(server.url).createOk('operator')).name;

  it('need the operator role, and see only containers in the token\'s scope', async () => {
    const list = (token: 'operator' | 'viewer' | 'scoped') => sendAs(server.url, 'http', token, ListDirectory, { ref: container, path: '/tmp' });
    expect((await list('operator')).data?.container.directory.path).toBe('/tmp');
    expect(codes(await list('viewer'))).toEqual(['FORBIDDEN']);
    expect(codes(await list('scoped'))).toEqual(['NOT_FOUND']);
  });
});
