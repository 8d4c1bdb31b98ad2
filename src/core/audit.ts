import type { Logger } from 'pino';
import type { Principal } from '../auth/tokens.js';

/** Who acted, as the audit line names them. */
export interface AuditCaller {
  logger: Logger;
  principal: Principal;
}

export type AuditArgs = Record<string, unknown>;

/** Which container (or terminal, execution…) an action is about; every other argument stays out of the log. */
function subjectOf(args: AuditArgs): { container?: unknown; id?: unknown } {
  const input = args.input as AuditArgs | undefined;
  return { container: args.container ?? input?.name, id: args.id };
}

/** What a terminal session did, written once when it ends rather than a line per keystroke. */
export interface TerminalSessionRecord {
  terminal: string;
  container: string;
  openedBy: string;
  /** Bytes typed, by token id: several people may type into one terminal. */
  typedBytes: Record<string, number>;
  exitCode: number | null;
  durationMs: number;
}

export function auditTerminalSession(logger: Logger, record: TerminalSessionRecord): void {
  logger.info({ audit: true, action: 'terminalSession', ...record }, `audit terminalSession ${record.terminal} ended`);
}

/** Writes one audit line; GraphQL and REST both write through here. */
export function audit(caller: AuditCaller, action: string, args: AuditArgs, outcome: string): void {
  caller.logger.info(
    { audit: true, tokenId: caller.principal.tokenId, role: caller.principal.role, action, ...subjectOf(args), outcome },
    `audit ${action} ${outcome}`,
  );
}
