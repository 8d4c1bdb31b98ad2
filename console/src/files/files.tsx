import { DirectoryDocument, FileContentDocument, WriteFileDocument, type DirectoryQuery } from 'podgraph/client';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, run } from '../api';
import { bytes, timestamp } from '../format';
import { saveAs } from '../save';
import { useSession } from '../session';

type Listing = DirectoryQuery['container']['directory'];
type Entry = Listing['entries'][number];

interface ShownFile {
  path: string;
  size: number;
  /** Null when the bytes are not UTF-8: the file can only be downloaded. */
  text: string | null;
}

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** "/", "/home", "/home/student" for "/home/student": each step of the breadcrumbs. */
function crumbs(dir: string): Array<{ name: string; path: string }> {
  const names = dir.split('/').filter(Boolean);
  return [{ name: '/', path: '/' }, ...names.map((name, i) => ({ name, path: `/${names.slice(0, i + 1).join('/')}` }))];
}

const fromBase64 = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/** A file picked in the browser, as base64 (the data: URL the browser encodes it to, without its prefix). */
function toBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error(`Cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

/**
 * A running container's files, as root (operator role): browse its directories, read a text file,
 * upload a file into the directory shown, download a file.
 */
export function Files({ container }: { container: string }) {
  const { api } = useSession();
  const [listing, setListing] = useState<Listing | undefined>();
  const [shown, setShown] = useState<ShownFile | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  /** Runs one file operation at a time; its failure shows above the listing. */
  const act = (action: () => Promise<unknown>) => {
    setProblem(undefined);
    setBusy(true);
    action()
      .catch((error: Error) => setProblem(error.message))
      .finally(() => setBusy(false));
  };

  const list = async (path: string) => setListing((await run(api.client, DirectoryDocument, { ref: container, path })).container.directory);
  const readFile = async (path: string) => (await run(api.client, FileContentDocument, { ref: container, path })).container.file;

  const view = async (path: string) => {
    const file = await readFile(path);
    setShown({ path: file.path, size: file.size, text: file.isText ? new TextDecoder().decode(fromBase64(file.content)) : null });
  };
  const download = async (path: string) => saveAs(new Blob([fromBase64((await readFile(path)).content)]), baseName(path));
  /** A directory is browsed into, a file shown; a symlink is whichever its target is. */
  const open = async (entry: Entry) => {
    if (entry.type === 'FILE') return view(entry.path);
    try {
      await list(entry.path);
      setShown(undefined);
    } catch (error) {
      if (entry.type === 'SYMLINK' && error instanceof ApiError && error.code === 'BAD_USER_INPUT') return view(entry.path);
      throw error;
    }
  };
  const upload = async (dir: string, file: File) => {
    await run(api.client, WriteFileDocument, { container, input: { path: childPath(dir, file.name), content: await toBase64(file), encoding: 'BASE64' } }, 'mutation');
    await list(dir);
  };

  useEffect(() => {
    setListing(undefined);
    setShown(undefined);
    act(() => list('/'));
  }, [api, container]);

  return (
    <section class="files">
      <div class="toolbar">
        <nav class="crumbs" aria-label="Path">
          {crumbs(listing?.path ?? '/').map((crumb) => (
            <button class="link" onClick={() => act(() => list(crumb.path).then(() => setShown(undefined)))}>
              {crumb.name}
            </button>
          ))}
        </nav>
        {listing && (
          <label class="upload">
            Upload
            <input
              type="file"
              aria-label="Upload a file"
              disabled={busy}
              onChange={(event) => {
                const input = event.currentTarget;
                const file = input.files?.[0];
                if (file) act(() => upload(listing.path, file).finally(() => (input.value = '')));
              }}
            />
          </label>
        )}
      </div>
      {problem && <p class="error">{problem}</p>}
      {shown && (
        <div class="file-view">
          <div class="toolbar">
            <strong>{shown.path}</strong> <span class="status">{bytes(shown.size)}</span>
            <button onClick={() => act(() => download(shown.path))}>Download</button>
            <button onClick={() => setShown(undefined)}>Close</button>
          </div>
          {shown.text === null ? <p class="status">Not text (not valid UTF-8): download it to see it.</p> : <pre data-testid="file-content">{shown.text}</pre>}
        </div>
      )}
      {listing && (
        <>
          {listing.truncated && (
            <p class="status">
              The first {listing.entries.length} of {listing.totalEntries} entries.
            </p>
          )}
          <table data-testid="directory">
            <thead>
              <tr>
                <th>name</th>
                <th>size</th>
                <th>mode</th>
                <th>owner</th>
                <th>modified</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {listing.entries.map((entry) => (
                <tr key={entry.name} data-entry={entry.name}>
                  <td>
                    {entry.type === 'OTHER' ? (
                      entry.name
                    ) : (
                      <button class="link" onClick={() => act(() => open(entry))}>
                        {entry.name}
                        {entry.type === 'DIRECTORY' && '/'}
                      </button>
                    )}
                    {entry.linkTarget !== null && <span class="status"> → {entry.linkTarget}</span>}
                  </td>
                  <td>{entry.type === 'FILE' ? bytes(entry.size) : ''}</td>
                  <td>{entry.modeOctal}</td>
                  <td>
                    {entry.uid}:{entry.gid}
                  </td>
                  <td>{timestamp(entry.modifiedAt)}</td>
                  <td>{entry.type === 'FILE' && <button onClick={() => act(() => download(entry.path))}>Download</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {listing.entries.length === 0 && <p class="status">This directory is empty.</p>}
        </>
      )}
    </section>
  );
}
