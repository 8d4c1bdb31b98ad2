import { noSuchAccount } from '../../errors.js';
import type { CapturedOutput } from '../streams.js';

/**
 * How the container runtime says it could not start an exec's process. Podman answers 127 or
 * 126 with runc's words (and its own socket errors) on stderr; Docker answers 126 with them on
 * stdout. Shells answer 127 "not found" and 126 "permission denied": so does podgraph, in its
 * own words, whichever engine ran it.
 */
const COULD_NOT_START = /unable to start container process: exec: "([^"]*)": (executable file not found|stat [^:]*: no such file or directory|permission denied|exec format error)/;
const NO_SUCH_ACCOUNT = /unable to find (user|group) ([^:\s]+): no matching entries/;

/** What the client is told instead of the runtime's words. */
export type StartFailure = { exitCode: 126 | 127; message: string };

/** The start failure an output shows, if it is one (only with the runtime's own exit codes). */
export function startFailureOf(exitCode: number | null, captured: Pick<CapturedOutput, 'stdout' | 'stderr'>): StartFailure | null {
  if (exitCode !== 126 && exitCode !== 127) return null;
  const text = `${captured.stderr}\n${captured.stdout}`;
  const account = NO_SUCH_ACCOUNT.exec(text);
  if (account) throw noSuchAccount(account[1]!, account[2]!);
  const start = COULD_NOT_START.exec(text);
  if (!start) return null;
  const [, program, reason] = start;
  if (reason === 'permission denied') return { exitCode: 126, message: `${program}: permission denied\n` };
  if (reason === 'exec format error') return { exitCode: 126, message: `${program}: cannot execute: not a program this container can run\n` };
  return { exitCode: 127, message: `${program}: executable not found\n` };
}
