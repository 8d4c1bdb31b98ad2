/**
 * Adding an account by editing /etc/passwd, /etc/group and /etc/shadow, for images without
 * account tools: all or nothing. The files are parsed strictly, written together, read back and
 * checked; on any failure the originals are put back.
 */
import { AppError, conflict } from '../errors.js';
import {
  addMembers,
  appendLine,
  checkNewAccount,
  groupLines,
  nextAccountId,
  passwdLines,
  setShadowHash,
  shadowLines,
  type ParsedLines,
} from './accounts.js';

export interface AccountFile {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  content: Buffer;
}

export interface AccountFiles {
  passwd: AccountFile;
  group: AccountFile;
  shadow: AccountFile;
}

/** Where the account files live (a container, through its archive API). */
export interface AccountStore {
  read(): Promise<AccountFiles>;
  /** Writes the three files in one operation. */
  write(files: AccountFiles): Promise<void>;
  /** Creates the home directory, owned by uid:gid, unless it exists. */
  makeHome(path: string, uid: number, gid: number): Promise<void>;
}

export interface NewAccount {
  username: string;
  home: string;
  shell: string;
  groups: string[];
  /** The shadow password field: a crypt hash, or "!" for none. */
  hash: string;
  /** Days since 1970-01-01, for the shadow "last change" field. */
  today: number;
}

/** Adds the account and returns its uid, which is also the gid of the group made for it. */
export async function addAccount(store: AccountStore, account: NewAccount): Promise<number> {
  const original = await store.read();
  const users = strictly(original.passwd, passwdLines);
  const groups = strictly(original.group, groupLines);
  strictly(original.shadow, shadowLines);
  checkNewAccount(users, groups, account.username, account.groups);
  const id = nextAccountId(users, groups);

  const { username } = account;
  const text = (file: AccountFile) => file.content.toString('utf8');
  const groupText = appendLine(text(original.group), [username, 'x', String(id), '']);
  const updated: AccountFiles = {
    passwd: withText(original.passwd, appendLine(text(original.passwd), [username, 'x', String(id), String(id), '', account.home, account.shell])),
    group: withText(original.group, addMembers(groupText, username, account.groups)),
    shadow: withText(original.shadow, setShadowHash(text(original.shadow), username, account.hash, account.today)),
  };

  try {
    await store.write(updated);
    const written = await store.read();
    for (const key of ['passwd', 'group', 'shadow'] as const) {
      if (!written[key].content.equals(updated[key].content)) {
        throw new AppError('INTERNAL', `${updated[key].path} did not read back as it was written`);
      }
    }
    await store.makeHome(account.home, id, id);
  } catch (error) {
    await restore(store, original, error);
    throw error;
  }
  return id;
}

/** The file's entries; a line it cannot parse means the file is not edited at all. */
function strictly<T>(file: AccountFile, parse: (text: string) => ParsedLines<T>): T[] {
  const { entries, problems } = parse(file.content.toString('utf8'));
  const first = problems[0];
  if (first) throw conflict(`${file.path} line ${first.line} ${first.reason}; refusing to edit it`);
  return entries;
}

const withText = (file: AccountFile, text: string): AccountFile => ({ ...file, content: Buffer.from(text, 'utf8') });

async function restore(store: AccountStore, original: AccountFiles, cause: unknown): Promise<void> {
  try {
    await store.write(original);
  } catch (restoreError) {
    throw new AppError('INTERNAL', 'Adding an account failed and the account files could not be restored', { cause, restoreError });
  }
}
