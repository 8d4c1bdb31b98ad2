/** Pure parsing and editing of /etc/passwd, /etc/group and /etc/shadow contents. */
import { AppError, conflict, notFound } from '../errors.js';

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

export interface ShadowEntry {
  username: string;
}

/** A line that does not have its file's format, numbered from 1. */
export interface LineProblem {
  line: number;
  reason: string;
}

export interface ParsedLines<T> {
  entries: T[];
  problems: LineProblem[];
}

/** A line's fields as an entry, or why they are not one. */
type LineParser<T> = (fields: string[]) => T | string;

// C0, DEL and C1: none belongs in an account file, and \r or \n would start another line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const isId = (field: string) => /^\d{1,10}$/.test(field) && Number(field) <= 0xfffffffe;
const isBlankOrComment = (line: string) => line.trim() === '' || line.startsWith('#');

function parseLines<T>(text: string, parseLine: LineParser<T>): ParsedLines<T> {
  const entries: T[] = [];
  const problems: LineProblem[] = [];
  text.split('\n').forEach((line, index) => {
    if (isBlankOrComment(line)) return;
    const parsed = CONTROL.test(line) ? 'has a control character' : parseLine(line.split(':'));
    if (typeof parsed === 'string') problems.push({ line: index + 1, reason: parsed });
    else entries.push(parsed);
  });
  return { entries, problems };
}

const passwdLine: LineParser<PasswdEntry> = (f) => {
  if (f.length !== 7) return `has ${f.length} fields, not 7`;
  const [username, , uid, gid, gecos, home, shell] = f as [string, string, string, string, string, string, string];
  if (!username) return 'has no user name';
  if (!isId(uid) || !isId(gid)) return 'has a uid or gid that is not a number';
  return { username, uid: Number(uid), gid: Number(gid), gecos, home, shell };
};

const groupLine: LineParser<GroupEntry> = (f) => {
  if (f.length !== 4) return `has ${f.length} fields, not 4`;
  const [name, , gid, members] = f as [string, string, string, string];
  if (!name) return 'has no group name';
  if (!isId(gid)) return 'has a gid that is not a number';
  return { name, gid: Number(gid), members: members.split(',').filter(Boolean) };
};

const shadowLine: LineParser<ShadowEntry> = (f) => {
  if (f.length !== 9) return `has ${f.length} fields, not 9`;
  if (!f[0]) return 'has no user name';
  // Last change, min, max, warn, inactive and expire are day counts, or empty.
  if (f.slice(2, 8).some((day) => day !== '' && !isId(day))) return 'has a day count that is not a number';
  return { username: f[0] };
};

export const passwdLines = (text: string) => parseLines(text, passwdLine);
export const groupLines = (text: string) => parseLines(text, groupLine);
export const shadowLines = (text: string) => parseLines(text, shadowLine);

/** The accounts a reader can use; lines it cannot parse are left out. */
export const parsePasswd = (text: string) => passwdLines(text).entries;
export const parseGroup = (text: string) => groupLines(text).entries;

/** The user's groups: the primary group first, then every group that lists the user. */
export function groupsOf(user: PasswdEntry, groups: GroupEntry[]): string[] {
  const primary = groups.find((g) => g.gid === user.gid)?.name;
  const extra = groups.filter((g) => g.members.includes(user.username) && g.name !== primary).map((g) => g.name);
  return primary ? [primary, ...extra] : extra;
}

/** Refuses a new account whose name is taken (as a user or a group) or whose extra groups do not exist. */
export function checkNewAccount(users: PasswdEntry[], groups: GroupEntry[], username: string, extraGroups: string[]): void {
  if (users.some((u) => u.username === username)) throw conflict(`User ${username} already exists`);
  if (groups.some((g) => g.name === username)) throw conflict(`Group ${username} already exists`);
  const unknown = extraGroups.filter((name) => !groups.some((g) => g.name === name));
  if (unknown.length) throw notFound(`No such group in the container: ${unknown.join(', ')}`);
}

const FIRST_REGULAR_ID = 1000;
const LAST_REGULAR_ID = 59999;

/**
 * The id after the highest regular id (1000–59999) in use as a uid or gid, so that it is free in
 * both files and serves as the new user's uid and the gid of their own group.
 */
export function nextAccountId(users: PasswdEntry[], groups: GroupEntry[]): number {
  const used = [...users.flatMap((u) => [u.uid, u.gid]), ...groups.map((g) => g.gid)].filter(
    (id) => id >= FIRST_REGULAR_ID && id <= LAST_REGULAR_ID,
  );
  const id = used.length ? Math.max(...used) + 1 : FIRST_REGULAR_ID;
  if (id > LAST_REGULAR_ID) throw conflict(`No free account id: ${LAST_REGULAR_ID} is in use`);
  return id;
}

/**
 * Joins fields into one account-file line. A field that could end its field or its line is
 * refused here, behind input validation, so that nothing can add a second account.
 */
export function formatLine(fields: string[]): string {
  if (fields.some((f) => f.includes(':') || CONTROL.test(f))) {
    throw new AppError('INTERNAL', 'Refused to write an account-file field holding ":" or a control character');
  }
  return fields.join(':');
}

const ensureNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

export function appendLine(text: string, fields: string[]): string {
  return `${ensureNewline(text)}${formatLine(fields)}\n`;
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
    if (!isGroupFile || f.length < 4 || !f[3]!.split(',').includes(name)) return f;
    return [...f.slice(0, 3), f[3]!.split(',').filter((m) => m && m !== name).join(','), ...f.slice(4)];
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
  return found ? updated : appendLine(updated, [user, hash, String(days), '0', '99999', '7', '', '', '']);
}

/** Maps each account line's fields; a line mapped to its own fields stays as it was, null drops it. */
function mapLines(text: string, fn: (fields: string[]) => string[] | null): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      out.push(line);
      continue;
    }
    const fields = line.split(':');
    const mapped = fn(fields);
    if (mapped) out.push(mapped === fields ? line : formatLine(mapped));
  }
  return ensureNewline(out.join('\n').replace(/\n+$/, ''));
}
