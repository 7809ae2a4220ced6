import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../../core/index.ts';
import { StorageError } from '../../core/index.ts';
import { SQLITE_FILE } from './keyv.ts';
import { KeyvSqliteFile } from './keyv-sqlite-file.ts';

/**
 * The archiver's face cache of releases before 0.2 (keyv namespace `faces` in the data folder's
 * `facefile.sqlite`) is only a cache: rather than carried over, it is deleted, and the faces are
 * cached anew in the library's database as photos are seen again. Its entries are biometric data
 * that no forget would reach any more, so they are removed at the first start (rows zeroed by
 * secure_delete, the file vacuumed, or deleted once nothing else is in it). Returns how many entries.
 */
export async function retireKeyvFaceCache(dataDir: string, log: Log): Promise<number> {
  const file = path.join(dataDir, SQLITE_FILE);
  if (!existsSync(file)) return 0;
  let store: KeyvSqliteFile | undefined;
  let removed = 0;
  let left = 0;
  try {
    store = new KeyvSqliteFile(file);
    removed = store.deletePrefix('faces:');
    left = store.count();
    if (removed > 0 && left > 0) store.vacuum();
  } catch (cause) {
    throw new StorageError(`the old face cache ${file} could not be cleared`, 'legacy.face-cache', { cause });
  } finally {
    await store?.disconnect();
  }
  if (left === 0) for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(`${file}${suffix}`, { force: true });
  if (removed > 0) log.info({ entries: removed }, 'the old face cache (facefile.sqlite) was deleted; faces are cached in the library database from now on');
  return removed;
}
