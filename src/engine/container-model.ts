/* The container as podgraph's services see it, whichever engine runs it (engine/port.ts). */

export const CONTAINER_STATES = ['CREATED', 'RUNNING', 'PAUSED', 'RESTARTING', 'REMOVING', 'EXITED', 'DEAD'] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];

export interface PortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostPort: number | null;
  hostIp: string | null;
}

/** Details only an inspect returns; absent on list results until asked for. */
export interface ContainerDetails {
  startedAt: Date | null;
  finishedAt: Date | null;
  exitCode: number | null;
  tty: boolean;
  user: string | null;
  workdir: string | null;
  /** The container's log file, if the engine writes one in a format podgraph reads (engine/logfile.ts). */
  logPath: string | null;
  /** Only an inspect has it as an argument list: a list gives it joined by spaces, quoting lost. */
  command: string[];
}

export interface ContainerModel {
  id: string;
  name: string;
  image: string;
  imageId: string;
  state: ContainerState;
  status: string;
  createdAt: Date;
  labels: Record<string, string>;
  ports: PortMapping[];
  details?: ContainerDetails;
}

function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}`;
  const d = Math.round(h / 24);
  return `${d} days`;
}

/** The engine's list-style status text, derived for inspected containers. */
export function statusText(state: ContainerState, details: ContainerDetails, now = Date.now()): string {
  if (state === 'RUNNING' && details.startedAt) return `Up ${humanDuration(now - details.startedAt.getTime())}`;
  if (state === 'EXITED' && details.finishedAt) {
    return `Exited (${details.exitCode ?? 0}) ${humanDuration(now - details.finishedAt.getTime())} ago`;
  }
  return state.charAt(0) + state.slice(1).toLowerCase();
}

const FULL_ID_LENGTH = 64;
const CONTAINER_ID_REF = /^[0-9a-f]{12,64}$/;

/**
 * Whether a container reference is read as an ID (full, or a prefix of at least 12 lowercase hex
 * characters) rather than as a name. Names of that form are refused, so neither can pass for the
 * other.
 */
export const isContainerIdRef = (ref: string) => CONTAINER_ID_REF.test(ref);

/** Whether a reference is a whole ID, not a prefix of one. */
export const isFullContainerId = (ref: string) => isContainerIdRef(ref) && ref.length === FULL_ID_LENGTH;

/** States in which the container's processes exist (a paused or restarting one's too). */
export const hasProcesses = (state: ContainerState) => state === 'RUNNING' || state === 'PAUSED' || state === 'RESTARTING';
