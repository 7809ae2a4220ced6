import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { galleryStoreContract } from '../contracts/gallery-store.contract.ts';
import { auditLogContract } from '../contracts/audit-log.contract.ts';
import { photoStoreContract } from '../contracts/photo-store.contract.ts';
import { settingsStoreContract } from '../contracts/settings-store.contract.ts';
import {
  LIBRARY_DB_FILE,
  SqlAuditLog,
  migrate,
  SqlGalleryStore,
  SqlPhotoStore,
  SqlSettingsStore,
  openLibraryDatabase,
  type LibraryDatabase,
} from '../../src/storage/sql/index.ts';
import type { PhotoRecord } from '../../src/core/index.ts';
import { StorageError } from '../../src/core/index.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';

const opened: LibraryDatabase[] = [];
const pgOpened: LibraryDatabase[] = [];
const folders: string[] = [];
after(async () => {
  for (const db of [...opened, ...pgOpened]) await db.close().catch(() => undefined);
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  await dropSchemas();
});

async function sqlite(dir?: string): Promise<LibraryDatabase> {
  const folder = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'facefile-sql-')));
  if (!dir) folders.push(folder);
  const db = await openLibraryDatabase({ dataDir: folder });
  opened.push(db);
  return db;
}

const pgBase = await postgresUrl();

async function postgres(url?: string): Promise<LibraryDatabase> {
  const db = await openLibraryDatabase({ dataDir: '/nonexistent', url: url ?? (await freshSchemaUrl(pgBase!)) });
  // Each database holds a pool of connections: the server allows 100 in all, so only the last
  // few (a test uses at most two) stay open.
  pgOpened.push(db);
  if (pgOpened.length > 4) await pgOpened.shift()!.close();
  return db;
}

const engines: { name: string; open: () => Promise<LibraryDatabase> }[] = [{ name: 'SQLite', open: () => sqlite() }];
if (pgBase) engines.push({ name: 'PostgreSQL', open: () => postgres() });
else it('PostgreSQL store contracts', { skip: 'no PostgreSQL server reachable or startable (set TEST_DATABASE_URL)' }, () => undefined);

for (const engine of engines) {
  galleryStoreContract(`SqlGalleryStore on ${engine.name}`, async () => new SqlGalleryStore((await engine.open()).db));
  photoStoreContract(`SqlPhotoStore on ${engine.name}`, async () => new SqlPhotoStore((await engine.open()).db));
  settingsStoreContract(`SqlSettingsStore on ${engine.name}`, async () => new SqlSettingsStore((await engine.open()).db));
  auditLogContract(`SqlAuditLog on ${engine.name}`, async (kept) => new SqlAuditLog((await engine.open()).db, kept));
}

const hash = (n: number) => n.toString(16).padStart(64, '0');
const E = 'test-embedder@1';
const unit = (d: number) => Float32Array.from({ length: 128 }, (_, i) => (i === d ? 1 : 0));
const photo = (n: number, embedding: Float32Array): PhotoRecord => ({
  hash: hash(n),
  ext: 'jpg',
  bytes: 1000,
  postedAt: '2024-05-01T00:00:00.000Z',
  faces: [{ box: { x: 1, y: 2, width: 50, height: 60 }, score: 0.9, eyeDistance: 20, embedding, embedder: E, seenAt: '2024-05-01T00:00:00.000Z' }],
});

for (const engine of engines) {
  describe(`The library database on ${engine.name}`, () => {
    it('GIVEN an empty database THEN opening it creates every table, and opening it again migrates nothing', async () => {
      const db = await engine.open();
      // PostgreSQL's introspection lists every schema's tables: only this database's own count.
      const schema = db.dialect === 'postgres' ? (await sql<{ name: string }>`select current_schema() as name`.execute(db.db)).rows[0]!.name : undefined;
      const tables = (await db.db.introspection.getTables())
        .filter((t) => schema === undefined || t.schema === schema)
        .map((t) => t.name)
        .filter((n) => !n.startsWith('kysely_'));
      assert.deepEqual(tables.sort(), [
        'audit',
        'clusters',
        'deployment',
        'face_cache',
        'face_versions',
        'faces',
        'people',
        'photos',
        'rejections',
        'samples',
        'settings',
      ]);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db.db);
      assert.deepEqual(
        applied.rows.map((r) => r.name),
        ['0001_library', '0002_faces_embedded', '0003_deployment', '0004_embedder', '0005_face_cache'],
      );
      assert.deepEqual(await migrate(db.db, db.dialect), []);
    });

    it('GIVEN two stores on one database (two processes) THEN near in one sees what the other wrote after it loaded', async () => {
      const first = await engine.open();
      const second = engine.name === 'SQLite' ? await sqlite(path.dirname(first.location)) : await postgres(schemaUrlOf(first));
      const a = new SqlPhotoStore(first.db),
        b = new SqlPhotoStore(second.db);
      await a.save('g', photo(1, unit(5)));
      assert.equal((await a.near('g', [unit(5)], 0.9, E)).length, 1);
      await b.save('g', photo(2, unit(5)));
      await b.delete('g', hash(1));
      assert.deepEqual(
        (await a.near('g', [unit(5)], 0.9, E)).map((f) => f.photoHash),
        [hash(2)],
      );
    });

    it('GIVEN a write that fails half way THEN nothing of it is stored and the matrix still agrees', async () => {
      const db = await engine.open();
      const store = new SqlPhotoStore(db.db);
      await store.save('g', photo(1, unit(3)));
      assert.equal((await store.near('g', [unit(3)], 0.9, E)).length, 1);
      const broken = { ...photo(1, unit(4)), faces: [photo(1, unit(4)).faces[0]!, { ...photo(1, unit(4)).faces[0]!, seenAt: null as unknown as string }] };
      await assert.rejects(store.save('g', broken), StorageError);
      const kept = await store.get('g', hash(1));
      assert.equal(kept!.faces.length, 1);
      assert.equal(kept!.faces[0]!.embedding![3], 1);
      assert.equal((await store.near('g', [unit(3)], 0.9, E)).length, 1);
      assert.equal((await store.near('g', [unit(4)], 0.9, E)).length, 0);
    });
  });
}

describe('The library database on SQLite, on disk', () => {
  it('GIVEN a photo deleted and the store compacted THEN its embedding bytes are nowhere in the database files', async () => {
    const db = await sqlite();
    const store = new SqlPhotoStore(db.db);
    const marker = Float32Array.from({ length: 128 }, (_, i) => 0.123456 + i / 1000);
    await store.save('g', photo(1, marker));
    await store.save('g', photo(2, unit(1)));
    const needle = Buffer.from(marker.buffer).subarray(0, 64);
    const files = async () =>
      Buffer.concat(
        await Promise.all(['', '-wal'].map((s) => readFile(path.join(path.dirname(db.location), LIBRARY_DB_FILE + s)).catch(() => Buffer.alloc(0)))),
      );
    assert.ok((await files()).includes(needle), 'the embedding is on disk before');
    await store.delete('g', hash(1));
    await db.compact();
    assert.equal((await files()).includes(needle), false);
  });

  it('GIVEN a file that is not a database THEN opening it fails with a StorageError that names the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-sql-'));
    folders.push(dir);
    await import('node:fs/promises').then((fs) => fs.writeFile(path.join(dir, LIBRARY_DB_FILE), 'not a database, just text '.repeat(100)));
    await assert.rejects(openLibraryDatabase({ dataDir: dir }), (e: unknown) => e instanceof StorageError && /library/.test(e.message));
  });
});

function schemaUrlOf(db: LibraryDatabase): string {
  // The location hides nothing here (trust auth has no password), so it is the URL itself.
  return db.location;
}
