import type { ScopedContainer } from '../auth/scope.js';
import type { ContainerModel } from '../engine/container-model.js';
import { notFound } from '../errors.js';
import type { Actor } from '../store/executions.js';

/** Who asks a service for something: every service method that touches a container takes one. */
export interface Caller {
  /** Who it is, as records name them. */
  readonly actor: Actor;
  /** Whether the caller sees only some containers (a token with a scope). */
  readonly scoped: boolean;
  inScope(container: ScopedContainer): boolean;
}

/** A container outside the caller's scope is answered as if it did not exist. */
export function visibleTo(caller: Caller, ref: string, container: ContainerModel): ContainerModel {
  if (!caller.inScope(container)) throw notFound(`No such container: ${ref}`);
  return container;
}
