import path from 'node:path';
import { z } from 'zod';
import { packEntries, readFirstEntry, type ArchiveEntry } from '../engine/archive.js';
import type { WorkerPool } from '../engine/pool.js';
import type { ContainerEngine, DirectoryEntry, FileType } from '../engine/port.js';
import { AppError, badInput, conflict, noSuchAccount, notFound } from '../errors.js';
import { parseGroup, parsePasswd } from './accounts.js';
import type { Recorder } from './activity.js';
import { assertRootAllowed, type Caller } from './caller.js';
import type { ContainerService } from './containers.js';
import { KeyedMutex } from './keyed-mutex.js';
import { absolutePath, containerRef, fileMode, filePath, idsAtMost, parseInput } from './validation.js';

export type { FileType };

/** What the stat of a path says: a directory entry's stat, named by its whole path. */
export interface PathInfo extends Omit<DirectoryEntry, 'name'> {
  path: string;
}

export interface FileModel extends PathInfo {
  content: Buffer;
}

export interface DirectoryModel {
  path: string;
  entries: Array<DirectoryEntry & PathInfo>;
  /** How many entries the directory has; more than `entries` when it was cut at the limit. */
  total: number;
}

/** Entries of one directory listed at most: enough to browse, bounded in the answer's size and the engine's work. */
export const MAX_DIRECTORY_ENTRIES = 1000;
const directoryLimit = z.number().int().min(1).max(MAX_DIRECTORY_ENTRIES);

export const writeFileInput = z.object({
  path: filePath,
  content: z.string(),
  encoding: z.enum(['UTF8', 'BASE64']).default('UTF8'),
  mode: fileMode.default(0o644),
  /** `user`, `user:group`, `uid` or `uid:gid`, resolved in the container's own account files. */
  owner: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/, 'must be user, user:group, uid or uid:gid')
    // The archive's tar headers hold ids of six octal digits.
    .refine(idsAtMost(0o777777), 'a numeric uid or gid must be at most 262143')
    .optional(),
  createParents: z.boolean().default(true),
});
export type WriteFileInput = z.input<typeof writeFileInput>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function typeOf(tarType: string): FileType {
  if (tarType === 'file' || tarType === 'contiguous-file') return 'FILE';
  if (tarType === 'directory') return 'DIRECTORY';
  if (tarType === 'symlink') return 'SYMLINK';
  return 'OTHER';
}

export class FileService {
  /** Writes of one path in one container, one at a time. */
  private readonly writing = new KeyedMutex();

  constructor(
    private readonly engine: ContainerEngine,
    private readonly pool: WorkerPool,
    private readonly containers: ContainerService,
    private readonly recorder: Recorder,
    private readonly maxFileBytes: number,
  ) {}

  async read(caller: Caller, ref: string, filePathArg: string): Promise<FileModel> {
    assertRootAllowed(caller, 'read files');
    const id = parseInput(containerRef, ref);
    const p = parseInput(filePath, filePathArg);
    return this.pool.read.run(async (signal) => {
      const container = await this.engine.inspectContainer(id, signal);
      return this.readAt(container.id, p, signal);
    });
  }

  /** Reads one path of a container already resolved; used by other services too. */
  async readAt(containerId: string, p: string, signal?: AbortSignal): Promise<FileModel> {
    let archive;
    try {
      archive = await this.engine.getArchive(containerId, p, signal);
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw notFound(`No such file: ${p}`);
      throw error;
    }
    const entry = await readFirstEntry(archive, this.maxFileBytes);
    return {
      path: p,
      type: typeOf(entry.type),
      size: entry.type === 'file' ? entry.size : 0,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      modifiedAt: entry.mtime,
      linkTarget: entry.linkname,
      content: entry.content,
    };
  }

  /**
   * The entries of a directory of a running container (a symlink to one is followed): names not
   * starting with a dot first, then those that do, each group in byte order. At most `limit` of
   * them: when there are more, those not starting with a dot come first.
   */
  async list(caller: Caller, ref: string, dirPath: string, limit: number = MAX_DIRECTORY_ENTRIES): Promise<DirectoryModel> {
    assertRootAllowed(caller, 'list directories');
    const id = parseInput(containerRef, ref);
    const dir = parseInput(absolutePath, dirPath);
    const most = parseInput(directoryLimit, limit);
    return this.pool.read.run(async (signal) => {
      const container = await this.containers.requireRunning(caller, id, signal);
      const { entries, total } = await this.engine.listDirectory(container.id, dir, most, signal);
      const inDir = (name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
      return { path: dir, entries: entries.map((entry) => ({ ...entry, path: inDir(entry.name) })).sort(byListingOrder), total };
    });
  }

  /** Reads a text file, or returns '' when it does not exist (for optional account files). */
  async readTextOrEmpty(containerId: string, p: string, signal?: AbortSignal): Promise<string> {
    try {
      return (await this.readAt(containerId, p, signal)).content.toString('utf8');
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') return '';
      throw error;
    }
  }

  async write(caller: Caller, ref: string, input: WriteFileInput): Promise<FileModel> {
    const id = parseInput(containerRef, ref);
    assertRootAllowed(caller, 'write files');
    const spec = parseInput(writeFileInput, input);
    if (spec.encoding === 'BASE64' && !BASE64.test(spec.content)) throw badInput('content is not valid base64');
    const content = Buffer.from(spec.content, spec.encoding === 'BASE64' ? 'base64' : 'utf8');
    if (content.length > this.maxFileBytes) {
      throw badInput(`content is ${content.length} bytes, over the ${this.maxFileBytes}-byte limit`);
    }
    return this.recorder.action(caller, 'FILE_WRITE', id, { path: spec.path }, (about) => this.pool.write.run(async (signal) => {
      const container = about(await this.containers.inspectIn(caller, id, signal));
      const owner = spec.owner ? await this.resolveOwner(container.id, spec.owner, signal) : { uid: 0, gid: 0 };
      // Podman refuses a second write of a path while one is under way ("file exists").
      await this.writing.run(`${container.id} ${spec.path}`, async () => {
        const existing = await this.engine.statPath(container.id, spec.path, signal);
        if (existing && isDirectoryMode(existing.mode)) throw conflict(`${spec.path} is a directory`);
        await this.putWithParents(container.id, spec.path, { type: 'file', content, mode: spec.mode, ...owner }, spec.createParents, signal);
      });
      return {
        path: spec.path,
        type: 'FILE' as const,
        size: content.length,
        mode: spec.mode,
        ...owner,
        modifiedAt: new Date(),
        linkTarget: null,
        content,
      };
    }));
  }

  /**
   * Places one file or directory at an absolute path through the archive API. Missing parent
   * directories are created (owned like the entry, mode 0755) only when `createParents` is set;
   * existing ones are never touched, so their modes and owners stay as they were.
   */
  async putWithParents(
    containerId: string,
    target: string,
    entry: Omit<ArchiveEntry, 'name'>,
    createParents: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const missing: string[] = [];
    let dir = path.posix.dirname(target);
    for (;;) {
      const stat = await this.engine.statPath(containerId, dir, signal);
      if (stat) {
        if (!isDirectoryMode(stat.mode)) throw conflict(`${dir} exists and is not a directory`);
        break;
      }
      if (!createParents) throw notFound(`No such directory: ${dir}`);
      missing.unshift(dir);
      dir = path.posix.dirname(dir);
    }
    const relative = (p: string) => path.posix.relative(dir, p);
    const entries: ArchiveEntry[] = [
      ...missing.map((d) => ({ name: relative(d), type: 'directory' as const, mode: 0o755, uid: entry.uid, gid: entry.gid })),
      { ...entry, name: relative(target) },
    ];
    await this.engine.putArchive(containerId, dir, await packEntries(entries), signal);
  }

  async delete(caller: Caller, ref: string, p: string, recursive = false): Promise<boolean> {
    assertRootAllowed(caller, 'delete files');
    const target = parseInput(filePath, p);
    return this.recorder.action(caller, 'FILE_DELETE', ref, { path: target, recursive }, (about) => this.pool.write.run(async (signal) => {
      const container = about(await this.containers.requireRunning(caller, ref, signal));
      const stat = await this.engine.statPath(container.id, target, signal);
      if (!stat) throw notFound(`No such file: ${target}`);
      if (isDirectoryMode(stat.mode) && !recursive) throw conflict(`${target} is a directory; delete it with recursive`);
      const result = await this.engine.exec(
        container.id,
        { argv: ['rm', recursive ? '-rf' : '-f', '--', target], user: '0', maxOutputBytes: 4096 },
        signal,
      );
      if (result.exitCode !== 0) throw new AppError('INTERNAL', `rm failed: ${result.output.trim()}`);
      return true;
    }));
  }

  /** Resolves `user[:group]` (names or numbers) against the container's account files. */
  async resolveOwner(containerId: string, owner: string, signal?: AbortSignal): Promise<{ uid: number; gid: number }> {
    const [userPart, groupPart] = owner.split(':') as [string, string | undefined];
    const numeric = (s: string) => /^\d+$/.test(s);
    let uid: number;
    let gid: number | undefined;
    if (numeric(userPart)) {
      uid = Number(userPart);
    } else {
      const users = parsePasswd(await this.readTextOrEmpty(containerId, '/etc/passwd', signal));
      const user = users.find((u) => u.username === userPart);
      if (!user) throw noSuchAccount('user', userPart);
      uid = user.uid;
      gid = user.gid;
    }
    if (groupPart !== undefined) {
      if (numeric(groupPart)) gid = Number(groupPart);
      else {
        const groups = parseGroup(await this.readTextOrEmpty(containerId, '/etc/group', signal));
        const group = groups.find((g) => g.name === groupPart);
        if (!group) throw notFound(`No such group in the container: ${groupPart}`);
        gid = group.gid;
      }
    }
    return { uid, gid: gid ?? uid };
  }
}

/** Names not starting with a dot first, as the listing shell expands them (engine/docker/directory.ts), each group in byte order. */
function byListingOrder(a: DirectoryEntry, b: DirectoryEntry): number {
  const hidden = Number(a.name.startsWith('.')) - Number(b.name.startsWith('.'));
  return hidden || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/** The engines report Go file modes: the directory flag is the top bit, or S_IFDIR on Podman. */
export function isDirectoryMode(mode: number): boolean {
  return (mode & 0x80000000) !== 0 || (mode & 0o170000) === 0o040000;
}
