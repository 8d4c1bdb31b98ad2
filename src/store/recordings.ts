import type { HistoryDatabase } from './database.js';
import { labelsColumn, labelsOfColumn, type Actor, type ContainerMark } from './executions.js';
import { paged, type PageArgs } from './pages.js';
import type { RecordingEventRow, RecordingRow } from './tables.js';

/** A terminal session as recorded: who opened it where, its size, when it started and ended. */
export interface Recording {
  id: string;
  container: ContainerMark;
  actor: Actor;
  user: string | null;
  /** Null for the user's login shell. */
  command: string[] | null;
  cols: number;
  rows: number;
  startedAt: Date;
  endedAt: Date | null;
  exitCode: number | null;
}

export type RecordingEventKind = 'o' | 'i' | 'r';

export interface RecordingEvent {
  seq: number;
  offsetMs: number;
  kind: RecordingEventKind;
  data: string;
  /** Who typed it, for input. */
  tokenId: string | null;
}

export interface RecordingFilter {
  container?: string;
  caller?: string;
  since?: Date;
  until?: Date;
}

/** Terminal recordings in the history database. */
export class RecordingStore {
  constructor(private readonly database: HistoryDatabase) {}

  async begin(recording: Recording): Promise<void> {
    await this.database.db.insertInto('recordings').values(toRow(recording)).execute();
  }

  /** Appends events, all or none. */
  async append(recordingId: string, events: RecordingEvent[]): Promise<void> {
    if (!events.length) return;
    const rows = events.map((e) => ({ recording_id: recordingId, seq: e.seq, offset_ms: e.offsetMs, kind: e.kind, data: e.data, token_id: e.tokenId }));
    await this.database.db.transaction().execute(async (tx) => {
      // SQLite takes at most 32,766 bound values per statement: 6 a row.
      for (let i = 0; i < rows.length; i += 1000) await tx.insertInto('recording_events').values(rows.slice(i, i + 1000)).execute();
    });
  }

  async end(id: string, endedAt: Date, exitCode: number | null): Promise<void> {
    await this.database.db.updateTable('recordings').set({ ended_at: endedAt.toISOString(), exit_code: exitCode }).where('id', '=', id).execute();
  }

  async get(id: string): Promise<Recording | undefined> {
    const row = await this.database.db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  async events(id: string): Promise<RecordingEvent[]> {
    const rows = await this.database.db.selectFrom('recording_events').selectAll().where('recording_id', '=', id).orderBy('seq').execute();
    return rows.map(fromEventRow);
  }

  async page(filter: RecordingFilter, page: PageArgs): Promise<Recording[]> {
    let query = this.database.db.selectFrom('recordings').selectAll();
    if (filter.container !== undefined) {
      const ref = filter.container;
      query = query.where((eb) => eb.or([eb('container_name', '=', ref), eb('container_id', '=', ref)]));
    }
    if (filter.caller !== undefined) query = query.where('token_id', '=', filter.caller);
    if (filter.since) query = query.where('started_at', '>=', filter.since.toISOString());
    if (filter.until) query = query.where('started_at', '<', filter.until.toISOString());
    return (await paged(query, 'started_at', page).execute()).map(fromRow);
  }

  /** Drops recordings that started before `cutoff`, with their events; how many went. */
  async prune(cutoff: Date): Promise<number> {
    return this.database.db.transaction().execute(async (tx) => {
      const old = tx.selectFrom('recordings').select('id').where('started_at', '<', cutoff.toISOString());
      await tx.deleteFrom('recording_events').where('recording_id', 'in', old).execute();
      const result = await tx.deleteFrom('recordings').where('started_at', '<', cutoff.toISOString()).executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}

function toRow(r: Recording): RecordingRow {
  return {
    id: r.id,
    container_id: r.container.id,
    container_name: r.container.name,
    container_labels: labelsColumn(r.container.labels),
    token_id: r.actor.tokenId,
    role: r.actor.role,
    exec_user: r.user,
    argv: r.command && JSON.stringify(r.command),
    cols: r.cols,
    rows: r.rows,
    started_at: r.startedAt.toISOString(),
    ended_at: r.endedAt?.toISOString() ?? null,
    exit_code: r.exitCode,
  };
}

function fromRow(row: RecordingRow): Recording {
  return {
    id: row.id,
    container: { id: row.container_id, name: row.container_name, labels: labelsOfColumn(row.container_labels) },
    actor: { tokenId: row.token_id, role: row.role },
    user: row.exec_user,
    command: row.argv === null ? null : (JSON.parse(row.argv) as string[]),
    cols: Number(row.cols),
    rows: Number(row.rows),
    startedAt: new Date(row.started_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
  };
}

const fromEventRow = (row: RecordingEventRow): RecordingEvent => ({
  seq: Number(row.seq),
  offsetMs: Number(row.offset_ms),
  kind: row.kind as RecordingEventKind,
  data: row.data,
  tokenId: row.token_id,
});
