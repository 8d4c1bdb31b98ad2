import { describe, expect, it } from 'vitest';
import {
  addMembers,
  formatLine,
  groupLines,
  groupsOf,
  nextAccountId,
  parseGroup,
  parsePasswd,
  passwdLines,
  removeAccount,
  setShadowHash,
  shadowLines,
} from '../../src/core/accounts.js';
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

  it('takes the id after the highest regular uid or gid, free in both files', () => {
    const users = parsePasswd(passwd);
    expect(nextAccountId(users, parseGroup(group))).toBe(1001);
    expect(nextAccountId(users, parseGroup(`${group}late:x:1500:\nsystem:x:65534:\n`))).toBe(1501);
    expect(nextAccountId(parsePasswd('root:x:0:0::/root:/bin/sh\n'), parseGroup('nogroup:x:65534:\n'))).toBe(1000);
    expect(() => nextAccountId(users, parseGroup('last:x:59999:\n'))).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  it('names each line it cannot parse', () => {
    expect(passwdLines(`${passwd}evil::0:0::/root\nbad:x:one:0::/:/bin/sh\n# comment\n\ncr:x:1:1::/:/bin/sh\r\n`).problems).toEqual([
      { line: 3, reason: 'has 6 fields, not 7' },
      { line: 4, reason: 'has a uid or gid that is not a number' },
      { line: 7, reason: 'has a control character' },
    ]);
    expect(groupLines('root:x:0:\n:x:1:\nwheel:x:-1:\nextra:x:2::\n').problems.map((p) => p.line)).toEqual([2, 3, 4]);
    expect(shadowLines('root::0:0:99999:7:::\nnobody:*:soon:0:99999:7:::\nshort:*:1\n').problems.map((p) => p.line)).toEqual([2, 3]);
    expect(parsePasswd(`${passwd}evil::0:0::/root\n`).map((u) => u.username)).toEqual(['root', 'alice']);
  });

  it('refuses to format a field that could end its field or line', () => {
    expect(formatLine(['a', 'x', '1000', ''])).toBe('a:x:1000:');
    for (const field of ['a:b', 'a\nb', 'a\rb', 'a\0b', 'a\u0085b', 'a\tb', 'a\u007fb']) {
      expect(() => formatLine(['user', field]), JSON.stringify(field)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    }
  });

  it('edits group members, removes accounts and sets shadow hashes', () => {
    expect(addMembers(group, 'carol', ['staff', 'root'])).toBe('root:x:0:carol\nalice:x:1000:\nstaff:x:50:bob,alice,carol\n');
    expect(removeAccount(group, 'alice', true)).toBe('root:x:0:\nstaff:x:50:bob\n');
    expect(setShadowHash('root:*:1:0:99999:7:::\n', 'root', '$6$h', 5)).toBe('root:$6$h:5:0:99999:7:::\n');
    expect(setShadowHash('', 'new', '!', 5)).toBe('new:!:5:0:99999:7:::\n');
  });
});
