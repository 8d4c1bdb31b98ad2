import { defaultFieldResolver, type GraphQLField, type GraphQLSchema } from 'graphql';
import { audit, type AuditArgs } from '../core/audit.js';
import { fromEngineError } from '../errors.js';
import type { Context } from './context.js';

/** Whether a field needs more than the viewer role (Pothos keeps the field's options in its extensions). */
function isAction(field: GraphQLField<unknown, Context>): boolean {
  const scopes = (field.extensions?.pothosOptions as { authScopes?: Record<string, unknown> } | undefined)?.authScopes;
  return !scopes || !scopes.viewer;
}

/**
 * Typing into a terminal succeeds once per keystroke: the terminal's session writes one record of
 * who typed how much when it ends (core/terminals.ts), and only refusals are audited here.
 */
const RECORDED_PER_SESSION = new Set(['terminalInput']);

/** Runs an action and audits its outcome, success or error code. */
function audited<R>(ctx: Context, action: string, args: AuditArgs, run: () => Promise<R>): Promise<R> {
  return run().then(
    (result) => {
      if (!RECORDED_PER_SESSION.has(action)) audit(ctx, action, args, 'ok');
      return result;
    },
    (error: unknown) => {
      audit(ctx, action, args, fromEngineError(error).code);
      throw error;
    },
  );
}

/**
 * One structured audit line per mutation and per action subscription (an exec stream, a
 * terminal): token id, action, container and outcome (ok or the error code). Arguments such as
 * passwords, file content and commands are never logged. The wrappers sit outside the
 * authorization checks, so refusals are audited too.
 */
export function withAuditLog(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args, ctx: Context, info) => audited(ctx, field.name, args, async () => resolve(source, args, ctx, info));
  }
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    const subscribe = field.subscribe;
    if (!subscribe || !isAction(field)) continue;
    field.subscribe = (source, args, ctx: Context, info) => audited(ctx, field.name, args, async () => subscribe(source, args, ctx, info));
  }
  return schema;
}
