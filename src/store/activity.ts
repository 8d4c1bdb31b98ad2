import type { Kysely } from 'kysely';
import type { HistoryDatabase } from './database.js';
import { labelsColumn, labelsOfColumn, type Actor, type ContainerMark } from './executions.js';
import { paged, type PageArgs } from './pages.js';
import type { ActivityRow, Tables } from './tables.js';

/** One thing someone did (or tried to do) through podgraph. */
export interface Activity {
  id: string;
  at: Date;
  kind: string;
  actor: Actor;
  container: ContainerMark | null;
  /** `ok`, or the error code the action ended with. */
  outcome: string;
  /** What the action was about: an execution id, a path, a user name… never a secret. */
  detail: Record<string, unknown>;
}

export interface ActivityFilter {
  /** Container names or IDs, any of which matches. */
  containers?: string[];
  kinds?: string[];
  caller?: string;
  since?: Date;
  until?: Date;
}

export class ActivityStore {
  constructor(private readonly database: HistoryDatabase) {}

  /** Adds a row, within `db` when it is a transaction. */
  async add(activity: Activity, db: Kysely<Tables> = this.database.db): Promise<void> {
    await db.insertInto('activity').values(toRow(activity)).execute();
  }

  async page(filter: ActivityFilter, page: PageArgs): Promise<Activity[]> {
    let query = this.database.db.selectFrom('activity').selectAll();
    const containers = filter.containers;
    if (containers?.length) query = query.where((eb) => eb.or([eb('container_name', 'in', containers), eb('container_id', 'in', containers)]));
    if (filter.kinds?.length) query = query.where('kind', 'in', filter.kinds);
    if (filter.caller !== undefined) query = query.where('token_id', '=', filter.caller);
    if (filter.since) query = query.where('at', '>=', filter.since.toISOString());
    if (filter.until) query = query.where('at', '<', filter.until.toISOString());
    return (await paged(query, 'at', page).execute()).map(fromRow);
  }

  async prune(cutoff: Date): Promise<number> {
    const result = await this.database.db.deleteFrom('activity').where('at', '<', cutoff.toISOString()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toRow(a: Activity): ActivityRow {
  return {
    id: a.id,
    at: a.at.toISOString(),
    kind: a.kind,
    token_id: a.actor.tokenId,
    role: a.actor.role,
    container_id: a.container?.id ?? null,
    container_name: a.container?.name ?? null,
    container_labels: labelsColumn(a.container?.labels ?? null),
    outcome: a.outcome,
    detail: JSON.stringify(a.detail),
  };
}

function fromRow(row: ActivityRow): Activity {
  return {
    id: row.id,
    at: new Date(row.at),
    kind: row.kind,
    actor: { tokenId: row.token_id, role: row.role },
    container:
      row.container_id === null
        ? null
        : { id: row.container_id, name: row.container_name ?? '', labels: labelsOfColumn(row.container_labels) },
    outcome: row.outcome,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  };
}
