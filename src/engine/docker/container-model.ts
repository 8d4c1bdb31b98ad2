import type Docker from 'dockerode';
import { statusText, type ContainerDetails, type ContainerModel, type ContainerState, type PortMapping } from '../container-model.js';
import type { ContainerSpec } from '../port.js';

/* How the Docker API's answers (Docker Engine's and Podman's alike) map onto podgraph's container model, and its spec onto a create. */

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

/** The create request for a container spec; host paths are bind mounts, other sources named volumes. */
export function toCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostPort: string; HostIp?: string }>> = {};
  for (const p of spec.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostPort: p.hostPort ? String(p.hostPort) : '', ...(p.hostIp ? { HostIp: p.hostIp } : {}) });
  }
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: spec.command,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    User: spec.user,
    WorkingDir: spec.workdir,
    Labels: spec.labels,
    Tty: spec.tty,
    OpenStdin: false,
    ExposedPorts: exposed,
    HostConfig: {
      Init: spec.init,
      PortBindings: bindings,
      Mounts: spec.volumes.map((v) => ({
        Type: v.source.startsWith('/') ? ('bind' as const) : ('volume' as const),
        Source: v.source,
        Target: v.target,
        ReadOnly: v.readOnly,
      })),
      Memory: spec.memoryBytes,
      NanoCpus: spec.cpus ? Math.round(spec.cpus * 1e9) : undefined,
      PidsLimit: spec.pidsLimit,
      Privileged: spec.privileged,
      ...(spec.hostNetwork ? { NetworkMode: 'host' } : {}),
      ...(spec.hostPid ? { PidMode: 'host' } : {}),
      ...(spec.hostIpc ? { IpcMode: 'host' } : {}),
      CapAdd: spec.capAdd,
      Devices: spec.devices.map((device) => ({ PathOnHost: device, PathInContainer: device, CgroupPermissions: 'rwm' })),
    },
  };
}
