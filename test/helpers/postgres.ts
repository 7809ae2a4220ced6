import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';

/** Where the tests look for PostgreSQL: TEST_DATABASE_URL, else the machine's local server. */
const BASE_URL = process.env['TEST_DATABASE_URL'] ?? `postgres://${os.userInfo().username}@127.0.0.1:5432/test`;

let available: Promise<string | undefined> | undefined;
const schemas: string[] = [];

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The URL of a reachable PostgreSQL server, starting the machine's cluster when it is installed
 * and stopped; undefined (with the reason printed once) when there is none, so tests can skip.
 */
export function postgresUrl(): Promise<string | undefined> {
  available ??= (async () => {
    if (await reachable(BASE_URL)) return BASE_URL;
    try {
      const version = readdirSync('/etc/postgresql')[0];
      if (version) execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // Not installed, or not ours to start: reported below.
    }
    if (await reachable(BASE_URL)) return BASE_URL;
    console.log(`# PostgreSQL tests skipped: no server answers at ${BASE_URL} and none could be started (set TEST_DATABASE_URL)`);
    return undefined;
  })();
  return available;
}

/**
 * A fresh, empty schema on the test server, as a URL whose connections use it: every store a test
 * creates starts from nothing, and `dropSchemas` removes them all afterwards.
 */
export async function freshSchemaUrl(base: string): Promise<string> {
  const name = `facefile_test_${process.pid}_${schemas.length}_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`create schema ${name}`);
  } finally {
    await client.end();
  }
  schemas.push(name);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${name}`);
  return url.toString();
}

export async function dropSchemas(): Promise<void> {
  const base = await available;
  if (!base || schemas.length === 0) return;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    for (const name of schemas.splice(0)) await client.query(`drop schema if exists ${name} cascade`);
  } finally {
    await client.end();
  }
}
