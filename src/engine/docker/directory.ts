import type Docker from 'dockerode';
import { AppError, badInput, conflict, notFound } from '../../errors.js';
import type { DirectoryEntry, DirectoryListing, FileType } from '../port.js';
import { runExec } from './exec.js';

/** The script's exit codes (and the runtime's for a missing sh) that say why there is no listing. */
const MISSING = 3;
const NOT_A_DIRECTORY = 4;
/** An entry went away between the listing and its stat. */
const CHANGED = 5;
const NO_STAT_OR_READLINK = 6;
const NO_SHELL = 127;
/** Listings tried before a directory that keeps changing is reported as such. */
const ATTEMPTS = 3;
/** Output allowed per listed entry: a name, its stat line and a symlink's target (up to PATH_MAX). */
const BYTES_PER_ENTRY = 5 * 1024;

/*
 * The engines' API has no directory listing, and an archive of a directory carries its whole
 * tree; so the container's own sh, stat and readlink list it (busybox has all three). The path
 * and the limit are the script's arguments ($1, $2), never part of its text.
 *
 * It prints the number of entries and a newline; then each listed name, NUL-terminated; then one
 * stat line per name in the same order (only numbers, so no name can shift them); then each
 * name's symlink target (empty for other types), NUL-terminated.
 */
const LIST_SCRIPT = `
command -v stat >/dev/null && command -v readlink >/dev/null || exit ${NO_STAT_OR_READLINK}
[ -e "$1" ] || [ -h "$1" ] || exit ${MISSING}
[ -d "$1" ] || exit ${NOT_A_DIRECTORY}
cd -- "$1" || exit ${MISSING}
limit=$2 total=0
set --
for name in * .[!.]* ..?*; do
  [ -e "$name" ] || [ -h "$name" ] || continue
  total=$((total + 1))
  if [ "$total" -le "$limit" ]; then set -- "$@" "$name"; fi
done
printf '%s\\n' "$total"
[ $# -eq 0 ] && exit 0
printf '%s\\0' "$@"
stat -c '%f %s %u %g %Y' -- "$@" || exit ${CHANGED}
for name; do
  if [ -h "$name" ]; then readlink -- "$name"; fi
  printf '\\0'
done
`;

const S_IFMT = 0o170000;
const TYPES: Record<number, FileType> = { 0o100000: 'FILE', 0o040000: 'DIRECTORY', 0o120000: 'SYMLINK' };

/** Lists a directory of a running container (ContainerEngine.listDirectory). */
export async function listDirectory(docker: Docker, id: string, path: string, limit: number, signal?: AbortSignal): Promise<DirectoryListing> {
  for (let attempt = 1; ; attempt++) {
    const run = await runExec(
      docker,
      id,
      { argv: ['sh', '-c', LIST_SCRIPT, 'list-directory', path, String(limit)], user: '0', maxOutputBytes: 64 + limit * BYTES_PER_ENTRY },
      signal,
    );
    if (run.killed) throw new AppError('TIMEOUT', `Listing ${path} did not finish in time`);
    if (run.exitCode === MISSING) throw notFound(`No such directory: ${path}`);
    if (run.exitCode === NOT_A_DIRECTORY) throw badInput(`${path} is not a directory`);
    if (run.exitCode === NO_STAT_OR_READLINK || run.exitCode === NO_SHELL) throw conflict('The container has no sh, stat or readlink to list a directory with');
    if (run.exitCode === CHANGED && attempt < ATTEMPTS) continue;
    if (run.exitCode === CHANGED) throw conflict(`${path} changed while it was listed, ${ATTEMPTS} times; list it again`);
    if (run.exitCode !== 0 || run.truncated) throw new AppError('INTERNAL', `Listing ${path} failed (exit ${run.exitCode}): ${run.stderr.trim()}`);
    return parseListing(run.stdout, limit);
  }
}

/** Reads the script's output (see LIST_SCRIPT). */
function parseListing(output: string, limit: number): DirectoryListing {
  const countEnd = output.indexOf('\n');
  const total = Number(output.slice(0, countEnd));
  let at = countEnd + 1;
  const upTo = (terminator: string) => {
    const end = output.indexOf(terminator, at);
    if (end === -1) throw new AppError('INTERNAL', 'A directory listing ended early');
    const field = output.slice(at, end);
    at = end + 1;
    return field;
  };
  const names = Array.from({ length: Math.min(total, limit) }, () => upTo('\0'));
  const stats = names.map(() => upTo('\n').split(' ').map((field, index) => (index === 0 ? parseInt(field, 16) : Number(field))));
  // readlink ends its target with a newline.
  const targets = names.map(() => upTo('\0').replace(/\n$/, ''));
  const entries = names.map((name, i): DirectoryEntry => {
    const [rawMode = 0, size = 0, uid = 0, gid = 0, mtime = 0] = stats[i]!;
    const type = TYPES[rawMode & S_IFMT] ?? 'OTHER';
    return { name, type, size, mode: rawMode & 0o7777, uid, gid, modifiedAt: new Date(mtime * 1000), linkTarget: type === 'SYMLINK' ? targets[i]! : null };
  });
  return { entries, total };
}
