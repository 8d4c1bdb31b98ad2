import type { Logger } from 'pino';
import { hasRole, type Principal } from '../auth/tokens.js';
import type { ScopedContainer } from '../auth/scope.js';
import type { ContainerModel } from '../engine/container-model.js';
import type { Caller } from './caller.js';
import type { Requester } from './policy.js';
import type { Services } from './services.js';

/** One request's caller, as every transport (GraphQL over HTTP, SSE and WebSocket; REST) hands it to the services. */
export interface Session extends Caller {
  services: Services;
  logger: Logger;
  /**
   * Aborts when the client has gone away: its HTTP request closed before the answer, or its
   * WebSocket operation was cancelled or its socket closed. Long operations stop on it.
   */
  signal: AbortSignal;
  /** Who is asking; ANONYMOUS (an admin) when authentication is off. */
  principal: Principal;
  /** The principal as the container policy sees it. */
  requester: Requester;
  /**
   * Per-request memo of the containers the caller looks at (ContainerService.find), by the ref
   * asked and the ID found, so several fields share one engine call. A container outside the
   * principal's scope is NOT_FOUND, as if it did not exist.
   */
  inspect: (ref: string) => Promise<ContainerModel>;
}

/** The session of an authenticated principal. */
export function sessionFor(services: Services, logger: Logger, principal: Principal, signal: AbortSignal): Session {
  const caller: Caller = {
    actor: { tokenId: principal.tokenId, role: principal.role },
    scoped: principal.scope !== null,
    inScope: (container: ScopedContainer) => !principal.scope || principal.scope.allows(container),
    account: principal.student?.id,
  };
  const cache = new Map<string, Promise<ContainerModel>>();
  const inspect = (ref: string) => {
    let pending = cache.get(ref);
    if (!pending) {
      pending = services.containers.find(caller, ref).then((container) => {
        // Fields of a container found by name ask again by its ID (logs, terminals...).
        cache.set(container.id, Promise.resolve(container));
        return container;
      });
      cache.set(ref, pending);
    }
    return pending;
  };
  return {
    services,
    logger,
    signal,
    principal,
    requester: { admin: hasRole(principal, 'admin'), scope: principal.scope, student: principal.student !== undefined },
    ...caller,
    inspect,
  };
}
