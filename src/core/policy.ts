import { realpathSync } from 'node:fs';
import type { ContainerPolicyConfig } from '../config.js';
import { badInput, forbidden } from '../errors.js';
import { globToRegExp } from '../glob.js';

/** What a requester's scope covers: containers and named volumes alike, by name and labels. */
export interface RequesterScope {
  labels: Record<string, string>;
  allowsName(name: string): boolean;
  allows(subject: { name: string; labels: Record<string, string> }): boolean;
}

/** Who creates a container, as far as the policy cares. */
export interface Requester {
  /** Admins may use host-level options, when the policy allows them at all. */
  admin: boolean;
  /** A scoped requester may create only containers its scope covers, and mount only its own named volumes; they get its labels. */
  scope: RequesterScope | null;
  /** A student's token creates no containers: its lab gives it its own. */
  student?: boolean;
}

/** The parts of a container spec the policy reads and fills in. */
export interface PolicySubject {
  image: string;
  name: string;
  labels: Record<string, string>;
  volumes: Array<{ source: string }>;
  memoryBytes?: number;
  cpus?: number;
  pidsLimit?: number;
  privileged: boolean;
  hostNetwork: boolean;
  hostPid: boolean;
  hostIpc: boolean;
  capAdd: string[];
  devices: string[];
  /** Ports published on the host; no hostPort (or 0) lets the engine pick a free one. */
  ports: Array<{ hostPort?: number | null }>;
}

const HOST_OPTIONS = ['privileged', 'hostNetwork', 'hostPid', 'hostIpc'] as const;

const isUnder = (candidate: string, root: string) => root === '/' || candidate === root || candidate.startsWith(`${root}/`);

/** A host path as the engine will see it, following symlinks where it exists on this machine. */
function resolvedHostPath(source: string): string {
  try {
    return realpathSync.native(source);
  } catch {
    return source;
  }
}

/**
 * What a created container may ask of the host. Safe by default: no host namespaces,
 * privileges, capabilities or devices (admins only, and only when the policy allows them), bind
 * mounts only under the allowed roots, host ports only in the allowed ranges (by default none
 * below 1024, where the host's own services listen), images only from the allowlist when one is
 * set, and resource limits that default to the configured values and never exceed the maximums.
 */
export class ContainerPolicy {
  private readonly images: RegExp[];

  constructor(private readonly config: ContainerPolicyConfig) {
    this.images = config.imageAllowlist.map(globToRegExp);
  }

  /** Port 0 is the engine's pick of a free port: allowed wherever publishing is. */
  private hostPortAllowed(port: number): boolean {
    const ranges = this.config.allowedHostPorts;
    return port === 0 ? ranges.length > 0 : ranges.some(({ from, to }) => port >= from && port <= to);
  }

  /** Checks a validated spec and returns it with the default limits and the scope's labels applied. */
  apply<T extends PolicySubject>(spec: T, requester: Requester): T {
    if (requester.student) throw forbidden("A student's token may not create containers; the lab provides them");
    const hostOptions = [...HOST_OPTIONS.filter((option) => spec[option]), ...(spec.capAdd.length ? ['capAdd'] : []), ...(spec.devices.length ? ['devices'] : [])];
    const hostLevel = requester.admin && this.config.allowPrivilegedForAdmins;
    const adminsOnly = requester.admin ? '' : ' (admins only, when ALLOW_PRIVILEGED_FOR_ADMINS is set)';
    if (hostOptions.length && !hostLevel) {
      throw forbidden(`The container policy does not allow ${hostOptions.join(', ')}${adminsOnly}`);
    }
    const outside = spec.ports.filter(({ hostPort }) => !this.hostPortAllowed(hostPort ?? 0));
    if (outside.length && !hostLevel) {
      const ports = outside.map(({ hostPort }) => (hostPort ? String(hostPort) : 'any')).join(', ');
      throw forbidden(`Publishing on host port ${ports} is outside ALLOWED_HOST_PORTS${adminsOnly}`);
    }
    for (const { source } of spec.volumes) {
      if (!source.startsWith('/')) continue;
      const real = resolvedHostPath(source);
      if (!this.config.allowedBindRoots.some((root) => isUnder(source, root) && isUnder(real, root))) {
        throw forbidden(`Bind mount of ${source} is not under an allowed root (ALLOWED_BIND_ROOTS); use a named volume`);
      }
    }
    if (this.images.length && !this.images.some((pattern) => pattern.test(spec.image))) {
      throw forbidden(`Image ${spec.image} is not in the image allowlist`);
    }
    if (requester.scope && !requester.scope.allowsName(spec.name)) {
      throw forbidden(`The name ${spec.name} is outside this token's scope`);
    }
    return {
      ...spec,
      labels: { ...spec.labels, ...requester.scope?.labels },
      memoryBytes: this.limit('memoryBytes', spec.memoryBytes, this.config.defaultMemoryBytes, this.config.maxMemoryBytes),
      cpus: this.limit('cpus', spec.cpus, this.config.defaultCpus, this.config.maxCpus),
      pidsLimit: this.limit('pidsLimit', spec.pidsLimit, this.config.defaultPidsLimit, this.config.maxPidsLimit),
    };
  }

  private limit(field: string, requested: number | undefined, fallback: number, max: number): number {
    if (requested === undefined) return fallback;
    if (requested > max) throw badInput(`${field} must be at most ${max} (the configured maximum)`);
    return requested;
  }
}

