import { sql, type SelectQueryBuilder } from 'kysely';
import { badInput } from '../errors.js';

/** One page of a newest-first list, as Relay's `first/after/last/before` ask for it. */
export interface PageArgs {
  /** Rows older than this cursor. */
  after?: string;
  /** Rows newer than this cursor. */
  before?: string;
  limit: number;
  /** Oldest first (for `last`): the caller reverses the page. */
  inverted: boolean;
}

/** A row's place in a list ordered by time, then id for rows of the same millisecond. */
export interface PageKey {
  at: string;
  id: string;
}

export const cursorOf = (key: PageKey): string => Buffer.from(JSON.stringify([key.at, key.id])).toString('base64url');

function keyOf(cursor: string): PageKey {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && typeof id === 'string') return { at, id };
  } catch {
    // Reported below, like any other cursor that is not one of ours.
  }
  throw badInput(`Invalid cursor: ${cursor.slice(0, 64)}`);
}

/**
 * Restricts and orders a query to one page, by keyset (`timeColumn`, `id`): a page costs the
 * same however deep it is, and rows added meanwhile do not shift it.
 */
export function paged<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  timeColumn: string,
  page: PageArgs,
): SelectQueryBuilder<DB, TB, O> {
  const row = sql`(${sql.ref(timeColumn)}, ${sql.ref('id')})`;
  let restricted = query;
  if (page.after) {
    const key = keyOf(page.after);
    restricted = restricted.where(sql<boolean>`${row} < (${key.at}, ${key.id})`);
  }
  if (page.before) {
    const key = keyOf(page.before);
    restricted = restricted.where(sql<boolean>`${row} > (${key.at}, ${key.id})`);
  }
  const direction = page.inverted ? 'asc' : 'desc';
  return restricted.orderBy(sql.ref(timeColumn), direction).orderBy(sql.ref('id'), direction).limit(page.limit);
}
