import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { faceCacheContract } from '../contracts/face-cache.contract.ts';
import { MemoryFaceCache } from '../fakes/memory-face-cache.ts';
import { silentLog } from '../../src/core/index.ts';
import { KeyvSqliteFile, SQLITE_FILE, retireKeyvFaceCache } from '../../src/storage/legacy/index.ts';
import { SqlFaceCache, openLibraryDatabase, type LibraryDatabase } from '../../src/storage/sql/index.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';

const folders: string[] = [];
const databases: LibraryDatabase[] = [];
after(async () => {
  for (const database of databases) await database.close();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  // The PostgreSQL contract's schemas, one per case: left behind, every run added five to the server.
  await dropSchemas();
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-cache-'));
  folders.push(dir);
  return dir;
}

async function database(url?: string): Promise<LibraryDatabase> {
  const opened = await openLibraryDatabase({ dataDir: await freshDir(), url });
  databases.push(opened);
  return opened;
}

const pg = await postgresUrl();

faceCacheContract('MemoryFaceCache (fake)', () => Promise.resolve(new MemoryFaceCache()));
faceCacheContract('SqlFaceCache on SQLite', async () => new SqlFaceCache((await database()).db, 'test-embedder'));
if (pg) faceCacheContract('SqlFaceCache on PostgreSQL', async () => new SqlFaceCache((await database(await freshSchemaUrl(pg))).db, 'test-embedder'));

describe('SqlFaceCache', () => {
  it("GIVEN faces cached by one embedder THEN another does not see them, and a delete removes every embedder's", async () => {
    const { db } = await database();
    const hash = 'c'.repeat(64);
    await new SqlFaceCache(db, 'embedder-a').set(hash, []);
    await new SqlFaceCache(db, 'embedder-b').set(hash, []);
    assert.equal(await new SqlFaceCache(db, 'embedder-c').get(hash), undefined);
    assert.deepEqual(await new SqlFaceCache(db, 'embedder-a').get(hash), []);
    await new SqlFaceCache(db, 'embedder-b').delete([hash]);
    assert.equal(await new SqlFaceCache(db, 'embedder-a').get(hash), undefined);
    assert.equal(await new SqlFaceCache(db, 'embedder-b').get(hash), undefined);
  });
});

describe('the face cache of earlier releases (keyv in facefile.sqlite)', () => {
  /** Writes entries the way @keyv/sqlite and keyv stored them: table keyv, JSON `{value, expires}`. */
  function writeOldFile(dir: string, entries: Record<string, unknown>): void {
    const store = new KeyvSqliteFile(path.join(dir, SQLITE_FILE));
    for (const [key, value] of Object.entries(entries)) void store.set(key, JSON.stringify({ value, expires: null }));
    void store.disconnect();
  }

  it('GIVEN only old face entries THEN they are deleted with the file, and the count is said', async () => {
    const dir = await freshDir();
    writeOldFile(dir, {
      'faces:dlib-7-flip@1:aaa': [{ box: { x: 1, y: 1, width: 2, height: 2 }, score: 1, eyeDistance: 1, embedding: 'AAAA' }],
      'faces:dlib-7-flip@1:bbb': [],
    });
    assert.equal(await retireKeyvFaceCache(dir, silentLog), 2);
    await assert.rejects(access(path.join(dir, SQLITE_FILE)), 'the old file is gone');
    assert.equal(await retireKeyvFaceCache(dir, silentLog), 0);
  });

  it('GIVEN an old library not yet imported beside the faces THEN only the faces go; the library stays for its import', async () => {
    const dir = await freshDir();
    writeOldFile(dir, { 'faces:x:aaa': [], 'library:tg:-1/people': ['p1'] });
    assert.equal(await retireKeyvFaceCache(dir, silentLog), 1);
    const store = new KeyvSqliteFile(path.join(dir, SQLITE_FILE));
    try {
      assert.equal(store.count(), 1);
      assert.notEqual(await store.get('library:tg:-1/people'), undefined);
    } finally {
      await store.disconnect();
    }
  });

  it("GIVEN faces cached by an earlier embedder WHEN the cache is opened for another THEN the earlier one's entries are gone from the table, not only unread", async () => {
    const { db } = await database();
    await new SqlFaceCache(db, 'embedder-old').set('d'.repeat(64), []);
    await new SqlFaceCache(db, 'embedder-new').set('e'.repeat(64), []);
    const cache = await SqlFaceCache.open(db, 'embedder-new');
    const rows = await db.selectFrom('face_cache').select(['hash', 'embedder']).execute();
    assert.deepEqual(rows, [{ hash: 'e'.repeat(64), embedder: 'embedder-new' }]);
    assert.deepEqual(await cache.get('e'.repeat(64)), [], "the current embedder's entries stay");
  });
});
