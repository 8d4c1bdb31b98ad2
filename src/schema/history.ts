import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import type { RecordShape } from '../core/history.js';
import { cursorOf, type PageArgs } from '../store/pages.js';

/** A Relay connection over history records, newest first: a cursor is its record's place in that order. */
export function historyConnection<T>(args: DefaultConnectionArguments, shape: RecordShape<T>, page: (page: PageArgs) => Promise<T[]>) {
  return resolveCursorConnection<Promise<T[]>>({ args, toCursor: (row) => cursorOf(shape.key(row)) }, page);
}

/** The newest records of one container, for its `limit` argument (20 unless asked, at most 500). */
export const newest = (limit: number | null | undefined): PageArgs => ({ limit: Math.max(0, Math.min(limit ?? 20, 500)), inverted: false });
