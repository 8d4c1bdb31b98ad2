/** Marks every process an exec starts, so a stopped exec's whole tree can be found and killed. */
export const EXEC_MARKER = 'PODGRAPH_EXEC_ID';

// Fixed script, never built from client input: the marker value arrives as $1. Every marked
// process is frozen first, so a shell cannot run one more command after its child dies.
const KILL_MARKED_PROCESSES = [
  'pids=',
  'for f in /proc/[0-9]*/environ; do',
  `  if tr '\\000' '\\n' < "$f" 2>/dev/null | grep -qx "${EXEC_MARKER}=$1"; then`,
  '    p=${f#/proc/}; pids="$pids ${p%/environ}"',
  '  fi',
  'done',
  '[ -z "$pids" ] && exit 0',
  'kill -STOP $pids 2>/dev/null',
  'kill -KILL $pids 2>/dev/null',
  'true',
].join('\n');

/** The environment entry that marks a process with `marker`. */
export const markerEnv = (marker: string) => `${EXEC_MARKER}=${marker}`;

/** The argument list of a process that kills every process carrying `marker` (with no shell word built from it). */
export const killMarkedArgv = (marker: string) => ['/bin/sh', '-c', KILL_MARKED_PROCESSES, 'podgraph-kill', marker];
