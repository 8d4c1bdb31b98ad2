import type { ContainerModel } from '../engine/container-model.js';

/** The container a live stream is about, already resolved (and scope-checked) by the caller. */
export interface LiveTarget {
  id: string;
  name: string;
  tty: boolean;
  /** Whether its logs may still grow. */
  running: boolean;
  logPath: string | null;
}

export function toLiveTarget(container: ContainerModel): LiveTarget {
  const details = container.details;
  return { id: container.id, name: container.name, tty: details?.tty ?? false, running: container.state === 'RUNNING', logPath: details?.logPath ?? null };
}
