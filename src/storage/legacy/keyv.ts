import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Keyv } from 'keyv';
import type { KeyvStoreAdapter } from 'keyv';
import { ConfigError, StorageError } from '../../core/index.ts';
import { KeyvSqliteFile } from './keyv-sqlite-file.ts';

/** The SQLite file under the data folder when no KEYV_URL is given. */
export const SQLITE_FILE = 'facefile.sqlite';

/** Where the key-value data lives. */
export interface KeyvLocation {
  /** The data folder: holds `facefile.sqlite` when no URL is given. */
  readonly dataDir: string;
  /**
   * KEYV_URL: `redis://`, `rediss://`, `postgres://`, `postgresql://`, `mysql://`, `mongodb://`,
   * `mongodb+srv://` or `sqlite://<file>`. Empty or absent means SQLite in `dataDir`.
   */
  readonly url?: string | undefined;
}

interface AdapterPackage {
  readonly name: string;
  /** The named export, for packages whose default export is not the store class. */
  readonly exportName: string;
}

// None is a dependency: whoever kept an earlier release's library at KEYV_URL installs its
// adapter for the one import, so an install does not carry four database drivers. SQLite files
// are read with better-sqlite3 (KeyvSqliteFile).
const ADAPTERS: Readonly<Record<string, AdapterPackage>> = {
  redis: { name: '@keyv/redis', exportName: 'KeyvRedis' },
  rediss: { name: '@keyv/redis', exportName: 'KeyvRedis' },
  postgres: { name: '@keyv/postgres', exportName: 'KeyvPostgres' },
  postgresql: { name: '@keyv/postgres', exportName: 'KeyvPostgres' },
  mysql: { name: '@keyv/mysql', exportName: 'KeyvMysql' },
  mongodb: { name: '@keyv/mongo', exportName: 'KeyvMongo' },
  'mongodb+srv': { name: '@keyv/mongo', exportName: 'KeyvMongo' },
};

const SCHEMES = ['sqlite', ...Object.keys(ADAPTERS)].map((s) => `${s}://`).join(', ');

/**
 * A keyv namespace on the embedded SQLite file in `dataDir`. Errors throw (keyv would otherwise
 * swallow them and answer `undefined`, which looks like "not found").
 */
export function openKeyv<T>(dataDir: string, namespace: string): Keyv<T> {
  mkdirSync(dataDir, { recursive: true });
  return sqliteKeyv<T>(`sqlite://${path.join(dataDir, SQLITE_FILE)}`, namespace);
}

/**
 * A keyv namespace where `location` says: SQLite in the data folder by default, or the database of
 * KEYV_URL through its @keyv adapter, loaded on demand. Errors throw, as with `openKeyv`.
 * Fails with `ConfigError` for an unknown scheme or an adapter that is not installed; the URL itself
 * is never put in a message (it usually holds a password).
 */
export async function connectKeyv<T = unknown>(location: KeyvLocation, namespace: string): Promise<Keyv<T>> {
  const url = location.url;
  if (url === undefined || url === '') return openKeyv<T>(location.dataDir, namespace);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new ConfigError([`KEYV_URL: not a URL; expected one of ${SCHEMES}`]);
  if (scheme === 'sqlite') {
    const file = url.slice('sqlite://'.length);
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    return sqliteKeyv<T>(`sqlite://${file}`, namespace);
  }
  const adapter = ADAPTERS[scheme];
  if (!adapter) throw new ConfigError([`KEYV_URL: unsupported scheme "${scheme}://"; expected one of ${SCHEMES}`]);
  const Store = await loadAdapter(scheme, adapter);
  let store: KeyvStoreAdapter;
  try {
    store = new Store(url);
  } catch (cause) {
    throw new StorageError(`the ${adapter.name} store could not be created`, 'keyv.connect', { cause });
  }
  return new Keyv<T>({ store, namespace, throwOnErrors: true, useKeyPrefix: true });
}

/**
 * Rewrites the SQLite file without its free pages (VACUUM), so that nothing deleted lingers in it.
 * Other backends need nothing here: Redis frees at once; PostgreSQL and MySQL reclaim on their own
 * schedule, which their operators own.
 */
export function compact<T>(keyv: Keyv<T>): Promise<void> {
  const store: unknown = keyv.store;
  if (!(store instanceof KeyvSqliteFile)) return Promise.resolve();
  try {
    store.vacuum();
  } catch (cause) {
    throw new StorageError('the database could not be compacted', 'keyv.compact', { cause });
  }
  return Promise.resolve();
}

/** Closes the keyv's connection; the keyv cannot be used afterwards. */
export async function closeKeyv<T>(keyv: Keyv<T>): Promise<void> {
  try {
    await keyv.disconnect();
  } catch (cause) {
    throw new StorageError('the database connection could not be closed', 'keyv.close', { cause });
  }
}

function sqliteKeyv<T>(uri: string, namespace: string): Keyv<T> {
  let store: KeyvSqliteFile;
  try {
    store = new KeyvSqliteFile(uri.slice('sqlite://'.length));
  } catch (cause) {
    throw new StorageError('the old SQLite store could not be opened', 'keyv.connect', { cause });
  }
  return new Keyv<T>({ store, namespace, throwOnErrors: true, useKeyPrefix: true });
}

type AdapterConstructor = new (url: string) => KeyvStoreAdapter;

async function loadAdapter(scheme: string, adapter: AdapterPackage): Promise<AdapterConstructor> {
  let module: unknown;
  try {
    module = await import(adapter.name);
  } catch (cause) {
    if (isMissing(cause, adapter.name)) {
      throw new ConfigError([`KEYV_URL: ${scheme}:// needs the package ${adapter.name}, which is not installed: npm install ${adapter.name}`]);
    }
    throw new StorageError(`${adapter.name} could not be loaded`, 'keyv.connect', { cause });
  }
  const exports = (module ?? {}) as Record<string, unknown>;
  const Store = exports[adapter.exportName] ?? exports.default;
  if (typeof Store !== 'function') throw new StorageError(`${adapter.name} exports no ${adapter.exportName}`, 'keyv.connect');
  return Store as AdapterConstructor;
}

function isMissing(error: unknown, packageName: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && error.message.includes(packageName);
}
