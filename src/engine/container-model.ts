import type Docker from 'dockerode';

/*
 * The container as podgraph's services see it, and how the Docker API's answers (Docker Engine's
 * and Podman's alike) map onto it.
 */

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

/** Both engines' state words mapped to one enum (Podman says "stopped", "configured"...). */
export function toState(raw: string | undefined): ContainerState {
  switch ((raw ?? '').toLowerCase()) {
    case 'running':
      return 'RUNNING';
    case 'paused':
      return 'PAUSED';
    case 'restarting':
      return 'RESTARTING';
    case 'removing':
      return 'REMOVING';
    case 'dead':
      return 'DEAD';
    case 'exited':
    case 'stopped':
      return 'EXITED';
    default:
      return 'CREATED';
  }
}

const engineTime = (value: string | undefined): Date | null => {
  if (!value || value.startsWith('0001-01-01')) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
};

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

function portsFromBindings(bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | undefined): PortMapping[] {
  const ports: PortMapping[] = [];
  for (const [key, hosts] of Object.entries(bindings ?? {})) {
    const [port, proto] = key.split('/');
    const base = { containerPort: Number(port), protocol: proto === 'udp' ? ('udp' as const) : ('tcp' as const) };
    if (!hosts?.length) ports.push({ ...base, hostPort: null, hostIp: null });
    for (const h of hosts ?? []) ports.push({ ...base, hostPort: h.HostPort ? Number(h.HostPort) : null, hostIp: h.HostIp || null });
  }
  return ports;
}


/** Log drivers whose files are lines of text; Podman reports its k8s-file as json-file. */
const READABLE_LOG_DRIVERS = new Set(['json-file', 'k8s-file']);

export function fromInspect(info: Docker.ContainerInspectInfo): ContainerModel {
  const state = toState(info.State.Status);
  const details: ContainerDetails = {
    startedAt: engineTime(info.State.StartedAt),
    finishedAt: state === 'RUNNING' ? null : engineTime(info.State.FinishedAt),
    exitCode: state === 'EXITED' || state === 'DEAD' ? info.State.ExitCode : null,
    tty: Boolean(info.Config.Tty),
    user: info.Config.User || null,
    workdir: info.Config.WorkingDir || null,
    logPath: READABLE_LOG_DRIVERS.has(info.HostConfig.LogConfig?.Type ?? '') ? info.LogPath || null : null,
    command: [...(info.Config.Entrypoint ? [info.Config.Entrypoint].flat() : []), ...(info.Config.Cmd ?? [])],
  };
  const bindings = (info.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }>>;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    imageId: info.Image,
    state,
    status: statusText(state, details),
    createdAt: new Date(info.Created),
    labels: info.Config.Labels ?? {},
    ports: portsFromBindings(info.NetworkSettings?.Ports ?? bindings),
    details,
  };
}

export function fromSummary(info: Docker.ContainerInfo): ContainerModel {
  return {
    id: info.Id,
    name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
    image: info.Image,
    imageId: info.ImageID,
    state: toState(info.State),
    status: info.Status,
    createdAt: new Date(info.Created * 1000),
    labels: info.Labels ?? {},
    ports: (info.Ports ?? []).map((p) => ({
      containerPort: p.PrivatePort,
      protocol: p.Type === 'udp' ? 'udp' : 'tcp',
      hostPort: p.PublicPort ?? null,
      hostIp: p.IP || null,
    })),
  };
}
