import { MAX_DIRECTORY_ENTRIES, type DirectoryModel, type FileModel, type PathInfo } from '../core/files.js';
import { badInput } from '../errors.js';
import { builder } from './builder.js';
import { ContainerRef, stripNulls } from './container.js';
import { DateTimeScalar, FileModeScalar } from './scalars.js';

export const FileEncodingEnum = builder.enumType('FileEncoding', { values: ['UTF8', 'BASE64'] as const });
const FileTypeEnum = builder.enumType('FileType', { values: ['FILE', 'DIRECTORY', 'SYMLINK', 'OTHER'] as const });

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(content: Buffer): boolean {
  try {
    utf8.decode(content);
    return true;
  } catch {
    return false;
  }
}

/** What File and DirectoryEntry both tell of a path. */
const FileInfoRef = builder.interfaceRef<PathInfo>('FileInfo').implement({
  description: "A path's type, size, permissions, owner and modification time, as its stat says (a symlink is itself).",
  fields: (t) => ({
    path: t.exposeString('path'),
    type: t.field({ type: FileTypeEnum, resolve: (f) => f.type }),
    size: t.exposeInt('size', { description: 'In bytes.' }),
    mode: t.exposeInt('mode', { description: 'Permission bits, e.g. 420 for 0644.' }),
    modeOctal: t.string({ resolve: (f) => f.mode.toString(8).padStart(4, '0') }),
    uid: t.exposeInt('uid'),
    gid: t.exposeInt('gid'),
    modifiedAt: t.field({ type: DateTimeScalar, resolve: (f) => f.modifiedAt }),
    linkTarget: t.exposeString('linkTarget', { nullable: true }),
  }),
});

export const FileRef = builder.objectRef<FileModel>('File').implement({
  description: 'A path inside a container.',
  interfaces: [FileInfoRef],
  fields: (t) => ({
    isText: t.boolean({ description: 'Whether the content is valid UTF-8.', resolve: (f) => isUtf8(f.content) }),
    content: t.string({
      description: 'UTF8 fails for content that is not valid UTF-8; ask for BASE64 then.',
      args: { encoding: t.arg({ type: FileEncodingEnum, required: false, defaultValue: 'UTF8' }) },
      resolve: (f, { encoding }) => {
        if (f.type === 'DIRECTORY') throw badInput(`${f.path} is a directory`);
        if (encoding === 'BASE64') return f.content.toString('base64');
        if (!isUtf8(f.content)) throw badInput(`${f.path} is not valid UTF-8; ask for encoding BASE64`);
        return f.content.toString('utf8');
      },
    }),
  }),
});

builder.objectField(ContainerRef, 'file', (t) =>
  t.field({
    type: FileRef,
    description: 'Read as root, so any file, /etc/shadow included: operator role, like writing.',
    authScopes: { operator: true },
    args: { path: t.arg.string({ required: true, description: 'Absolute, normalised path.' }) },
    resolve: (c, { path }, ctx) => ctx.services.files.read(ctx, c.id, path),
  }),
);

const DirectoryEntryRef = builder.objectRef<DirectoryModel['entries'][number]>('DirectoryEntry').implement({
  description: 'One entry of a directory.',
  interfaces: [FileInfoRef],
  fields: (t) => ({ name: t.exposeString('name', { description: 'Its name in the directory; path is the full one.' }) }),
});

const DirectoryRef = builder.objectRef<DirectoryModel>('Directory').implement({
  description: 'A directory inside a container, listed.',
  fields: (t) => ({
    path: t.exposeString('path'),
    entries: t.field({
      type: [DirectoryEntryRef],
      description: 'Names not starting with a dot first, then those that do, each group in byte order; at most `limit`.',
      resolve: (d) => d.entries,
    }),
    totalEntries: t.exposeInt('total', { description: 'How many entries the directory has, those not listed included.' }),
    truncated: t.boolean({ description: 'Whether the directory has more entries than those listed.', resolve: (d) => d.total > d.entries.length }),
  }),
});

builder.objectField(ContainerRef, 'directory', (t) =>
  t.field({
    type: DirectoryRef,
    description:
      'Lists a directory of a running container as root (a symlink to one is followed): operator role, like reading a file. ' +
      'NOT_FOUND when the path does not exist, BAD_USER_INPUT when it is not a directory, CONFLICT when the container is not running.',
    authScopes: { operator: true },
    args: {
      path: t.arg.string({ required: true, description: 'Absolute, normalised path; "/" too.' }),
      limit: t.arg.int({ required: false, defaultValue: MAX_DIRECTORY_ENTRIES, description: `Entries listed at most, 1 to ${MAX_DIRECTORY_ENTRIES}.` }),
    },
    resolve: (c, { path, limit }, ctx) => ctx.services.files.list(ctx, c.id, path, limit ?? undefined),
  }),
);

const WriteFileInput = builder.inputType('WriteFileInput', {
  fields: (t) => ({
    path: t.string({ description: 'Absolute, normalised path.' }),
    content: t.string({ description: 'May be empty.' }),
    encoding: t.field({ type: FileEncodingEnum, required: false, description: 'Of content; default UTF8.' }),
    mode: t.field({ type: FileModeScalar, required: false, description: 'Permission bits; default "0644".' }),
    owner: t.string({ required: false, description: 'user, user:group, uid or uid:gid; default root.' }),
    createParents: t.boolean({ required: false, description: 'Create missing directories; default true.' }),
  }),
});

builder.mutationFields((t) => ({
  writeFile: t.field({
    type: FileRef,
    authScopes: { operator: true },
    args: { container: t.arg.string({ required: true }), input: t.arg({ type: WriteFileInput, required: true }) },
    resolve: async (_, { container, input }, ctx) => ctx.services.files.write(ctx, container, stripNulls(input)),
  }),
  deleteFile: t.boolean({
    authScopes: { operator: true },
    args: {
      container: t.arg.string({ required: true }),
      path: t.arg.string({ required: true }),
      recursive: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: async (_, args, ctx) => ctx.services.files.delete(ctx, args.container, args.path, args.recursive ?? false),
  }),
}));
