import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { AppError } from '../errors.js';

export interface ArchiveEntry {
  /** Path relative to the directory the archive is extracted into. */
  name: string;
  type: 'file' | 'directory';
  content?: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

/** Builds an in-memory tar of the given entries (files and directories, in order). */
export async function packEntries(entries: ArchiveEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const mtime = new Date();
  for (const entry of entries) {
    const header = { name: entry.name, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime };
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        entry.type === 'file' ? { ...header, size: entry.content!.length } : header,
        entry.content ?? Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface ExtractedEntry {
  name: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  linkname: string | null;
  content: Buffer;
}

/**
 * Reads the first entry of a tar stream (what the engine sends for a single path). Content
 * beyond `maxBytes` is refused rather than buffered.
 */
export async function readFirstEntry(stream: Readable, maxBytes: number): Promise<ExtractedEntry> {
  const extract = tar.extract();
  stream.pipe(extract);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      if ((h.size ?? 0) > maxBytes) {
        throw new AppError('BAD_USER_INPUT', `File is ${h.size} bytes, over the ${maxBytes}-byte limit`);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      return {
        name: h.name,
        type: h.type ?? 'file',
        size: h.size ?? 0,
        mode: (h.mode ?? 0) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        mtime: h.mtime ?? new Date(0),
        linkname: h.linkname ?? null,
        content: Buffer.concat(chunks),
      };
    }
    throw new AppError('NOT_FOUND', 'The engine sent an empty archive');
  } finally {
    stream.unpipe(extract);
    stream.destroy();
    extract.destroy();
  }
}
