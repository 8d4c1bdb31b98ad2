import { defaultFieldResolver, type GraphQLField, type GraphQLSchema } from 'graphql';
import { wasRecorded, type ActivityKind } from '../core/activity.js';
import { fromEngineError } from '../errors.js';
import type { Context } from './context.js';

/** The fields whose service records every attempt that reaches it, by the activity it records. */
const RECORDED_AS: Partial<Record<string, ActivityKind>> = {
  createContainer: 'CONTAINER_CREATE',
  startContainer: 'CONTAINER_START',
  stopContainer: 'CONTAINER_STOP',
  restartContainer: 'CONTAINER_RESTART',
  removeContainer: 'CONTAINER_REMOVE',
  exec: 'EXEC_START',
  execStream: 'EXEC_START',
  openTerminal: 'TERMINAL_OPEN',
  writeFile: 'FILE_WRITE',
  deleteFile: 'FILE_DELETE',
  addUser: 'USER_ADD',
  removeUser: 'USER_REMOVE',
  saveLabTemplate: 'TEMPLATE_SAVE',
  createLab: 'LAB_CREATE',
  startLab: 'LAB_START',
  stopLab: 'LAB_STOP',
  extendLab: 'LAB_EXTEND',
  removeLab: 'LAB_REMOVE',
  addStudents: 'STUDENT_ADD',
  removeStudent: 'STUDENT_REMOVE',
  resetStudent: 'STUDENT_RESET',
  issueToken: 'TOKEN_ISSUE',
  revokeToken: 'TOKEN_REVOKE',
  runCheck: 'CHECK_RUN',
};

/** Typing succeeds once per keystroke: the terminal's one record says who typed how much (core/terminals.ts). */
const RECORDED_PER_TERMINAL = new Set(['terminalInput']);

/** Whether a field needs more than the viewer role (Pothos keeps the field's options in its extensions). */
function isAction(field: GraphQLField<unknown, Context>): boolean {
  const scopes = (field.extensions?.pothosOptions as { authScopes?: Record<string, unknown> } | undefined)?.authScopes;
  return !scopes || !scopes.viewer;
}

type Args = Record<string, unknown>;
/** Which container, terminal or lab a refusal was about; every other argument stays out of the record. */
const refOf = (args: Args) => args.container ?? args.lab ?? (args.input as Args | undefined)?.name ?? args.id ?? null;

/**
 * Runs an action. What its service did is recorded by the service; what was refused before any
 * service ran (role, rate limit, malformed input) is recorded here, through the same recorder.
 */
function recorded<R>(ctx: Context, action: string, args: Args, run: () => Promise<R>): Promise<R> {
  const kind = RECORDED_AS[action];
  return run().then(
    (result) => {
      if (!kind && !RECORDED_PER_TERMINAL.has(action)) ctx.services.recorder.note(ctx, action, refOf(args), 'ok');
      return result;
    },
    async (error: unknown) => {
      if (wasRecorded(error)) throw error;
      const code = fromEngineError(error).code;
      if (kind) await ctx.services.recorder.record(ctx, kind, null, code, { ref: refOf(args) }).catch(() => undefined);
      else ctx.services.recorder.note(ctx, action, refOf(args), code);
      throw error;
    },
  );
}

/**
 * Every mutation and action subscription (an exec stream, a terminal) is recorded with token,
 * action, container and outcome (ok or the error code). Arguments such as passwords, file
 * content and commands are never recorded. The wrappers sit outside the authorization checks,
 * so refusals are recorded too.
 */
export function withActionRecords(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args, ctx: Context, info) => recorded(ctx, field.name, args, async () => resolve(source, args, ctx, info));
  }
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    const subscribe = field.subscribe;
    if (!subscribe || !isAction(field)) continue;
    field.subscribe = (source, args, ctx: Context, info) => recorded(ctx, field.name, args, async () => subscribe(source, args, ctx, info));
  }
  return schema;
}
