import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { LATEST_VERSION, migrate, NewerSchemaError } from './migrations.js';
import type { Tables } from './tables.js';

export interface StoreConfig {
  /** Where the embedded database lives (`podgraph.db` in it). */
  dataDir: string;
  /** A PostgreSQL URL; when set, the store is there instead. */
  databaseUrl?: string;
}

/** The start cannot go on with this database: one line naming it and what is wrong. */
export class StoreOpenError extends Error {}

/** How long a statement waits for another process's lock on the SQLite file before failing. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** How long a PostgreSQL connection attempt may take. */
const PG_CONNECT_TIMEOUT_MS = 5000;

/**
 * The history database: SQLite in DATA_DIR unless DATABASE_URL names a PostgreSQL server. One
 * Kysely instance over either, so every query is written once.
 */
export class HistoryDatabase {
  private kysely: Kysely<Tables> | undefined;
  /** Names the database in messages, without any password. */
  readonly where: string;
  readonly dialect: 'sqlite' | 'postgres';

  constructor(private readonly config: StoreConfig) {
    this.dialect = config.databaseUrl ? 'postgres' : 'sqlite';
    this.where = config.databaseUrl ? withoutPassword(config.databaseUrl) : path.join(config.dataDir, 'podgraph.db');
  }

  get db(): Kysely<Tables> {
    if (!this.kysely) throw new Error('The history database is not open');
    return this.kysely;
  }

  /**
   * Opens (creating the SQLite file when missing) and migrates, to the latest version unless
   * told otherwise; a database it cannot use stops the start.
   */
  async open(version = LATEST_VERSION): Promise<void> {
    try {
      this.kysely = this.config.databaseUrl ? openPostgres(this.config.databaseUrl) : openSqlite(this.where);
      await migrate(this.kysely, version);
    } catch (error) {
      await this.close().catch(() => undefined);
      throw new StoreOpenError(`Cannot use the database ${this.where}: ${openFailure(error)}`);
    }
  }

  /** Null while the database answers, else why it does not. */
  async problem(): Promise<string | null> {
    try {
      await sql`select 1`.execute(this.db);
      return null;
    } catch (error) {
      return openFailure(error);
    }
  }

  async close(): Promise<void> {
    const kysely = this.kysely;
    this.kysely = undefined;
    await kysely?.destroy();
  }
}

function openSqlite(file: string): Kysely<Tables> {
  mkdirSync(path.dirname(file), { recursive: true });
  const database = new SQLite(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  // WAL lets readers and the writer go on together; FULL syncs the log at every commit, so an
  // acknowledged write survives a crash of the machine, not only of the process.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  // Readers go on under another process's write lock in WAL mode: only taking the lock tells
  // whether this server could ever write.
  database.exec('begin immediate');
  database.exec('rollback');
  return new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });
}

function openPostgres(url: string): Kysely<Tables> {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS, max: 10 });
  // A connection that breaks (the server restarted, or went away mid-write: EPIPE) must not end
  // the process, idle or in use; the query that used it fails on its own.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
}

/** What went wrong, in words a start-up line can carry. */
function openFailure(error: unknown): string {
  if (error instanceof NewerSchemaError) return error.message;
  const { code, message } = error as { code?: string; message?: string };
  switch (code) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return 'the file is not a SQLite database, or it is damaged; it is left as it is';
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return 'it is locked by another process';
    case 'SQLITE_CANTOPEN':
      return 'the file cannot be opened (check DATA_DIR and its permissions)';
    case 'SQLITE_READONLY':
      return 'the file is read-only';
    case 'SQLITE_FULL':
      return 'the disk is full';
    case 'ECONNREFUSED':
      return 'nothing listens there';
    default:
      return message ?? String(error);
  }
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL';
  }
}
