import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { StorageError, describeError, silentLog, withoutPassword, type Log } from '../../core/index.ts';
import { startCheckpointer } from './checkpointer.ts';
import { migrationProvider, type SqlDialectName } from './migrations.ts';
import type { LibrarySchema } from './schema.ts';

/** The embedded library database's file in the data folder. */
export const LIBRARY_DB_FILE = 'library.sqlite';

export interface LibraryDatabase {
  readonly db: Kysely<LibrarySchema>;
  readonly dialect: SqlDialectName;
  /** Where it is, for the start-up line: a file path, or the URL without its password. */
  readonly location: string;
  /**
   * After a forget: on SQLite the deleted rows' bytes are gone from the files when it returns (the
   * write-ahead log checkpointed over pages secure_delete zeroed). On PostgreSQL it starts a VACUUM
   * and returns: VACUUM only marks the space reusable, which changes nothing a query or a later
   * backup could see (the commit did that), so a command's reply does not wait for it; `close`
   * does, and a failure goes to the log given at opening (autovacuum reclaims the space later).
   */
  compact(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseLocation {
  readonly dataDir: string;
  /** A PostgreSQL URL (`postgres://...`); the embedded SQLite file in `dataDir` when absent. */
  readonly url?: string | undefined;
}

/**
 * Opens the library's database and brings its schema up to date. SQLite runs in WAL mode with
 * full sync (an acknowledged photo survives a power cut), foreign keys on, and secure_delete so
 * that a forgotten person's embeddings are overwritten, not merely unlinked; a second process
 * waits for the write lock rather than failing at once.
 */
export async function openLibraryDatabase(location: DatabaseLocation, options: { readonly upTo?: string; readonly log?: Log } = {}): Promise<LibraryDatabase> {
  const opened = location.url
    ? openPostgres(location.url, options.log ?? silentLog)
    : openSqlite(path.join(location.dataDir, LIBRARY_DB_FILE), options.log ?? silentLog);
  try {
    await migrate(opened.db, opened.dialect, options.upTo);
  } catch (cause) {
    await opened.close().catch(() => undefined);
    throw cause;
  }
  return opened;
}

function openSqlite(file: string, log: Log): LibraryDatabase {
  mkdirSync(path.dirname(file), { recursive: true });
  let native: BetterSqlite3.Database;
  try {
    native = new BetterSqlite3(file, { timeout: 10_000 });
    native.pragma('journal_mode = WAL');
    native.pragma('synchronous = FULL');
    native.pragma('foreign_keys = ON');
    native.pragma('secure_delete = ON');
    native.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    // Checkpoints run in the background (`startCheckpointer`); inline only past a large log.
    native.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
    // The log's file is kept at up to this size once checkpointed: a large write reuses its pages
    // instead of growing a new file (at 100k photos an enrolment's commit 0.16 s against 0.10 s).
    native.pragma(`journal_size_limit = ${KEPT_LOG_BYTES}`);
  } catch (cause) {
    throw new StorageError(`the library database ${file} could not be opened`, 'open', { cause });
  }
  const checkpointer = startCheckpointer(file, log, () => {
    if (native.open) native.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_CHECKPOINT_PAGES}`);
  });
  const db = new Kysely<LibrarySchema>({ dialect: new SqliteDialect({ database: keepingStatements(native) }) });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    compact: async () => {
      // secure_delete zeroed the rows in the pages; the WAL may still hold older copies of them.
      // The checkpoint answers "busy" rather than failing while another connection checkpoints
      // (the background one) or reads an older snapshot (a backup): tried again until it is done,
      // or the caller fails, and a forget is finished at the next start.
      const deadline = Date.now() + COMPACT_WITHIN_MS;
      for (;;) {
        const { rows } = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
        if (rows[0]?.busy === 0) return;
        if (Date.now() > deadline) throw new StorageError(`the library database ${file} could not be compacted: another connection kept it busy`, 'compact');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: async () => {
      // Its connection first: the last one to close checkpoints the log and deletes it.
      await checkpointer.stop();
      await db.destroy();
    },
  };
}

/** How long `compact` tries again while the log is busy (each try waits up to the 10 s busy timeout). */
const COMPACT_WITHIN_MS = 30_000;
/** SQLite's own: a commit that takes the log past this many pages checkpoints it. */
const SQLITE_DEFAULT_CHECKPOINT_PAGES = 1000;
/** With the checkpointer running: inline only past this (512 MB of 4 KiB pages, should it fall behind). */
const INLINE_CHECKPOINT_PAGES = 128 * 1024;
const KEPT_LOG_BYTES = 256 * 1024 * 1024;

/**
 * SQLite's page cache for the library, at most (it grows only as pages are read): room for the
 * pages of a large write. With SQLite's default 2 MB, a forget at 100k photos (its erasures dirty
 * ~100 MB of pages) spent more time evicting and reading pages back than updating rows (0.8 s of
 * statements against 0.3 s with room).
 */
const PAGE_CACHE_KIB = 128 * 1024;

/** How many prepared statements are kept: every query the library makes, with room to spare. */
const STATEMENTS_KEPT = 256;

/**
 * better-sqlite3 with its prepared statements kept by SQL text, most recently used last. Kysely's
 * SQLite driver prepares every query anew; on a forget of 1,000 photos that was a fifth of the time.
 * A statement is only ever run to completion (the library streams no query), so reuse is safe.
 */
function keepingStatements(native: BetterSqlite3.Database): SqliteDatabase {
  const kept = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => native.close(),
    prepare: (text) => {
      const statement = kept.get(text) ?? native.prepare(text);
      kept.delete(text);
      kept.set(text, statement);
      if (kept.size > STATEMENTS_KEPT) kept.delete(kept.keys().next().value!);
      return statement;
    },
  };
}

function openPostgres(url: string, log: Log): LibraryDatabase {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const db = new Kysely<LibrarySchema>({ dialect: new PostgresDialect({ pool }) });
  // One VACUUM at a time; a forget while one runs asks for one more after it.
  let vacuuming: Promise<void> | undefined;
  let asked = 0;
  const vacuum = async () => {
    try {
      for (let done = 0; done < asked;) {
        done = asked;
        // Dead rows stay in the table files until VACUUM marks their space reusable.
        await sql`VACUUM faces`.execute(db);
        await sql`VACUUM samples`.execute(db);
      }
    } catch (error) {
      log.warn({ err: error }, 'VACUUM after a forget failed: autovacuum reclaims the space later');
    } finally {
      vacuuming = undefined;
    }
  };
  return {
    db,
    dialect: 'postgres',
    location: withoutPassword(url),
    compact: () => {
      asked++;
      vacuuming ??= vacuum();
      return Promise.resolve();
    },
    close: async () => {
      await vacuuming;
      await db.destroy();
    },
  };
}

/**
 * Runs the migrations not yet applied, one transaction each; the first failure stops the start.
 * `upTo` stops after that migration (tests build a library as an earlier release left it).
 */
export async function migrate(db: Kysely<LibrarySchema>, dialect: SqlDialectName, upTo?: string): Promise<string[]> {
  // Kysely looks for its own tables by name across every schema: on PostgreSQL, name the one in use
  // (a search_path may put the library in a schema of its own, beside another's).
  const schema = dialect === 'postgres' ? (await sql<{ name: string }>`select current_schema() as name`.execute(db)).rows[0]?.name : undefined;
  const migrator = new Migrator({ db, provider: migrationProvider(dialect), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo);
  if (error) {
    // The database's own words belong in the one line the user reads (a permission, a lock timeout).
    const why = describeError(error);
    throw new StorageError(`the library database schema could not be brought up to date (${why})`, 'migrate', { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Copies the embedded library to `target` with SQLite's online backup: a consistent snapshot,
 * taken while a bot goes on writing (it is copied page by page, and restarted if a write lands in
 * between). Returns the target; the caller removes it.
 */
export async function snapshotSqlite(dataDir: string, target: string): Promise<string> {
  const file = path.join(dataDir, LIBRARY_DB_FILE);
  let native: BetterSqlite3.Database;
  try {
    native = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
  } catch (cause) {
    throw new StorageError(`the library database ${file} could not be opened`, 'snapshot', { cause });
  }
  try {
    await native.backup(target);
  } catch (cause) {
    throw new StorageError(`the library database could not be copied to ${target}`, 'snapshot', { cause });
  } finally {
    native.close();
  }
  return target;
}

/** Whether a SQLite file is whole (`PRAGMA integrity_check`): the first problem, or undefined. */
export function sqliteProblem(file: string): string | undefined {
  let native: BetterSqlite3.Database | undefined;
  try {
    native = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    const rows = native.pragma('integrity_check') as { integrity_check: string }[];
    const first = rows[0]?.integrity_check;
    return first === 'ok' ? undefined : (first ?? 'no answer');
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    native?.close();
  }
}

export { withoutPassword };
