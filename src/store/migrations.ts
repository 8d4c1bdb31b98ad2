import type { Kysely } from 'kysely';

/**
 * The store's schema, version by version. Forward only: a released migration is never edited;
 * a change is a new one at the end. Each runs in its own transaction with its version bump.
 */
export const MIGRATIONS: ReadonlyArray<(db: Kysely<any>) => Promise<void>> = [
  // 1: executions and activity.
  async (db) => {
    await db.schema
      .createTable('executions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('container_id', 'text', (c) => c.notNull())
      .addColumn('container_name', 'text', (c) => c.notNull())
      .addColumn('container_labels', 'text')
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('exec_user', 'text')
      .addColumn('workdir', 'text')
      .addColumn('argv', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text', (c) => c.notNull())
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('exit_code', 'integer')
      .addColumn('success', 'integer', (c) => c.notNull())
      .addColumn('timed_out', 'integer', (c) => c.notNull())
      .addColumn('cancelled', 'integer', (c) => c.notNull())
      .addColumn('truncated', 'integer', (c) => c.notNull())
      .addColumn('stdout', 'text', (c) => c.notNull())
      .addColumn('stderr', 'text', (c) => c.notNull())
      .addColumn('output', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('executions_by_time').on('executions').columns(['started_at', 'id']).execute();
    await db.schema.createIndex('executions_by_container').on('executions').columns(['container_id', 'started_at', 'id']).execute();
    await db.schema.createIndex('executions_by_name').on('executions').columns(['container_name', 'started_at', 'id']).execute();
    await db.schema
      .createTable('activity')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('container_id', 'text')
      .addColumn('container_name', 'text')
      .addColumn('container_labels', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('activity_by_time').on('activity').columns(['at', 'id']).execute();
    await db.schema.createIndex('activity_by_container').on('activity').columns(['container_id', 'at', 'id']).execute();
  },
  // 2: terminal recordings, and their events in the order they happened.
  async (db) => {
    await db.schema
      .createTable('recordings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('container_id', 'text', (c) => c.notNull())
      .addColumn('container_name', 'text', (c) => c.notNull())
      .addColumn('container_labels', 'text')
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('exec_user', 'text')
      .addColumn('argv', 'text')
      .addColumn('cols', 'integer', (c) => c.notNull())
      .addColumn('rows', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('ended_at', 'text')
      .addColumn('exit_code', 'integer')
      .execute();
    await db.schema.createIndex('recordings_by_time').on('recordings').columns(['started_at', 'id']).execute();
    await db.schema.createIndex('recordings_by_container').on('recordings').columns(['container_id', 'started_at', 'id']).execute();
    await db.schema
      .createTable('recording_events')
      .addColumn('recording_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('offset_ms', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text')
      .addPrimaryKeyConstraint('recording_events_key', ['recording_id', 'seq'])
      .execute();
  },
  // 3: labs, their students and the students' tokens; saved lab templates.
  async (db) => {
    await db.schema
      .createTable('lab_templates')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('saved_at', 'text', (c) => c.notNull())
      .addColumn('saved_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('labs')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('lab_students')
      .addColumn('lab', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('added_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('lab_students_key', ['lab', 'id'])
      .execute();
    await db.schema
      .createTable('lab_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('lab', 'text', (c) => c.notNull())
      .addColumn('student', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema.createIndex('lab_tokens_by_student').on('lab_tokens').columns(['lab', 'student']).execute();
  },
];

export const LATEST_VERSION = MIGRATIONS.length;

/** The version a database is at: 0 when it has no podgraph tables yet. */
export async function versionOf(db: Kysely<any>): Promise<number> {
  await db.schema.createTable('podgraph_schema').ifNotExists().addColumn('version', 'integer', (c) => c.notNull()).execute();
  const row = await db.selectFrom('podgraph_schema').select('version').executeTakeFirst();
  return row ? Number(row.version) : 0;
}

/**
 * Brings the database to `target` (the latest by default), one migration per transaction.
 * A database from a newer podgraph is refused, never rewritten.
 */
export async function migrate(db: Kysely<any>, target = LATEST_VERSION): Promise<void> {
  const current = await versionOf(db);
  if (current > LATEST_VERSION) throw new NewerSchemaError(current);
  for (let version = current + 1; version <= target; version++) {
    await db.transaction().execute(async (tx) => {
      await MIGRATIONS[version - 1]!(tx);
      if (version === 1) await tx.insertInto('podgraph_schema').values({ version }).execute();
      else await tx.updateTable('podgraph_schema').set({ version }).execute();
    });
  }
}

export class NewerSchemaError extends Error {
  constructor(readonly version: number) {
    super(`it was written by a newer podgraph (schema version ${version}; this one knows up to ${LATEST_VERSION})`);
  }
}
