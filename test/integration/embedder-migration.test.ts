import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { InProcessGroupLocks } from '../../src/core/index.ts';
import { FsAlbumStore } from '../../src/albums/index.ts';
import {
  PgGroupLocks,
  SqlGalleryStore,
  SqlPhotoStore,
  SqlSettingsStore,
  migrate,
  openLibraryDatabase,
  type LibraryDatabase,
} from '../../src/storage/sql/index.ts';
import { LEGACY_EMBEDDER } from '../../src/storage/sql/migrations.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';
import { embedderMigrationRules, type LibraryParts } from '../helpers/embedder-migration.ts';

// The rules of a change of embedder on the real stores: each SQL database, and album files on disk.

const opened: LibraryDatabase[] = [];
const closers: (() => Promise<void>)[] = [];
const folders: string[] = [];
after(async () => {
  for (const close of closers) await close().catch(() => undefined);
  for (const db of opened) await db.close().catch(() => undefined);
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  await dropSchemas();
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-embedder-'));
  folders.push(dir);
  return dir;
}

const pgBase = await postgresUrl();

function partsOn(database: LibraryDatabase, dataDir: string, locks: LibraryParts['locks']): LibraryParts {
  opened.push(database);
  return {
    gallery: new SqlGalleryStore(database.db),
    photos: new SqlPhotoStore(database.db),
    settings: new SqlSettingsStore(database.db),
    albums: new FsAlbumStore(dataDir),
    ...(locks ? { locks } : {}),
  };
}

embedderMigrationRules('SQLite, album files on disk', async () => {
  const dir = await folder();
  return partsOn(await openLibraryDatabase({ dataDir: dir }), dir, new InProcessGroupLocks());
});

if (pgBase) {
  embedderMigrationRules('PostgreSQL, with the advisory group locks of a scale-out deployment', async () => {
    const url = await freshSchemaUrl(pgBase);
    const locks = new PgGroupLocks(url);
    closers.push(() => locks.close());
    return partsOn(await openLibraryDatabase({ dataDir: '/nonexistent', url }), await folder(), locks);
  });
} else {
  it('A change of embedder on PostgreSQL', { skip: 'no PostgreSQL server reachable or startable (set TEST_DATABASE_URL)' }, () => undefined);
}

describe('Migration 0004 (the embedder of each embedding)', () => {
  const engines: { name: string; open: () => Promise<LibraryDatabase> }[] = [
    { name: 'SQLite', open: async () => openLibraryDatabase({ dataDir: await folder() }, { upTo: '0003_deployment' }) },
  ];
  if (pgBase)
    engines.push({
      name: 'PostgreSQL',
      open: async () => openLibraryDatabase({ dataDir: '/nonexistent', url: await freshSchemaUrl(pgBase) }, { upTo: '0003_deployment' }),
    });
  for (const engine of engines) {
    it(`GIVEN a ${engine.name} library of the release before THEN every stored embedding is taken to be the one embedder there was, and faces without one stay without`, async () => {
      const database = await engine.open();
      opened.push(database);
      const { db, dialect } = database;
      // The schema before 0004, with rows as that release wrote them.
      const bytes = new Uint8Array(new Float32Array([0.6, 0.8]).buffer);
      await sql`insert into people (group_id, id, name, folder, created_at) values ('g', 'p1', 'Anna', 'Anna', '2024-01-01')`.execute(db);
      await sql`insert into samples (group_id, person_id, position, embedding, added_at) values ('g', 'p1', 0, ${bytes}, '2024-01-01')`.execute(db);
      await sql`insert into photos (group_id, hash, ext, bytes, posted_at) values ('g', 'h1', 'jpg', 1, '2024-01-01')`.execute(db);
      await sql`insert into faces (group_id, photo_hash, position, box_x, box_y, box_width, box_height, score, eye_distance, embedding, person_id, seen_at)
                values ('g', 'h1', 0, 1, 2, 3, 4, 0.9, 20, ${bytes}, 'p1', '2024-01-01'), ('g', 'h1', 1, 1, 2, 3, 4, 0.9, 2, null, null, '2024-01-01')`.execute(
        db,
      );
      assert.equal((await migrate(db, dialect))[0], '0004_embedder');
      const [anna] = await new SqlGalleryStore(db).list('g');
      assert.equal(anna!.samples[0]!.embedder, LEGACY_EMBEDDER);
      const photos = new SqlPhotoStore(db);
      const record = await photos.get('g', 'h1');
      assert.deepEqual(
        record!.faces.map((f) => f.embedder),
        [LEGACY_EMBEDDER, undefined],
      );
      assert.deepEqual(await photos.describedOtherwise('g', LEGACY_EMBEDDER), []);
      assert.deepEqual(await photos.describedOtherwise('g', 'mobilefacenet@1'), ['h1']);
    });
  }
});
