import { sql, type Kysely } from 'kysely';
import type { HistoryDatabase } from './database.js';
import { paged, type PageArgs } from './pages.js';
import type { ExecutionRow, Tables } from './tables.js';

/** Who started something, as the history keeps them. */
export interface Actor {
  tokenId: string;
  role: string;
}

/** A container as the history names it: labels kept so a token's scope can be checked after it is gone. */
export interface ContainerMark {
  id: string;
  name: string;
  labels: Record<string, string> | null;
}

/** One finished command in a container: one-shot, streamed or a terminal's check. */
export interface Execution {
  id: string;
  containerId: string;
  containerName: string;
  containerLabels: Record<string, string> | null;
  actor: Actor;
  command: string[];
  user: string | null;
  workdir: string | null;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  output: string;
  success: boolean;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  timedOut: boolean;
  /** Killed before it finished because its client went away (or the server shut down). */
  cancelled: boolean;
  truncated: boolean;
}

export interface ExecutionFilter {
  /** A container's exact name or full ID, or an ID prefix. */
  container?: string;
  /** A token id. */
  caller?: string;
  user?: string;
  success?: boolean;
  since?: Date;
  until?: Date;
}

/** Executions in the history database, newest first. */
export class ExecutionStore {
  constructor(private readonly database: HistoryDatabase) {}

  /** Adds a row, within `db` when it is a transaction. */
  async add(execution: Execution, db: Kysely<Tables> = this.database.db): Promise<void> {
    await db.insertInto('executions').values(toRow(execution)).execute();
  }

  async get(id: string): Promise<Execution | undefined> {
    const row = await this.database.db.selectFrom('executions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  async page(filter: ExecutionFilter, page: PageArgs): Promise<Execution[]> {
    let query = this.database.db.selectFrom('executions').selectAll();
    if (filter.container !== undefined) {
      const ref = filter.container;
      query = query.where((eb) =>
        eb.or([eb('container_name', '=', ref), ...(ID_PREFIX.test(ref) ? [eb('container_id', 'like', `${ref}%`)] : [])]),
      );
    }
    if (filter.caller !== undefined) query = query.where('token_id', '=', filter.caller);
    if (filter.user !== undefined) query = query.where('exec_user', '=', filter.user);
    if (filter.success !== undefined) query = query.where('success', '=', filter.success ? 1 : 0);
    if (filter.since) query = query.where('started_at', '>=', filter.since.toISOString());
    if (filter.until) query = query.where('started_at', '<', filter.until.toISOString());
    return (await paged(query, 'started_at', page).execute()).map(fromRow);
  }

  /** Drops all but the newest `count` executions; how many went. */
  async keepNewest(count: number): Promise<number> {
    const oldestKept = await this.database.db.selectFrom('executions').select(['started_at', 'id']).orderBy('started_at', 'desc').orderBy('id', 'desc').offset(count - 1).limit(1).executeTakeFirst();
    if (!oldestKept) return 0;
    const result = await this.database.db
      .deleteFrom('executions')
      .where(sql<boolean>`(started_at, id) < (${oldestKept.started_at}, ${oldestKept.id})`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Drops executions that started before `cutoff`; how many went. */
  async prune(cutoff: Date): Promise<number> {
    const result = await this.database.db.deleteFrom('executions').where('started_at', '<', cutoff.toISOString()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** Labels as a JSON column, and back: null where they were not known. */
export const labelsColumn = (labels: Record<string, string> | null): string | null => labels && JSON.stringify(labels);
export const labelsOfColumn = (column: string | null): Record<string, string> | null => (column === null ? null : (JSON.parse(column) as Record<string, string>));

/** A full container ID or a prefix of one that engines accept (12 or more hex digits). */
const ID_PREFIX = /^[0-9a-f]{12,64}$/;

const flag = (value: boolean) => (value ? 1 : 0);

function toRow(e: Execution): ExecutionRow {
  return {
    id: e.id,
    container_id: e.containerId,
    container_name: e.containerName,
    container_labels: labelsColumn(e.containerLabels),
    token_id: e.actor.tokenId,
    role: e.actor.role,
    exec_user: e.user,
    workdir: e.workdir,
    argv: JSON.stringify(e.command),
    started_at: e.startedAt.toISOString(),
    finished_at: e.finishedAt.toISOString(),
    duration_ms: e.durationMs,
    exit_code: e.exitCode,
    success: flag(e.success),
    timed_out: flag(e.timedOut),
    cancelled: flag(e.cancelled),
    truncated: flag(e.truncated),
    stdout: e.stdout,
    stderr: e.stderr,
    output: e.output,
  };
}

function fromRow(row: ExecutionRow): Execution {
  return {
    id: row.id,
    containerId: row.container_id,
    containerName: row.container_name,
    containerLabels: labelsOfColumn(row.container_labels),
    actor: { tokenId: row.token_id, role: row.role },
    command: JSON.parse(row.argv) as string[],
    user: row.exec_user,
    workdir: row.workdir,
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    stdout: row.stdout,
    stderr: row.stderr,
    output: row.output,
    success: Boolean(row.success),
    startedAt: new Date(row.started_at),
    finishedAt: new Date(row.finished_at),
    durationMs: Number(row.duration_ms),
    timedOut: Boolean(row.timed_out),
    cancelled: Boolean(row.cancelled),
    truncated: Boolean(row.truncated),
  };
}
