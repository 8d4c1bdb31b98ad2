import { describe, expect, it } from 'vitest';
import { addAccount, type AccountFiles, type AccountStore, type NewAccount } from '../../src/core/account-files.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nalice:x:1000:\nstaff:x:50:alice\nnogroup:x:65534:\n';
const SHADOW = 'root::0:0:99999:7:::\nalice:!:1:0:99999:7:::\n';

const file = (path: string, text: string, mode = 0o644) => ({ path, mode, uid: 0, gid: 0, content: Buffer.from(text) });
const initialFiles = (passwd = PASSWD, group = GROUP, shadow = SHADOW): AccountFiles => ({
  passwd: file('/etc/passwd', passwd),
  group: file('/etc/group', group),
  shadow: file('/etc/shadow', shadow, 0o640),
});
const texts = (files: AccountFiles) => ({
  passwd: files.passwd.content.toString(),
  group: files.group.content.toString(),
  shadow: files.shadow.content.toString(),
});

const bob: NewAccount = { username: 'bob', home: '/home/bob', shell: '/bin/sh', groups: ['staff'], hash: '!', today: 20000 };

/** An in-memory store; `fault` decides how its next write or home creation misbehaves. */
function memoryStore(files = initialFiles(), fault?: 'fail-part-way' | 'garble' | 'fail-home') {
  const state = { files, writes: 0, homes: [] as string[] };
  const store: AccountStore = {
    read: async () => state.files,
    write: async (next) => {
      state.writes++;
      if (fault === 'fail-part-way' && state.writes === 1) {
        state.files = { ...state.files, passwd: next.passwd };
        throw new Error('the engine went away mid-archive');
      }
      const garbled = fault === 'garble' && state.writes === 1;
      state.files = garbled ? { ...next, shadow: { ...next.shadow, content: next.shadow.content.subarray(1) } } : next;
    },
    makeHome: async (path) => {
      if (fault === 'fail-home') throw new Error('no space left');
      state.homes.push(path);
    },
  };
  return { store, state };
}

describe('addAccount', () => {
  it('writes all three files once, with uid = gid after the highest regular id', async () => {
    const { store, state } = memoryStore();
    expect(await addAccount(store, bob)).toBe(1001);
    expect(state.writes).toBe(1);
    expect(texts(state.files)).toEqual({
      passwd: `${PASSWD}bob:x:1001:1001::/home/bob:/bin/sh\n`,
      group: 'root:x:0:\nalice:x:1000:\nstaff:x:50:alice,bob\nnogroup:x:65534:\nbob:x:1001:\n',
      shadow: `${SHADOW}bob:!:20000:0:99999:7:::\n`,
    });
    expect(state.files.shadow.mode).toBe(0o640);
    expect(state.homes).toEqual(['/home/bob']);
  });

  it.each([
    ['/etc/passwd', initialFiles(`${PASSWD}evil::0:0::/root\n`), '/etc/passwd line 4 has 6 fields, not 7'],
    ['/etc/group', initialFiles(PASSWD, `${GROUP}x:x:y:\n`), '/etc/group line 5 has a gid that is not a number'],
    ['/etc/shadow', initialFiles(PASSWD, GROUP, 'root::0:0:99999:7::\n'), '/etc/shadow line 1 has 8 fields, not 9'],
  ])('refuses to edit a %s it cannot parse, naming the line', async (_, files, message) => {
    const { store, state } = memoryStore(files);
    await expect(addAccount(store, bob)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(message) });
    expect(state.writes).toBe(0);
  });

  it('refuses a taken name or an unknown group without writing', async () => {
    const { store, state } = memoryStore();
    await expect(addAccount(store, { ...bob, username: 'alice' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(addAccount(store, { ...bob, username: 'staff' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(addAccount(store, { ...bob, groups: ['wheel'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(state.writes).toBe(0);
  });

  it('refuses a field that would inject a line, before writing', async () => {
    const { store, state } = memoryStore();
    for (const injected of [{ home: '/home/x\nevil::0:0::/root:/bin/sh' }, { shell: '/bin/sh:0' }, { username: 'b\rob' }]) {
      await expect(addAccount(store, { ...bob, ...injected })).rejects.toMatchObject({ code: 'INTERNAL' });
    }
    expect(state.writes).toBe(0);
  });

  it.each([
    ['the write fails part-way', 'fail-part-way', 'the engine went away mid-archive'],
    ['the files read back garbled', 'garble', '/etc/shadow did not read back as it was written'],
    ['the home directory cannot be made', 'fail-home', 'no space left'],
  ] as const)('restores the original files when %s', async (_, fault, message) => {
    const original = initialFiles();
    const { store, state } = memoryStore(original, fault);
    await expect(addAccount(store, bob)).rejects.toThrow(message);
    expect(state.writes).toBe(2);
    expect(texts(state.files)).toEqual(texts(original));
  });

  it('says so when the originals cannot be restored either', async () => {
    const { store } = memoryStore();
    store.write = async () => {
      throw new Error('read-only file system');
    };
    await expect(addAccount(store, bob)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('could not be restored') });
  });
});
