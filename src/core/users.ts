import path from 'node:path';
import { z } from 'zod';
import { packEntries } from '../engine/archive.js';
import type { WorkerPool } from '../engine/pool.js';
import type { ContainerEngine, ExecOutcome } from '../engine/port.js';
import { AppError, badInput, conflict, notFound } from '../errors.js';
import { addAccount, type AccountFile, type AccountStore } from './account-files.js';
import { checkNewAccount, groupsOf, parseGroup, parsePasswd, removeAccount, setShadowHash, type GroupEntry, type PasswdEntry } from './accounts.js';
import type { Recorder } from './activity.js';
import { assertRootAllowed, type Caller } from './caller.js';
import type { ContainerService } from './containers.js';
import { isDirectoryMode, type FileService, type FileType } from './files.js';
import { KeyedMutex } from './keyed-mutex.js';
import { sha512Crypt } from './shacrypt.js';
import { accountName, accountPath, containerRef, parseInput } from './validation.js';

export interface UserModel {
  username: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  groups: string[];
}

/**
 * Every field that reaches an account file or an account tool is checked here, once, whichever
 * way the account is then added.
 */
export const addUserInput = z
  .object({
    username: accountName,
    /** Sent over stdin (or hashed here); it can hold quotes, `$()` and `:` but not line breaks. */
    password: z
      .string()
      .min(1)
      .max(512)
      .refine((p) => !/[\r\n\0]/.test(p), 'must not contain line breaks or NUL')
      .optional(),
    shell: accountPath.default('/bin/sh'),
    groups: z.array(accountName).max(64).default([]),
    home: accountPath.optional(),
  })
  .transform((spec, ctx) => {
    const home = spec.home ?? `/home/${spec.username}`;
    // A name may end in "$", which an account path may not hold.
    if (!accountPath.safeParse(home).success) {
      ctx.addIssue({ code: 'custom', path: ['home'], message: `must be given: the default ${home} is not an account path` });
      return z.NEVER;
    }
    return { ...spec, home };
  });
export type AddUserInput = z.input<typeof addUserInput>;

type Tool = 'useradd' | 'adduser' | 'chpasswd' | 'userdel' | 'deluser';

/*
 * Fixed script, nothing from the client in it: which account tools exist, then the account
 * files, each after a NUL. One exec instead of one archive read a file: on Podman an archive
 * read takes as long as an exec.
 */
const SURVEY =
  'for t in useradd adduser chpasswd userdel deluser; do command -v "$t" >/dev/null 2>&1 && echo "$t"; done; ' +
  'printf "\\000"; cat /etc/passwd 2>/dev/null; printf "\\000"; cat /etc/group 2>/dev/null; true';
/** Account files larger than this are read through the archive API instead. */
const SURVEY_MAX_BYTES = 1024 * 1024;

/** A container's account tools and account files, as one survey found them. */
interface Survey {
  tools: Set<Tool>;
  users: PasswdEntry[];
  groups: GroupEntry[];
}

export class UserService {
  /** Account changes run one at a time per container, so concurrent edits of /etc files do not race. */
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly engine: ContainerEngine,
    private readonly pool: WorkerPool,
    private readonly containers: ContainerService,
    private readonly files: FileService,
    private readonly recorder: Recorder,
  ) {}

  async list(ref: string): Promise<UserModel[]> {
    const id = parseInput(containerRef, ref);
    return this.pool.read.run(async (signal) => {
      const container = await this.engine.inspectContainer(id, signal);
      return this.readUsers(container.id, signal);
    });
  }

  /**
   * `passwordHash`: a crypt(3) hash to set instead of a password (a lab's student keeps the
   * password handed out, and the server never keeps it in clear).
   */
  async add(caller: Caller, ref: string, input: AddUserInput, passwordHash?: string): Promise<UserModel> {
    assertRootAllowed(caller, 'add accounts');
    const spec = parseInput(addUserInput, input);
    return this.recorder.action(caller, 'USER_ADD', ref, { username: spec.username }, (about) => this.pool.write.run(async (signal) => {
      const container = about(await this.containers.requireRunning(caller, ref, signal));
      return this.mutex.run(container.id, async () => {
        const id = container.id;
        const { tools, users, groups } = await this.survey(id, signal);
        checkNewAccount(users, groups, spec.username, spec.groups);
        const existingHome = await this.engine.statPath(id, spec.home, signal);
        if (existingHome && !isDirectoryMode(existingHome.mode)) throw conflict(`home: ${spec.home} exists and is not a directory`);

        const run = (argv: string[], stdin?: string) => this.runAsRoot(id, argv, signal, stdin);
        // Without chpasswd the hash is made here; editing the files, it is written with the account.
        const hash = passwordHash ?? (spec.password === undefined || tools.has('chpasswd') ? undefined : sha512Crypt(spec.password));
        /** A hash goes in through `chpasswd -e` where there is one, else into /etc/shadow itself. */
        const setHash = async (crypt: string) => {
          if (tools.has('chpasswd')) check(await run(['chpasswd', '-e'], `${spec.username}:${crypt}\n`), 'chpasswd');
          else await this.setHashInShadow(id, spec.username, crypt, signal);
        };
        if (tools.has('useradd')) {
          const groupArgs = spec.groups.length ? ['-G', spec.groups.join(',')] : [];
          check(await run(['useradd', '-m', '-d', spec.home, '-s', spec.shell, ...groupArgs, spec.username]), 'useradd');
          if (hash) await setHash(hash);
        } else if (tools.has('adduser')) {
          check(await run(['adduser', '-D', '-h', spec.home, '-s', spec.shell, spec.username]), 'adduser');
          for (const group of spec.groups) check(await run(['addgroup', spec.username, group]), 'addgroup');
          if (hash) await setHash(hash);
        } else {
          const account = { username: spec.username, home: spec.home, shell: spec.shell, groups: spec.groups };
          await addAccount(this.accountStore(id, signal), { ...account, hash: hash ?? LOCKED, today: today() });
        }
        if (spec.password !== undefined && !hash) {
          check(await run(['chpasswd'], `${spec.username}:${spec.password}\n`), 'chpasswd');
        }
        const after = await this.survey(id, signal);
        const created = toUserModels(after.users, after.groups).find((u) => u.username === spec.username);
        if (!created) throw new AppError('INTERNAL', `User ${spec.username} was not created`);
        return created;
      });
    }));
  }

  async remove(caller: Caller, ref: string, username: string, removeHome = false): Promise<boolean> {
    assertRootAllowed(caller, 'remove accounts');
    const name = parseInput(accountName, username);
    return this.recorder.action(caller, 'USER_REMOVE', ref, { username: name, removeHome }, (about) => this.pool.write.run(async (signal) => {
      const container = about(await this.containers.requireRunning(caller, ref, signal));
      return this.mutex.run(container.id, async () => {
        const id = container.id;
        const { tools, users } = await this.survey(id, signal);
        const user = users.find((u) => u.username === name);
        if (!user) throw notFound(`No such user: ${name}`);
        const run = (argv: string[]) => this.runAsRoot(id, argv, signal);
        if (tools.has('userdel')) {
          check(await run(['userdel', ...(removeHome ? ['-r'] : []), name]), 'userdel', [12]);
        } else if (tools.has('deluser')) {
          check(await run(['deluser', ...(removeHome ? ['--remove-home'] : []), name]), 'deluser');
        } else {
          await this.removeByEditingFiles(id, name, signal);
          if (removeHome) check(await run(['rm', '-rf', '--', user.home]), 'rm');
        }
        return true;
      });
    }));
  }

  private async readUsers(containerId: string, signal?: AbortSignal): Promise<UserModel[]> {
    const users = parsePasswd(await this.files.readTextOrEmpty(containerId, '/etc/passwd', signal));
    const groups = parseGroup(await this.files.readTextOrEmpty(containerId, '/etc/group', signal));
    return toUserModels(users, groups);
  }

  /** The account tools and files, in one exec; files too large for it are read through the archive API. */
  private async survey(containerId: string, signal: AbortSignal): Promise<Survey> {
    const result = await this.runAsRoot(containerId, ['/bin/sh', '-c', SURVEY], signal, undefined, SURVEY_MAX_BYTES);
    const [tools, passwd, group] = result.stdout.split('\0');
    const failed = () => new AppError('INTERNAL', `Could not inspect the container's accounts: ${result.output.trim().slice(0, 500)}`);
    if (result.exitCode !== 0 || tools === undefined) throw failed();
    const found = new Set(tools.split('\n').filter(Boolean) as Tool[]);
    if (result.truncated) {
      const read = (p: string) => this.files.readTextOrEmpty(containerId, p, signal);
      return { tools: found, users: parsePasswd(await read('/etc/passwd')), groups: parseGroup(await read('/etc/group')) };
    }
    if (group === undefined) throw failed();
    return { tools: found, users: parsePasswd(passwd!), groups: parseGroup(group) };
  }

  private runAsRoot(containerId: string, argv: string[], signal: AbortSignal, stdin?: string, maxOutputBytes = 64 * 1024): Promise<ExecOutcome> {
    return this.engine.exec(containerId, { argv, user: '0', stdin: stdin === undefined ? undefined : Buffer.from(stdin, 'utf8'), maxOutputBytes }, signal);
  }

  /** The container's account files, read and written through the archive API. */
  private accountStore(id: string, signal: AbortSignal): AccountStore {
    const read = async (p: string): Promise<AccountFile> => {
      const file = await this.readAccountFile(id, p, signal);
      if (file.type !== 'FILE') throw conflict(`${p} is not a regular file; refusing to edit it`);
      return file;
    };
    return {
      read: async () => ({ passwd: await read('/etc/passwd'), group: await read('/etc/group'), shadow: await read('/etc/shadow') }),
      write: async (files) => {
        const entries = [files.passwd, files.group, files.shadow].map((f) => ({
          name: path.posix.relative('/etc', f.path),
          type: 'file' as const,
          content: f.content,
          mode: f.mode,
          uid: f.uid,
          gid: f.gid,
        }));
        await this.engine.putArchive(id, '/etc', await packEntries(entries), signal);
      },
      makeHome: async (home, uid, gid) => {
        if (await this.engine.statPath(id, home, signal)) return;
        await this.files.putWithParents(id, home, { type: 'directory', mode: 0o755, uid, gid }, true, signal);
      },
    };
  }

  private async removeByEditingFiles(id: string, username: string, signal: AbortSignal): Promise<void> {
    for (const p of ['/etc/passwd', '/etc/shadow', '/etc/group']) {
      const stat = await this.engine.statPath(id, p, signal);
      if (!stat) continue;
      const file = await this.files.readAt(id, p, signal);
      await this.writeAccountFile(id, file, removeAccount(file.content.toString('utf8'), username, p === '/etc/group'), signal);
    }
  }

  private async setHashInShadow(id: string, username: string, hash: string, signal: AbortSignal): Promise<void> {
    const shadow = await this.readAccountFile(id, '/etc/shadow', signal);
    await this.writeAccountFile(id, shadow, setShadowHash(shadow.content.toString('utf8'), username, hash, today()), signal);
  }

  /** An account file; a missing /etc/shadow reads as empty, to be created root-only. */
  private async readAccountFile(id: string, p: string, signal: AbortSignal): Promise<AccountFile & { type: FileType }> {
    if (p === '/etc/shadow' && !(await this.engine.statPath(id, p, signal))) {
      return { path: p, type: 'FILE' as const, mode: 0o640, uid: 0, gid: 0, content: Buffer.alloc(0) };
    }
    return this.files.readAt(id, p, signal);
  }

  /** Rewrites an account file keeping its mode and owner. */
  private async writeAccountFile(
    id: string,
    original: { path: string; mode: number; uid: number; gid: number },
    text: string,
    signal: AbortSignal,
  ): Promise<void> {
    const entry = { type: 'file' as const, content: Buffer.from(text, 'utf8'), mode: original.mode, uid: original.uid, gid: original.gid };
    await this.files.putWithParents(id, original.path, entry, false, signal);
  }
}

function toUserModels(users: PasswdEntry[], groups: GroupEntry[]): UserModel[] {
  return users.map((u) => ({ username: u.username, uid: u.uid, gid: u.gid, home: u.home, shell: u.shell, groups: groupsOf(u, groups) }));
}

/** The shadow password field of an account without a password. */
const LOCKED = '!';

/** Days since 1970-01-01, as the shadow file counts them. */
const today = () => Math.floor(Date.now() / 86_400_000);

/** Turns a failed account tool into the right error; exit codes follow shadow-utils. */
function check(result: ExecOutcome, tool: string, okCodes: number[] = []): void {
  if (result.exitCode === 0 || okCodes.includes(result.exitCode ?? -1)) return;
  const message = `${tool} failed (exit ${result.exitCode}): ${result.output.trim().slice(0, 500)}`;
  if (tool === 'useradd' && result.exitCode === 9) throw conflict(message);
  if (tool === 'useradd' && result.exitCode === 6) throw notFound(message);
  if (/invalid|bad|illegal/i.test(result.output)) throw badInput(message);
  throw new AppError('INTERNAL', message);
}
