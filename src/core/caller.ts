import type { ScopedContainer } from '../auth/scope.js';
import type { ContainerModel } from '../engine/container-model.js';
import { forbidden, notFound } from '../errors.js';
import type { Actor } from '../store/executions.js';

/** Who asks a service for something: every service method that touches a container takes one. */
export interface Caller {
  /** Who it is, as records name them. */
  readonly actor: Actor;
  /** Whether the caller sees only some containers (a token with a scope). */
  readonly scoped: boolean;
  inScope(container: ScopedContainer): boolean;
  /**
   * A student's own account in their container: their commands and terminals run as it, and the
   * file and account tools, which act as root, are closed to them.
   */
  readonly account?: string;
}

/** A process spec as the caller may run it: a student's runs as their own account, and asking for another is FORBIDDEN. */
export function runAs<S extends { user?: string }>(caller: Caller, spec: S): S {
  if (caller.account === undefined) return spec;
  if (spec.user !== undefined && spec.user !== caller.account) throw forbidden(`A student's token runs commands as ${caller.account} only`);
  return { ...spec, user: caller.account };
}

/** Refuses a student the tools that act as root in their container (their terminal is theirs to use). */
export function assertRootAllowed(caller: Caller, what: string): void {
  if (caller.account !== undefined) throw forbidden(`A student's token may not ${what}: that acts as root in the container`);
}

/** A container outside the caller's scope is answered as if it did not exist. */
export function visibleTo(caller: Caller, ref: string, container: ContainerModel): ContainerModel {
  if (!caller.inScope(container)) throw notFound(`No such container: ${ref}`);
  return container;
}
