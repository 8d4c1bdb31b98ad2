/** Pure parsing and editing of /etc/passwd, /etc/group and /etc/shadow contents. */

export interface PasswdEntry {
  username: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7) return [];
    return [{ username: f[0]!, uid: Number(f[2]), gid: Number(f[3]), gecos: f[4]!, home: f[5]!, shell: f[6]! }];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text).flatMap((line) => {
    const f = line.split(':');
    if (f.length < 4) return [];
    return [{ name: f[0]!, gid: Number(f[2]), members: f[3] ? f[3].split(',').filter(Boolean) : [] }];
  });
}

/** The user's groups: the primary group first, then every group that lists the user. */
export function groupsOf(user: PasswdEntry, groups: GroupEntry[]): string[] {
  const primary = groups.find((g) => g.gid === user.gid)?.name;
  const extra = groups.filter((g) => g.members.includes(user.username) && g.name !== primary).map((g) => g.name);
  return primary ? [primary, ...extra] : extra;
}

/** The lowest free id at or above 1000 (the regular-account range), below 60000. */
export function nextFreeId(used: Iterable<number>): number {
  const taken = new Set(used);
  for (let id = 1000; id < 60000; id++) if (!taken.has(id)) return id;
  throw new Error('no free id below 60000');
}

const ensureNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

export function appendLine(text: string, line: string): string {
  return `${ensureNewline(text)}${line}\n`;
}

/** Adds `user` to the member list of each named group. */
export function addMembers(groupText: string, user: string, groupNames: string[]): string {
  return mapLines(groupText, (f) => {
    if (!groupNames.includes(f[0]!)) return f;
    const members = f[3] ? f[3].split(',').filter(Boolean) : [];
    if (!members.includes(user)) members.push(user);
    return [f[0]!, f[1]!, f[2]!, members.join(',')];
  });
}

/** Removes every line whose first field is `name`, and `name` from group member lists. */
export function removeAccount(text: string, name: string, isGroupFile = false): string {
  return mapLines(text, (f) => {
    if (f[0] === name) return null;
    if (isGroupFile && f.length >= 4) return [...f.slice(0, 3), f[3]!.split(',').filter((m) => m && m !== name).join(','), ...f.slice(4)];
    return f;
  });
}

/** Sets the password hash field of one shadow line, adding the line when missing. */
export function setShadowHash(shadowText: string, user: string, hash: string, days: number): string {
  let found = false;
  const updated = mapLines(shadowText, (f) => {
    if (f[0] !== user) return f;
    found = true;
    const fields = [...f];
    while (fields.length < 9) fields.push('');
    fields[1] = hash;
    fields[2] = String(days);
    return fields;
  });
  return found ? updated : appendLine(updated, `${user}:${hash}:${days}:0:99999:7:::`);
}

function mapLines(text: string, fn: (fields: string[]) => string[] | null): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      out.push(line);
      continue;
    }
    const mapped = fn(line.split(':'));
    if (mapped) out.push(mapped.join(':'));
  }
  return ensureNewline(out.join('\n').replace(/\n+$/, ''));
}
