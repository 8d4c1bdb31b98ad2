import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ActivityStore } from '../src/store/activity.js';
import { HistoryDatabase, StoreOpenError } from '../src/store/database.js';
import { ExecutionStore, type Execution } from '../src/store/executions.js';
import { LATEST_VERSION, MIGRATIONS, versionOf } from '../src/store/migrations.js';
import { cursorOf } from '../src/store/pages.js';
import { RecordingStore } from '../src/store/recordings.js';
import { HistoryRetention } from '../src/store/retention.js';
import { asAdmin, freshDataDir, freshPostgresUrl } from './store-kit.js';

const STORES = [
  { label: 'SQLite', config: async () => ({ dataDir: freshDataDir() }) },
  { label: 'PostgreSQL', config: async () => ({ dataDir: freshDataDir(), databaseUrl: await freshPostgresUrl() }) },
];

function execution(n: number, overrides: Partial<Execution> = {}): Execution {
  const startedAt = new Date(Date.UTC(2026, 0, 1, 0, 0, n));
  return {
    id: `exec-${String(n).padStart(4, '0')}`,
    containerId: 'a'.repeat(64),
    containerName: 'c1',
    containerLabels: { lab: 'x' },
    actor: { tokenId: 'operator', role: 'operator' },
    command: ['sh', '-c', `echo ${n}`],
    user: null,
    workdir: null,
    exitCode: n % 3 === 0 ? 1 : 0,
    stdout: `${n}\n`,
    stderr: '',
    output: `${n}\n`,
    success: n % 3 !== 0,
    startedAt,
    finishedAt: new Date(startedAt.getTime() + 5),
    durationMs: 5,
    timedOut: false,
    cancelled: false,
    truncated: false,
    ...overrides,
  };
}

describe.each(STORES)('history store on $label', ({ config }) => {
  async function open() {
    const database = new HistoryDatabase(await config());
    await database.open();
    return database;
  }

  it('creates its schema on an empty database, at the latest version, and opens it again as it is', async () => {
    const settings = await config();
    const first = new HistoryDatabase(settings);
    await first.open();
    expect(await versionOf(first.db)).toBe(LATEST_VERSION);
    await new ExecutionStore(first).add(execution(1));
    await first.close();
    const again = new HistoryDatabase(settings);
    await again.open();
    expect((await new ExecutionStore(again).get('exec-0001'))?.stdout).toBe('1\n');
    await again.close();
  });

  it('migrates from every earlier version, keeping what each held', async () => {
    for (let from = 0; from < LATEST_VERSION; from++) {
      const settings = await config();
      const old = new HistoryDatabase(settings);
      await old.open(from);
      expect(await versionOf(old.db)).toBe(from);
      // Version 1 is the first with executions.
      if (from >= 1) await new ExecutionStore(old).add(execution(from));
      await old.close();
      const current = new HistoryDatabase(settings);
      await current.open();
      expect(await versionOf(current.db)).toBe(LATEST_VERSION);
      if (from >= 1) expect(await new ExecutionStore(current).get(execution(from).id)).toEqual(execution(from));
      await current.close();
    }
    expect(MIGRATIONS).toHaveLength(LATEST_VERSION);
  });

  it('refuses a database from a newer podgraph, and leaves it as it is', async () => {
    const settings = await config();
    const database = new HistoryDatabase(settings);
    await database.open();
    await sql`update podgraph_schema set version = ${LATEST_VERSION + 1}`.execute(database.db);
    await database.close();
    const newer = new HistoryDatabase(settings);
    const failure = await newer.open().then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreOpenError);
    expect((failure as Error).message).toMatch(new RegExp(`^Cannot use the database .+: it was written by a newer podgraph \\(schema version ${LATEST_VERSION + 1}`));
    // Refused again: nothing was rewritten.
    await expect(new HistoryDatabase(settings).open()).rejects.toThrow(StoreOpenError);
  });

  it('pages newest first by keyset, with filters, whatever is added meanwhile', async () => {
    const database = await open();
    const store = new ExecutionStore(database);
    for (let n = 1; n <= 30; n++) await store.add(execution(n, n > 20 ? { containerName: 'c2', containerId: 'b'.repeat(64) } : {}));
    const first = await store.page({}, { limit: 10, inverted: false });
    expect(first.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => `exec-${String(30 - i).padStart(4, '0')}`));
    await store.add(execution(31));
    const after = cursorOf({ at: first[9]!.startedAt.toISOString(), id: first[9]!.id });
    const second = await store.page({}, { after, limit: 10, inverted: false });
    expect(second[0]!.id).toBe('exec-0020');
    const oldestFirst = await store.page({}, { before: after, limit: 3, inverted: true });
    expect(oldestFirst.map((e) => e.id)).toEqual(['exec-0022', 'exec-0023', 'exec-0024']);
    expect((await store.page({ container: 'c2' }, { limit: 100, inverted: false })).length).toBe(10);
    expect((await store.page({ container: 'bbbbbbbbbbbb' }, { limit: 100, inverted: false })).length).toBe(10);
    expect((await store.page({ container: 'c', success: false }, { limit: 100, inverted: false })).length).toBe(0);
    expect((await store.page({ success: false }, { limit: 100, inverted: false })).every((e) => e.exitCode === 1)).toBe(true);
    const window = await store.page({ since: new Date(Date.UTC(2026, 0, 1, 0, 0, 5)), until: new Date(Date.UTC(2026, 0, 1, 0, 0, 8)) }, { limit: 100, inverted: false });
    expect(window.map((e) => e.id)).toEqual(['exec-0007', 'exec-0006', 'exec-0005']);
    const [stored] = await store.page({ caller: 'operator' }, { limit: 1, inverted: false });
    expect(stored).toEqual(execution(31));
    await expect(store.page({}, { after: 'not-a-cursor', limit: 1, inverted: false })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await database.close();
  });

  it('prunes history past its retention and executions past the newest N', async () => {
    const database = await open();
    const executions = new ExecutionStore(database);
    const activity = new ActivityStore(database);
    for (let n = 1; n <= 12; n++) await executions.add(execution(n));
    await activity.add({ id: 'old', at: new Date(Date.UTC(2025, 0, 1)), kind: 'FILE_WRITE', actor: { tokenId: 't', role: 'admin' }, container: null, outcome: 'ok', detail: {} });
    await activity.add({ id: 'new', at: new Date(Date.UTC(2026, 0, 1)), kind: 'FILE_WRITE', actor: { tokenId: 't', role: 'admin' }, container: null, outcome: 'ok', detail: {} });
    const retention = new HistoryRetention(executions, activity, new RecordingStore(database), { retentionMs: 30 * 24 * 3600 * 1000, maxExecutions: 5 }, pino({ level: 'silent' }));
    // As of 2026-01-01 00:00:10: executions 1–9 started within 30 days, 10–12 in the future.
    await retention.prune(new Date(Date.UTC(2026, 0, 20)));
    expect((await executions.page({}, { limit: 100, inverted: false })).map((e) => e.id)).toEqual(['exec-0012', 'exec-0011', 'exec-0010', 'exec-0009', 'exec-0008']);
    expect((await activity.page({}, { limit: 100, inverted: false })).map((a) => a.id)).toEqual(['new']);
    await database.close();
  });
});

describe('an embedded database that cannot be used stops the start, with one line naming the file and the problem', () => {
  it('refuses a file that is not a SQLite database, and leaves it as it is', async () => {
    const dataDir = freshDataDir();
    const file = path.join(dataDir, 'podgraph.db');
    writeFileSync(file, 'this is not a database, but somebody may want it back\n'.repeat(100));
    const failure = await new HistoryDatabase({ dataDir }).open().then(() => null, (error: unknown) => error);
    expect(String((failure as Error).message)).toBe(`Cannot use the database ${file}: the file is not a SQLite database, or it is damaged; it is left as it is`);
    expect(readFileSync(file, 'utf8')).toMatch(/^this is not a database/);
  });

  it('refuses a file another process holds locked', async () => {
    const dataDir = freshDataDir();
    const first = new HistoryDatabase({ dataDir });
    await first.open();
    await first.close();
    const holder = new SQLite(path.join(dataDir, 'podgraph.db'));
    holder.exec('begin exclusive');
    try {
      const failure = await new HistoryDatabase({ dataDir }).open().then(() => null, (error: unknown) => error);
      expect((failure as Error).message).toBe(`Cannot use the database ${path.join(dataDir, 'podgraph.db')}: it is locked by another process`);
    } finally {
      holder.exec('rollback');
      holder.close();
    }
  }, 30_000);
});

describe('a PostgreSQL server that cannot be reached stops the start', () => {
  it('names the server, without its password, and the problem', async () => {
    const failure = await new HistoryDatabase({ dataDir: freshDataDir(), databaseUrl: 'postgres://podgraph:secret@127.0.0.1:1/none' })
      .open()
      .then(() => null, (error: unknown) => error);
    expect((failure as Error).message).toBe('Cannot use the database postgres://podgraph:***@127.0.0.1:1/none: nothing listens there');
  });

  it('names a database that does not exist', async () => {
    const url = new URL(process.env.PODGRAPH_TEST_DATABASE_URL!);
    url.pathname = '/no_such_database';
    await asAdmin('select 1');
    const failure = await new HistoryDatabase({ dataDir: freshDataDir(), databaseUrl: url.toString() }).open().then(() => null, (error: unknown) => error);
    expect((failure as Error).message).toMatch(/: database "no_such_database" does not exist$/);
  });
});
