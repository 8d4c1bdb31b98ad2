import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { cleanUpLater } from './kit.js';

/** The project's own PostgreSQL server (scripts/postgres.sh); npm test starts it and sets this. */
const ADMIN_URL = process.env.PODGRAPH_TEST_DATABASE_URL;

/** Runs SQL on the test server's admin database. */
export async function asAdmin<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  expect(ADMIN_URL, 'PODGRAPH_TEST_DATABASE_URL is unset; npm test starts PostgreSQL (scripts/postgres.sh) and sets it').toBeTruthy();
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** A database URL on the test server, for a database of its own dropped after the test (or the file). */
export async function freshPostgresUrl(): Promise<string> {
  const name = `pgt_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await asAdmin(`create database ${name}`);
  cleanUpLater(() => asAdmin(`drop database if exists ${name} with (force)`));
  const url = new URL(ADMIN_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A data directory of its own for an embedded database, removed after the test (or the file). */
export function freshDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'podgraph-store-'));
  cleanUpLater(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Both databases the history runs on, each as the server settings that select it. */
export const DATABASES = [
  { label: 'SQLite', settings: async (): Promise<Record<string, string>> => ({ DATA_DIR: freshDataDir() }) },
  { label: 'PostgreSQL', settings: async (): Promise<Record<string, string>> => ({ DATABASE_URL: await freshPostgresUrl() }) },
] as const;
