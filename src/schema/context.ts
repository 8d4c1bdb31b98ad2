import type { Logger } from 'pino';
import type { ContainerModel } from '../core/containers.js';
import type { Services } from '../core/services.js';

export interface Context {
  services: Services;
  logger: Logger;
  /** Per-request memo of container inspects, so several fields share one engine call. */
  inspect: (id: string) => Promise<ContainerModel>;
}

export function createContext(services: Services, logger: Logger): Context {
  const cache = new Map<string, Promise<ContainerModel>>();
  return {
    services,
    logger,
    inspect: (id) => {
      let pending = cache.get(id);
      if (!pending) {
        pending = services.containers.get(id);
        cache.set(id, pending);
      }
      return pending;
    },
  };
}
