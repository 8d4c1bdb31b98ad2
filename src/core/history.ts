import { AppError } from '../errors.js';
import type { ContainerMark } from '../store/executions.js';
import { cursorOf, type PageArgs, type PageKey } from '../store/pages.js';
import type { Caller } from './caller.js';

/** Whether a caller may see a record: a scoped caller only its containers', judged by the labels kept with it. */
export function visibleIn(caller: Caller, container: ContainerMark | null): boolean {
  if (!caller.scoped) return true;
  return container !== null && container.labels !== null && caller.inScope({ name: container.name, labels: container.labels });
}

/** Reads the history, answering STORE_UNAVAILABLE when the database cannot. */
export async function readable<T>(read: () => Promise<T>): Promise<T> {
  return read().catch((error: unknown) => {
    throw error instanceof AppError ? error : new AppError('STORE_UNAVAILABLE', 'The history store cannot be read right now');
  });
}

/** How a kind of record names its container and its place in a newest-first list. */
export interface RecordShape<T> {
  container: (row: T) => ContainerMark | null;
  key: (row: T) => PageKey;
}

/**
 * A page of what a caller may see, from a store that cannot judge a scope itself: rows it may
 * not see are skipped and the next rows fetched, until the page is full or the rows run out.
 */
export function visiblePage<T>(caller: Caller, page: PageArgs, shape: RecordShape<T>, fetch: (page: PageArgs) => Promise<T[]>): Promise<T[]> {
  return readable(async () => {
    const found: T[] = [];
    let next = page;
    for (;;) {
      const rows = await fetch(next);
      found.push(...rows.filter((row) => visibleIn(caller, shape.container(row))));
      if (found.length >= page.limit || rows.length < next.limit) return found.slice(0, page.limit);
      const last = cursorOf(shape.key(rows[rows.length - 1]!));
      next = page.inverted ? { ...next, before: last } : { ...next, after: last };
    }
  });
}
