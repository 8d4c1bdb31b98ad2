import { describe, expect, it } from 'vitest';
import { addMembers, groupsOf, nextFreeId, parseGroup, parsePasswd, removeAccount, setShadowHash } from '../../src/core/accounts.js';
import { sha512Crypt } from '../../src/core/shacrypt.js';
import { splitShellWords } from '../../src/core/shellwords.js';

describe('splitShellWords', () => {
  it.each([
    ['sleep 300', ['sleep', '300']],
    [`sh -c 'echo "a b"; exit 1'`, ['sh', '-c', 'echo "a b"; exit 1']],
    [`echo "x \\"y\\" \\$HOME" z\\ w`, ['echo', 'x "y" $HOME', 'z w']],
    [`a '' "" b`, ['a', '', '', 'b']],
    ['  spaced\tout  ', ['spaced', 'out']],
    ['echo $(id) ; rm -rf /', ['echo', '$(id)', ';', 'rm', '-rf', '/']],
  ])('splits %s', (line, words) => {
    expect(splitShellWords(line)).toEqual(words);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitShellWords(`echo 'open`)).toThrow(/Unterminated single quote/);
  });
});

describe('sha512Crypt', () => {
  it('matches the specification test vector', () => {
    expect(sha512Crypt('Hello world!', 'saltstring')).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
  });

  it('uses a fresh salt each time', () => {
    expect(sha512Crypt('x')).not.toBe(sha512Crypt('x'));
  });
});

describe('account files', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n';
  const group = 'root:x:0:\nalice:x:1000:\nstaff:x:50:bob,alice\n';

  it('parses users and their groups, primary first', () => {
    const [root, alice] = parsePasswd(passwd);
    expect(alice).toMatchObject({ username: 'alice', uid: 1000, home: '/home/alice' });
    expect(groupsOf(alice!, parseGroup(group))).toEqual(['alice', 'staff']);
    expect(groupsOf(root!, parseGroup(group))).toEqual(['root']);
  });

  it('finds the next free id from 1000', () => {
    expect(nextFreeId([0, 1000, 1001, 65534])).toBe(1002);
  });

  it('edits group members, removes accounts and sets shadow hashes', () => {
    expect(addMembers(group, 'carol', ['staff', 'root'])).toBe('root:x:0:carol\nalice:x:1000:\nstaff:x:50:bob,alice,carol\n');
    expect(removeAccount(group, 'alice', true)).toBe('root:x:0:\nstaff:x:50:bob\n');
    expect(setShadowHash('root:*:1:0:99999:7:::\n', 'root', '$6$h', 5)).toBe('root:$6$h:5:0:99999:7:::\n');
    expect(setShadowHash('', 'new', '!', 5)).toBe('new:!:5:0:99999:7:::\n');
  });
});
