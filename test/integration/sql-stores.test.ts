import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { galleryStoreContract } from '../contracts/gallery-store.contract.ts';
import { auditLogContract } from '../contracts/audit-log.contract.ts';
import { photoStoreContract } from '../contracts/photo-store.contract.ts';
import { settingsStoreContract } from '../contracts/settings-store.contract.ts';
import {
  LIBRARY_DB_FILE,
  MatrixSnapshots,
  SqlAuditLog,
  migrate,
  SqlGalleryStore,
  SqlPhotoStore,
  SqlImportCursors,
  SqlSettingsStore,
  openLibraryDatabase,
  type LibraryDatabase,
} from '../../src/storage/sql/index.ts';
import type { LibrarySchema } from '../../src/storage/sql/schema.ts';
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
        'face_changes',
        'face_versions',
        'faces',
        'group_totals',
        'history_imports',
        'people',
        'person_photos',
        'photos',
        'rejections',
        'samples',
        'settings',
      ]);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db.db);
      assert.deepEqual(
        applied.rows.map((r) => r.name),
        [
          '0001_library',
          '0002_faces_embedded',
          '0003_deployment',
          '0004_embedder',
          '0005_face_cache',
          '0006_forgotten_at',
          '0007_history_imports',
          '0008_import_progress',
          '0009_faces_posted_at',
          '0010_totals',
          '0011_face_changes',
          '0012_face_updates',
          '0013_erasure_keeps_embedder',
        ],
      );
      assert.deepEqual(await migrate(db.db, db.dialect), []);
    });

    it('GIVEN history import cursors THEN they are kept per group and channel, updated in place, and removed by group', async () => {
      const db = await engine.open();
      const cursors = new SqlImportCursors(db.db);
      const start = { scanned: 0, queued: 0, skipped: 0, done: false, startedAt: '2026-01-01T00:00:00.000Z' };
      await cursors.save({ group: 'dc:1', channel: '10', ...start, requestedBy: 'dc:7' });
      await cursors.save({ group: 'dc:1', channel: '11', ...start });
      await cursors.save({ group: 'dc:2', channel: '20', ...start });
      await cursors.save({ group: 'dc:1', channel: '10', ...start, before: '555', scanned: 100, queued: 3, skipped: 1, requestedBy: 'dc:7' });
      await cursors.save({ group: 'dc:1', channel: '11', ...start, done: true, problem: 'cannot be read' });
      assert.deepEqual(await cursors.list('dc:1'), [
        { group: 'dc:1', channel: '10', ...start, before: '555', scanned: 100, queued: 3, skipped: 1, requestedBy: 'dc:7' },
        { group: 'dc:1', channel: '11', ...start, done: true, problem: 'cannot be read' },
      ]);
      assert.equal((await cursors.list()).length, 3);
      assert.equal(await cursors.remove('dc:1'), 2);
      assert.deepEqual(
        (await cursors.list()).map((c) => c.channel),
        ['20'],
      );
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

describe('Migrations 0009 to 0012 (faces dated, totals kept, the change log, narrower indexes) on a library of the release before', () => {
  const earlier: { name: string; open: () => Promise<LibraryDatabase> }[] = [
    {
      name: 'SQLite',
      open: async () => {
        const folder = await mkdtemp(path.join(os.tmpdir(), 'facefile-sql-'));
        folders.push(folder);
        const db = await openLibraryDatabase({ dataDir: folder }, { upTo: '0008_import_progress' });
        opened.push(db);
        return db;
      },
    },
  ];
  if (pgBase)
    earlier.push({
      name: 'PostgreSQL',
      open: async () => {
        const db = await openLibraryDatabase({ dataDir: '/nonexistent', url: await freshSchemaUrl(pgBase) }, { upTo: '0008_import_progress' });
        pgOpened.push(db);
        return db;
      },
    });
  for (const engine of earlier) {
    it(`GIVEN a ${engine.name} library as the release before left it THEN the upgrade counts its totals and dates its faces, and both follow every write after`, async () => {
      const { db, dialect } = await engine.open();
      const bytes = new Uint8Array(new Float32Array([0.6, 0.8]).buffer);
      for (const [group, hash, size, postedAt] of [
        ['g', 'h1', 100, '2024-01-01T00:00:00.000Z'],
        ['g', 'h2', 20, '2024-03-01T00:00:00.000Z'],
        ['g', 'h3', 3, '2023-01-01T00:00:00.000Z'],
        ['other', 'h1', 5, '2024-01-01T00:00:00.000Z'],
      ] as const)
        await sql`insert into photos (group_id, hash, ext, bytes, posted_at) values (${group}, ${hash}, 'jpg', ${size}, ${postedAt})`.execute(db);
      const face = (group: string, hash: string, position: number, embedding: Uint8Array | null, person: string | null) =>
        sql`insert into faces (group_id, photo_hash, position, box_x, box_y, box_width, box_height, score, eye_distance, embedding, embedder, person_id, seen_at)
            values (${group}, ${hash}, ${position}, 1, 2, 3, 4, 0.9, 20, ${embedding}, ${embedding ? 'e@1' : null}, ${person}, '2024-01-01')`.execute(db);
      await face('g', 'h1', 0, bytes, 'anna');
      await face('g', 'h1', 1, bytes, 'anna');
      await face('g', 'h1', 2, bytes, null);
      await face('g', 'h1', 3, null, null);
      await face('g', 'h2', 0, bytes, 'anna');
      await face('g', 'h2', 1, bytes, 'ben');
      await face('g', 'h3', 0, bytes, 'ben');
      await face('other', 'h1', 0, bytes, 'anna');
      await sql`insert into face_versions (group_id, version) values ('g', 7)`.execute(db);
      assert.deepEqual(await migrate(db, dialect), [
        '0009_faces_posted_at',
        '0010_totals',
        '0011_face_changes',
        '0012_face_updates',
        '0013_erasure_keeps_embedder',
      ]);
      const store = new SqlPhotoStore(db);
      const totals = async (group: string) => {
        const counts = await store.counts(group);
        return { ...counts, byPerson: Object.fromEntries(counts.byPerson) };
      };
      assert.deepEqual(await totals('g'), { photos: 3, bytes: 123, faces: 7, unknownFaces: 1, byPerson: { anna: 2, ben: 2 } });
      assert.deepEqual(await totals('other'), { photos: 1, bytes: 5, faces: 1, unknownFaces: 0, byPerson: { anna: 1 } });
      assert.deepEqual(Object.fromEntries([...(await store.newestFiled('g'))].map(([id, p]) => [id, p.hash])), { anna: 'h2', ben: 'h2' });
      const log = await db.selectFrom('face_versions').select(['version', 'changes_from']).where('group_id', '=', 'g').executeTakeFirstOrThrow();
      assert.deepEqual(log, { version: 7, changes_from: 7 }, 'the log of writes begins at the upgrade');
      await store.delete('g', 'h2');
      await store.assign('g', [{ photoHash: 'h1', faceIndex: 2, personId: 'cleo' }]);
      assert.deepEqual(await totals('g'), { photos: 2, bytes: 103, faces: 5, unknownFaces: 0, byPerson: { anna: 1, ben: 1, cleo: 1 } });
      assert.deepEqual(Object.fromEntries([...(await store.newestFiled('g'))].map(([id, p]) => [id, p.hash])), { anna: 'h1', ben: 'h3', cleo: 'h1' });
      assert.equal((await store.near('g', [new Float32Array([0.6, 0.8])], 0.99, 'e@1')).length, 4);
    });
  }
});

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

  it('GIVEN a face erased in place (a forget in a photo that stays) and the store compacted THEN its embedding bytes are nowhere in the database files', async () => {
    const db = await sqlite();
    const store = new SqlPhotoStore(db.db);
    const marker = Float32Array.from({ length: 128 }, (_, i) => 0.654321 + i / 1000);
    await store.save('g', { ...photo(1, unit(2)), faces: [photo(1, unit(2)).faces[0]!, { ...photo(1, marker).faces[0]!, personId: 'anna' }] });
    const needle = Buffer.from(marker.buffer).subarray(0, 64);
    const files = async () =>
      Buffer.concat(
        await Promise.all(['', '-wal'].map((s) => readFile(path.join(path.dirname(db.location), LIBRARY_DB_FILE + s)).catch(() => Buffer.alloc(0)))),
      );
    assert.ok((await files()).includes(needle), 'the embedding is on disk before');
    await store.writeMany('g', { erase: [{ photoHash: hash(1), faceIndex: 1 }] });
    await db.compact();
    assert.equal((await files()).includes(needle), false);
    assert.equal((await store.get('g', hash(1)))?.faces.length, 2, 'the photo and its other face stay');
  });

  it('GIVEN a write THEN the background checkpointer moves it into the database file, and close leaves no log behind', async () => {
    const db = await sqlite();
    const marker = Float32Array.from({ length: 128 }, (_, i) => 0.777777 + i / 1000);
    const needle = Buffer.from(marker.buffer).subarray(0, 64);
    await new SqlPhotoStore(db.db).save('g', photo(1, marker));
    // Written by the commit to the log, then moved by the other connection: polled, not timed.
    const inFile = () => readFile(db.location).then((bytes) => bytes.includes(needle));
    for (let tries = 0; !(await inFile()); tries++) {
      assert.ok(tries < 300, 'the write never reached the database file');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await db.close();
    opened.splice(opened.indexOf(db), 1);
    await assert.rejects(readFile(`${db.location}-wal`), { code: 'ENOENT' });
  });

  it('GIVEN a process that opens the library, writes and closes it THEN it runs on to its end (the checkpointer does not let it exit early)', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'facefile-sql-'));
    folders.push(folder);
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', OPEN_WRITE_CLOSE, folder], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.equal(out.trim(), 'closed');
  });

  it('GIVEN a reader on an older snapshot WHEN the store is compacted THEN it waits for the reader and truncates the log, never leaving it busy', async () => {
    const db = await sqlite();
    const marker = Float32Array.from({ length: 128 }, (_, i) => 0.515151 + i / 1000);
    const store = new SqlPhotoStore(db.db);
    await store.save('g', photo(1, marker));
    // Another process reads an older snapshot until it is told to end.
    const reader = spawn(process.execPath, ['-e', HOLD_SNAPSHOT, db.location], { stdio: ['pipe', 'pipe', 'inherit'] });
    after(() => reader.kill('SIGKILL'));
    await once(reader.stdout, 'data');
    await store.delete('g', hash(1));
    // Released once the event loop is free again: after the first checkpoint has come back busy
    // (better-sqlite3 holds the loop while SQLite waits for the reader).
    setTimeout(() => reader.stdin.end('done\n'), 0);
    await db.compact();
    assert.equal((await stat(`${db.location}-wal`).catch(() => undefined))?.size ?? 0, 0, 'the log is truncated');
    const needle = Buffer.from(marker.buffer).subarray(0, 64);
    assert.equal((await readFile(db.location)).includes(needle), false);
  });

  it('GIVEN a file that is not a database THEN opening it fails with a StorageError that names the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-sql-'));
    folders.push(dir);
    await import('node:fs/promises').then((fs) => fs.writeFile(path.join(dir, LIBRARY_DB_FILE), 'not a database, just text '.repeat(100)));
    await assert.rejects(openLibraryDatabase({ dataDir: dir }), (e: unknown) => e instanceof StorageError && /library/.test(e.message));
  });
});

describe(
  'The library database on PostgreSQL, compacted after a forget',
  { skip: pgBase ? false : 'no PostgreSQL server reachable or startable (set TEST_DATABASE_URL)' },
  () => {
    /** Another session holding `faces` locked: a VACUUM waits behind it until `release`. */
    async function lockedFaces(url: string) {
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      await holder.query('begin');
      await holder.query('lock table faces in access exclusive mode');
      return {
        /** Whether another session (the VACUUM: nothing else uses the schema) waits for the lock now. */
        vacuumWaits: async () => (await holder.query(`select 1 from pg_locks where relation = 'faces'::regclass and not granted`)).rowCount === 1,
        release: async () => {
          await holder.query('commit');
          await holder.end();
        },
      };
    }

    it('GIVEN a VACUUM that must wait WHEN the store is compacted THEN the call returns without waiting, and close waits for the VACUUM', async () => {
      const url = await freshSchemaUrl(pgBase!);
      const db = await openLibraryDatabase({ dataDir: '/nonexistent', url });
      const lock = await lockedFaces(url);
      const vacuumSeenWaiting = async () => {
        while (!(await lock.vacuumWaits())) await new Promise((resolve) => setTimeout(resolve, 20));
        return 'the VACUUM waits for the lock';
      };
      let closing: Promise<unknown> | undefined;
      try {
        // Held by the lock, not by time: a compact that waited for its VACUUM would lose this race.
        assert.equal(await Promise.race([db.compact().then(() => 'compact returned'), vacuumSeenWaiting()]), 'compact returned');
        await db.compact();
        await vacuumSeenWaiting();
        let closed = false;
        closing = db.close().then(() => (closed = true));
        assert.equal(await lock.vacuumWaits(), true);
        assert.equal(closed, false, 'close waits for the VACUUM under way');
      } finally {
        await lock.release();
      }
      await closing;
    });

    it('GIVEN a VACUUM that fails (a lock timeout) THEN compacting reports it to the log and neither it nor close throws', async () => {
      const url = await freshSchemaUrl(pgBase!);
      const timingOut = new URL(url);
      timingOut.searchParams.set('options', `${timingOut.searchParams.get('options')} -c lock_timeout=50`);
      const warnings: string[] = [];
      const log = { info: () => undefined, error: () => undefined, warn: (_: object, message: string) => void warnings.push(message) };
      const db = await openLibraryDatabase({ dataDir: '/nonexistent', url: timingOut.toString() }, { log });
      const lock = await lockedFaces(url);
      try {
        await db.compact();
        await db.close();
      } finally {
        await lock.release();
      }
      assert.deepEqual(warnings, ['VACUUM after a forget failed: autovacuum reclaims the space later']);
    });
  },
);

function schemaUrlOf(db: LibraryDatabase): string {
  // The location hides nothing here (trust auth has no password), so it is the URL itself.
  return db.location;
}

/** A migrated SQLite library whose store's queries can be explained: `planOf` gives the plan of what `run` asked. */
async function plannedStore(): Promise<{ store: SqlPhotoStore; planOf: (run: () => Promise<unknown>) => Promise<string[]> }> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'facefile-plan-'));
  folders.push(folder);
  const native = new BetterSqlite3(path.join(folder, LIBRARY_DB_FILE));
  const queries: { sql: string; parameters: readonly unknown[] }[] = [];
  const db = new Kysely<LibrarySchema>({ dialect: new SqliteDialect({ database: native }), log: (event) => void queries.push(event.query) });
  after(() => db.destroy());
  await migrate(db, 'sqlite');
  const planOf = async (run: () => Promise<unknown>): Promise<string[]> => {
    queries.length = 0;
    await run();
    return queries.flatMap((q) => (native.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.parameters) as { detail: string }[]).map((r) => r.detail));
  };
  return { store: new SqlPhotoStore(db), planOf };
}

describe('SQLite query plans at scale', () => {
  it('GIVEN a group of one embedder THEN finding the photos left to re-describe (every /stats) reads the embedder index, not every face', async () => {
    const { store, planOf } = await plannedStore();
    await store.save('g', { hash: 'h1', ext: 'jpg', bytes: 1, postedAt: '2025-01-01T00:00:00.000Z', faces: [] });
    let described: unknown;
    const plan = await planOf(async () => (described = await store.describedOtherwise('g', 'e@1')));
    assert.deepEqual(described, []);
    const facesRead = plan.filter((line) => /\bfaces\b/.test(line));
    assert.ok(facesRead.length > 0, plan.join('\n'));
    assert.ok(
      facesRead.every((line) => line.includes('INDEX faces_embedder (group_id=? AND embedder') || line.includes('INDEX faces_untagged (group_id=?)')),
      `every read of faces is a range of the embedder indexes:\n${plan.join('\n')}`,
    );
  });
});

describe('SQLite query plans of /people, /stats and the covers', () => {
  it("GIVEN a group THEN counts read the totals' rows, and newestFiled the end of each person's range of faces_newest", async () => {
    const { store, planOf } = await plannedStore();
    await store.save('g', { ...photo(1, unit(1)), faces: [{ ...photo(1, unit(1)).faces[0]!, personId: 'p1' }] });
    const counts = await planOf(() => store.counts('g'));
    assert.ok(
      counts.every((line) => !/\b(faces|photos)\b/.test(line)),
      `no face or photo is read:\n${counts.join('\n')}`,
    );
    const covers = await planOf(() => store.newestFiled('g'));
    const facesLines = covers.filter((line) => /\bfaces\b/.test(line));
    assert.ok(
      facesLines.length > 0 && facesLines.every((line) => line.includes('COVERING INDEX faces_newest (group_id=? AND person_id=?)')),
      covers.join('\n'),
    );
  });
});

describe('SQLite query plans of the albums', () => {
  it('GIVEN photos of two people asked together THEN each person is a range of the (person, photo) index, not a walk of every face', async () => {
    const { store, planOf } = await plannedStore();
    const named = (n: number, people: string[]): PhotoRecord => ({
      hash: `h${n}`,
      ext: 'jpg',
      bytes: 1,
      postedAt: `2025-01-0${n}T00:00:00.000Z`,
      faces: people.map((personId, i) => ({
        box: { x: i * 10, y: 0, width: 9, height: 9 },
        score: 1,
        eyeDistance: 20,
        seenAt: '2025-01-01T00:00:00.000Z',
        personId,
      })),
    });
    await store.save('g', named(1, ['anna', 'ben']));
    await store.save('g', named(2, ['anna']));
    await store.save('g', named(3, ['ben', 'cleo']));
    let found: string[] = [];
    const plan = await planOf(async () => (found = (await store.albumPhotos('g', { people: ['anna', 'ben'] })).map((p) => p.hash)));
    assert.deepEqual(found, ['h1']);
    const facesRead = plan.filter((line) => /\bfaces\b/.test(line));
    assert.ok(facesRead.length === 2 && facesRead.every((line) => /INDEX faces_(person|newest) \(group_id=\? AND person_id=\?/.test(line)), plan.join('\n'));
  });
});

describe('Face matrices kept across a start', () => {
  /** A SQLite library in a folder of its own whose every query is recorded, and where its matrices are kept. */
  async function library(): Promise<{ db: Kysely<LibrarySchema>; queries: string[]; dir: string }> {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'facefile-matrices-'));
    folders.push(folder);
    const queries: string[] = [];
    const db = new Kysely<LibrarySchema>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(path.join(folder, LIBRARY_DB_FILE)) }),
      log: (event) => void queries.push(event.query.sql),
    });
    after(() => db.destroy());
    await migrate(db, 'sqlite');
    return { db, queries, dir: path.join(folder, 'matrices') };
  }
  const E = 'e@1';
  const unit = (i: number) => {
    const v = new Float32Array(8);
    v[i % 8] = 1;
    return v;
  };
  const photo = (n: number): PhotoRecord => ({
    hash: `h${n}`,
    ext: 'jpg',
    bytes: 1,
    postedAt: '2025-01-01T00:00:00.000Z',
    faces: [{ box: { x: 0, y: 0, width: 9, height: 9 }, score: 1, eyeDistance: 20, seenAt: '2025-01-01T00:00:00.000Z', embedding: unit(n), embedder: E }],
  });
  /** A read of the group's face embeddings: every one of them, or those of some photos (the log's). */
  const facesRead = (queries: readonly string[]) => queries.filter((q) => /select .*"embedding".* from "faces"/.test(q));
  const readsEveryFace = (queries: readonly string[]) => facesRead(queries).some((q) => !q.includes('"photo_hash" in ('));
  const readsSomeFaces = (queries: readonly string[]) => facesRead(queries).some((q) => q.includes('"photo_hash" in ('));
  const near = async (store: SqlPhotoStore) => (await store.near('g', [unit(1)], 0.5, E)).map((f) => f.photoHash).sort();
  const kept = (dir: string) => readdir(dir).catch(() => [] as string[]);
  /** A process that filed these photos, loaded its matrix and kept it in `dir` as it closed. */
  const keptAfter = async (db: Kysely<LibrarySchema>, dir: string, photos: readonly number[]) => {
    const before = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    for (const n of photos) await before.save('g', photo(n));
    await near(before);
    await before.saveMatrices();
  };

  it('GIVEN a store that saved its matrix as it closed THEN the next start answers near from the file and reads no face rows', async () => {
    const { db, queries, dir } = await library();
    const snapshots = new MatrixSnapshots(dir);
    const before = new SqlPhotoStore(db, { snapshots });
    for (const n of [1, 2, 9]) await before.save('g', photo(n));
    assert.deepEqual(await near(before), ['h1', 'h9']);
    await before.saveMatrices();
    const started = new SqlPhotoStore(db, { snapshots });
    queries.length = 0;
    assert.deepEqual(await near(started), ['h1', 'h9']);
    assert.deepEqual(facesRead(queries), [], queries.join('\n'));
    await started.save('g', photo(17));
    assert.deepEqual(await near(started), ['h1', 'h17', 'h9'], 'the restored matrix follows writes');
  });

  it('GIVEN a kept file WHEN photos are filed and named and the process dies THEN the next start reads the file and only the photos written since', async () => {
    const { db, queries, dir } = await library();
    const snapshots = new MatrixSnapshots(dir);
    await keptAfter(db, dir, [1, 2, 9]);
    const running = new SqlPhotoStore(db, { snapshots });
    await near(running);
    await running.save('g', photo(17));
    await running.assign('g', [{ photoHash: 'h9', faceIndex: 0, personId: 'p1' }]);
    // Killed: no saveMatrices.
    const again = new SqlPhotoStore(db, { snapshots });
    queries.length = 0;
    const found = await again.near('g', [unit(1)], 0.5, E);
    assert.deepEqual(found.map((f) => [f.photoHash, f.personId]).sort(), [
      ['h1', undefined],
      ['h17', undefined],
      ['h9', 'p1'],
    ]);
    assert.equal(readsEveryFace(queries), false, queries.join('\n'));
    assert.equal(readsSomeFaces(queries), true, 'the photos written since the file, from the log');
  });

  it('GIVEN no kept file THEN the first near reads every face and leaves a file, which the start after a crash uses', async () => {
    const { db, queries, dir } = await library();
    const seeding = new SqlPhotoStore(db);
    for (const n of [1, 2, 9]) await seeding.save('g', photo(n));
    const first = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    queries.length = 0;
    assert.deepEqual(await near(first), ['h1', 'h9']);
    assert.equal(readsEveryFace(queries), true);
    await first.saveMatrices(); // Waits for the file written in the background (the matrix is unchanged).
    assert.equal((await kept(dir)).length, 1);
    const afterCrash = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    queries.length = 0;
    assert.deepEqual(await near(afterCrash), ['h1', 'h9']);
    assert.deepEqual(facesRead(queries), []);
  });

  it('GIVEN a kept matrix WHEN the first thing after the start erases unknown embeddings THEN the file with them is gone, and near agrees with the store', async () => {
    const { db, dir } = await library();
    await keptAfter(db, dir, [1, 9]);
    assert.equal((await kept(dir)).length, 1);
    const started = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    assert.equal(await started.eraseUnknownEmbeddings('g', '2030-01-01T00:00:00.000Z'), 2);
    assert.deepEqual(await kept(dir), [], 'no embedding is left in a kept file');
    assert.deepEqual(await near(started), []);
  });

  it('GIVEN a held matrix WHEN faces are erased or a photo deleted THEN the file goes before the write, and near agrees at once', async () => {
    const { db, dir } = await library();
    const store = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    for (const n of [1, 9, 17]) await store.save('g', photo(n));
    await near(store);
    await store.saveMatrices();
    await store.writeMany('g', { erase: [{ photoHash: 'h9', faceIndex: 0 }] });
    assert.deepEqual(await kept(dir), []);
    assert.deepEqual(await near(store), ['h1', 'h17']);
    await store.saveMatrices();
    await store.delete('g', 'h17');
    assert.deepEqual(await kept(dir), []);
    await store.saveMatrices();
    await store.save('g', { ...photo(1), faces: [] });
    assert.deepEqual(await kept(dir), [], 'a record saved over is an erasure too');
    assert.deepEqual(await near(new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) })), []);
  });

  it('GIVEN another process files the same photo between the check and the save THEN the save is an erasure after all: the file that held the old faces goes', async () => {
    const { db, dir } = await library();
    const snapshots = new MatrixSnapshots(dir);
    await keptAfter(db, dir, [1]);
    // The interleaving, held in place: the save's first question (is h5 stored?) is answered no,
    // then, before its transaction, another process files h5 and a third loads and keeps the matrix.
    let race: (() => Promise<void>) | undefined = async () => {
      await new SqlPhotoStore(db).save('g', photo(5));
      const third = new SqlPhotoStore(db, { snapshots });
      assert.deepEqual(await third.near('g', [unit(5)], 0.5, E).then((f) => f.map((x) => x.photoHash)), ['h5']);
      await third.saveMatrices();
      assert.equal((await kept(dir)).length, 1, 'a file holding the faces about to be replaced');
    };
    const held = new Proxy(db, {
      get(target, property) {
        if (property === 'transaction')
          return () => ({
            execute: async <T>(work: Parameters<ReturnType<typeof target.transaction>['execute']>[0]) => {
              const now = race;
              race = undefined;
              await now?.();
              return target.transaction().execute(work) as Promise<T>;
            },
          });
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const saving = new SqlPhotoStore(held, { snapshots });
    await saving.save('g', { ...photo(5), faces: [{ ...photo(5).faces[0]!, embedding: unit(6) }] });
    assert.equal(race, undefined, 'the other process filed h5 in between');
    assert.deepEqual(await kept(dir), [], 'no kept file holds the faces it replaced');
    const started = new SqlPhotoStore(db, { snapshots });
    assert.deepEqual(await started.near('g', [unit(5)], 0.5, E), []);
    assert.deepEqual(
      (await started.near('g', [unit(6)], 0.5, E)).map((f) => f.photoHash),
      ['h5'],
    );
  });

  it('GIVEN a write by another process after the matrix was saved THEN the next start brings the file up to date from the log', async () => {
    const { db, queries, dir } = await library();
    const snapshots = new MatrixSnapshots(dir);
    await keptAfter(db, dir, [1]);
    await new SqlPhotoStore(db).save('g', photo(25));
    queries.length = 0;
    assert.deepEqual(await near(new SqlPhotoStore(db, { snapshots })), ['h1', 'h25']);
    assert.equal(readsEveryFace(queries), false, queries.join('\n'));
  });

  it('GIVEN an erasure by a process without the folder after the matrix was saved THEN the next start does not trust the file, and deletes it', async () => {
    const { db, queries, dir } = await library();
    await keptAfter(db, dir, [1, 9]);
    await new SqlPhotoStore(db).writeMany('g', { erase: [{ photoHash: 'h9', faceIndex: 0 }] });
    queries.length = 0;
    const started = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    assert.deepEqual(await near(started), ['h1']);
    assert.equal(readsEveryFace(queries), true);
    await started.saveMatrices();
    const files = await kept(dir);
    assert.equal(files.length, 1, 'a new file, of the store as it is');
  });

  it('GIVEN a file the database did not mark last (a database restored from a backup) THEN it is not used, and is deleted', async () => {
    const { db, queries, dir } = await library();
    await keptAfter(db, dir, [1, 9]);
    await db.updateTable('face_versions').set({ kept: 'the mark of an older file' }).execute();
    queries.length = 0;
    assert.deepEqual(await near(new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) })), ['h1', 'h9']);
    assert.equal(readsEveryFace(queries), true);
  });

  it('GIVEN a store another process wrote behind THEN near brings its matrix up to date from the log, not every face', async () => {
    const { db, queries } = await library();
    const mine = new SqlPhotoStore(db);
    for (const n of [1, 2]) await mine.save('g', photo(n));
    assert.deepEqual(await near(mine), ['h1']);
    const other = new SqlPhotoStore(db);
    await other.save('g', photo(9));
    await other.assign('g', [{ photoHash: 'h1', faceIndex: 0, personId: 'p1' }]);
    queries.length = 0;
    const found = await mine.near('g', [unit(1)], 0.5, E);
    assert.deepEqual(found.map((f) => [f.photoHash, f.personId]).sort(), [
      ['h1', 'p1'],
      ['h9', undefined],
    ]);
    assert.equal(readsEveryFace(queries), false, queries.join('\n'));
  });

  it('GIVEN more groups than the memory budget holds WHEN an evicted group is asked again THEN its matrix comes from its kept file and the log, not every face', async () => {
    const { db, queries, dir } = await library();
    // A budget of one byte: one matrix held at a time.
    const store = new SqlPhotoStore(db, { matrixBudgetBytes: 1, snapshots: new MatrixSnapshots(dir) });
    for (const n of [1, 2, 9]) await store.save('g', photo(n));
    await store.save('h', photo(1));
    assert.deepEqual(await near(store), ['h1', 'h9']);
    await store.near('h', [unit(1)], 0.5, E);
    assert.deepEqual(store.heldMatrices(), ['h'], 'g was evicted');
    // Written while evicted: the log has it.
    await store.save('g', photo(17));
    await store.saveMatrices();
    queries.length = 0;
    assert.deepEqual(await near(store), ['h1', 'h17', 'h9']);
    assert.equal(readsEveryFace(queries), false, queries.join('\n'));
    assert.equal(readsSomeFaces(queries), true, 'the photo written while evicted, from the log');
    assert.deepEqual(store.heldMatrices(), ['g']);
  });

  it('GIVEN matrices kept for two groups and a budget for one WHEN the next start warms THEN it holds the newest, and its first near reads neither rows nor file', async () => {
    const { db, queries, dir } = await library();
    const before = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    for (const n of [1, 2, 9]) {
      await before.save('g', photo(n));
      await before.save('h', photo(n + 8));
    }
    await near(before);
    await before.saveMatrices();
    // h's file written after g's: the group used last before the stop.
    await before.near('h', [unit(1)], 0.5, E);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await before.saveMatrices();
    const started = new SqlPhotoStore(db, { matrixBudgetBytes: 1, snapshots: new MatrixSnapshots(dir) });
    assert.deepEqual(await started.warm(), ['h']);
    // Neither the rows nor the file are read again: the matrix is held.
    await rm(dir, { recursive: true });
    queries.length = 0;
    assert.deepEqual((await started.near('h', [unit(1)], 0.5, E)).map((f) => f.photoHash).sort(), ['h17', 'h9']);
    assert.deepEqual(facesRead(queries), [], queries.join('\n'));
  });

  it('GIVEN a start that is still reading the kept matrix WHEN a command asks for it THEN the command waits for that read instead of reading every face', async () => {
    const { db, queries, dir } = await library();
    await keptAfter(db, dir, [1, 2, 9]);
    const started = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    queries.length = 0;
    const [warmed, found] = await Promise.all([started.warm(), near(started)]);
    assert.deepEqual(warmed, ['g']);
    assert.deepEqual(found, ['h1', 'h9']);
    assert.deepEqual(facesRead(queries), [], queries.join('\n'));
  });

  it('GIVEN no kept file, or one out of date THEN warming holds nothing and the first near reads the store as before', async () => {
    const { db, dir } = await library();
    const seeding = new SqlPhotoStore(db);
    for (const n of [1, 9]) await seeding.save('g', photo(n));
    assert.deepEqual(await new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) }).warm(), []);
    assert.deepEqual(await new SqlPhotoStore(db).warm(), [], 'a store that keeps no files');
    await keptAfter(db, dir, [1, 9]);
    // Erased since, by a process without the folder: the file may hold the erased embedding.
    await seeding.writeMany('g', { erase: [{ photoHash: 'h9', faceIndex: 0 }] });
    const started = new SqlPhotoStore(db, { snapshots: new MatrixSnapshots(dir) });
    assert.deepEqual(await started.warm(), []);
    assert.deepEqual(await near(started), ['h1']);
  });
});

const OPEN_WRITE_CLOSE = `
import { openLibraryDatabase } from ${JSON.stringify(new URL('../../src/storage/sql/index.ts', import.meta.url).href)};
import { sql } from 'kysely';
const db = await openLibraryDatabase({ dataDir: process.argv[1] });
await sql\`insert into settings (group_id, threshold, reply_mode) values ('g', 0.9, 'silent')\`.execute(db.db);
await db.close();
process.stdout.write('closed\\n');
`;

/** Holds a read transaction on the database at argv[1] until stdin ends; says "ready" once it holds it. */
const HOLD_SNAPSHOT = `
const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.exec('begin');
db.prepare('select count(*) from photos').get();
process.stdout.write('ready\\n');
process.stdin.resume();
process.stdin.on('end', () => { db.exec('commit'); db.close(); process.exit(0); });
`;
