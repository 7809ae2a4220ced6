import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Keyv } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';

/**
 * A keyv namespace on the embedded SQLite file in `dataDir`. Errors throw (keyv would otherwise
 * swallow them and answer `undefined`, which looks like "not found").
 */
export function openKeyv<T>(dataDir: string, namespace: string): Keyv<T> {
  mkdirSync(dataDir, { recursive: true });
  const store = new KeyvSqlite({ uri: `sqlite://${path.join(dataDir, 'facefile.sqlite')}`, busyTimeout: 10_000 });
  return new Keyv<T>({ store, namespace, throwOnErrors: true, useKeyPrefix: true });
}
