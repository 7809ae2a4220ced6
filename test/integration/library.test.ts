import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { GroupId } from '../../src/core/index.ts';
import { similarity, sha256Hex } from '../../src/core/index.ts';
import type { EnrollResult, IngestResult } from '../../src/core/library/index.ts';
import { SharpImageDecoder } from '../../src/imaging/index.ts';
import { MeshFaceEngine, DEFAULT_THRESHOLD } from '../../src/recognition/index.ts';
import { encodeEmbedding } from '../../src/storage/index.ts';
import { MatrixSnapshots, SqlGalleryStore, SqlPhotoStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { KNOWN_MISSES, NO_DATASETS, POSTS, readLabels, shouldBeFiled, type PostLabel } from '../helpers/datasets.ts';
import { ENGINE_OPTIONS } from '../helpers/engine.ts';
import { MemoFaceEngine } from '../helpers/memo-engine.ts';
import { openTestLibrary, references, type TestLibrary } from '../helpers/library.ts';
import { readZip } from '../helpers/zip.ts';

// What only the real models, photos, SQLite and files can show: real photos filed as labels.json
// says, real faces numbered and clustered, and forgetting down to the database file. The library's
// rules (duplicates, thresholds, not-this, retention, isolation, ...) are tested on fakes in
// test/unit/library-*.test.ts, in milliseconds.

const A: GroupId = 'tg:-1001';
const B: GroupId = 'dc:2002';

describe('PhotoLibrary on real models, photos, SQLite and files', { skip: NO_DATASETS }, () => {
  let engine: MemoFaceEngine;
  let labels: Record<string, PostLabel>;
  let posts: { file: string; bytes: Buffer; hash: string }[];

  before(async () => {
    engine = new MemoFaceEngine(await MeshFaceEngine.create(ENGINE_OPTIONS));
    labels = await readLabels();
    posts = await Promise.all(
      Object.keys(labels).map(async (file) => {
        const bytes = await readFile(path.join(POSTS, file));
        return { file, bytes, hash: sha256Hex(bytes) };
      }),
    );
  });
  after(async () => {
    await engine.close();
  });

  async function enrollReferences(t: TestLibrary, group: GroupId, only?: readonly string[]): Promise<EnrollResult[]> {
    const results: EnrollResult[] = [];
    for (const ref of await references()) {
      if (only && !only.includes(ref.person)) continue;
      results.push(await t.library.enroll(group, { name: ref.person, photo: { bytes: ref.bytes, originalName: ref.file } }));
    }
    return results;
  }

  async function albumHashes(t: TestLibrary, group: GroupId, name: string): Promise<Set<string>> {
    const album = await t.library.album(group, name);
    return new Set(album.kind === 'album-photos' ? album.entries.map((e) => e.hash) : []);
  }

  describe('GIVEN the references enrolled and then every post posted', () => {
    let t: TestLibrary;
    let enrolled: EnrollResult[];
    const ingested = new Map<string, IngestResult>();

    before(async () => {
      t = await openTestLibrary(engine);
      enrolled = await enrollReferences(t, A);
      for (const post of posts) ingested.set(post.file, await t.library.ingest(A, { bytes: post.bytes, originalName: post.file }));
    });
    after(() => t.close());

    it('THEN every reference photo was enrolled as one face', () => {
      const failed = enrolled.filter((r) => r.kind !== 'enrolled');
      assert.deepEqual(failed, []);
    });

    it('THEN each post is filed under exactly the people labels.json lists', async () => {
      for (const post of posts) {
        const result = ingested.get(post.file)!;
        assert.equal(result.kind, 'filed', post.file);
        const maybe = KNOWN_MISSES[post.file] ?? [];
        const named = result.people.map((p) => p.name).filter((name) => !maybe.includes(name));
        assert.deepEqual(named.sort(), labels[post.file]!.people.filter((name) => !maybe.includes(name)).sort(), post.file);
      }
      for (const person of new Set(enrolled.flatMap((r) => (r.kind === 'enrolled' ? [r.person.name] : [])))) {
        const album = await albumHashes(t, A, person);
        for (const post of posts) {
          const want = shouldBeFiled(labels, post.file, person);
          if (want !== undefined) assert.equal(album.has(post.hash), want, `${post.file} in ${person}'s album`);
        }
      }
    });

    it('THEN the album comes back as zip parts under the limit that unzip to the album', async () => {
      const limit = 600_000;
      const result = await t.library.album(A, 'obama', limit);
      assert.equal(result.kind, 'album');
      try {
        const names: string[] = [];
        let parts = 0;
        for await (const part of result.export.parts) {
          parts++;
          assert.ok((await stat(part.path)).size <= limit, `${part.fileName} is ${part.bytes} bytes`);
          for (const entry of await readZip(part.path)) {
            names.push(entry.name);
            assert.equal(entry.method, 0);
          }
        }
        const listed = await t.library.album(A, 'obama');
        assert.equal(listed.kind, 'album-photos');
        const expected = listed.entries
          .filter((e) => !result.export.tooLarge.some((big) => big.name === e.name))
          .map((e) => e.name)
          .sort();
        assert.deepEqual(names.sort(), expected);
        assert.ok(parts >= 2, `${parts} parts`);
      } finally {
        await result.export.dispose();
      }
    });
  });

  it('GIVEN posts first WHEN obama is enrolled later THEN his earlier photos are filed and counted', async () => {
    const t = await openTestLibrary(engine);
    try {
      for (const post of posts) await t.library.ingest(A, { bytes: post.bytes });
      const results = await enrollReferences(t, A, ['obama']);
      const refiled = results.reduce((n, r) => n + (r.kind === 'enrolled' ? r.refiled : 0), 0);
      const obamaPosts = posts.filter((p) => labels[p.file]!.people.includes('obama'));
      const album = await albumHashes(t, A, 'obama');
      for (const post of posts) assert.equal(album.has(post.hash), labels[post.file]!.people.includes('obama'), post.file);
      assert.ok(refiled >= obamaPosts.length, `refiled ${refiled}`);
    } finally {
      await t.close();
    }
  });

  it('GIVEN a photo of six WHEN enrolling from it THEN the bot asks which face, and the chosen face is the one enrolled', async () => {
    const t = await openTestLibrary(engine);
    try {
      const bbt4 = posts.find((p) => p.file === 'bbt4.jpg')!;
      const ask = await t.library.enroll(A, { name: 'Amy', photo: { bytes: bbt4.bytes } });
      assert.equal(ask.kind, 'choose-face');
      assert.equal(ask.faces, 6);
      const sheet = await sharp(ask.sheet).metadata();
      assert.equal(sheet.format, 'png');
      // Which number is Amy: the face closest to her reference photo, found independently.
      const amyRef = (await references()).find((r) => r.person === 'amy' && r.file === 'amy1.png')!;
      const decoder = new SharpImageDecoder();
      const decoded = async (bytes: Buffer) => {
        const r = await decoder.decode(bytes);
        assert.ok(r.ok);
        return r.image;
      };
      const amyEmbedding = (await engine.detect(await decoded(amyRef.bytes)))[0]!.embedding!;
      const faces = (await engine.detect(await decoded(bbt4.bytes))).filter((f) => f.embedding).sort((a, b) => a.box.x - b.box.x);
      const amyNumber = faces.map((f) => similarity(f.embedding!, amyEmbedding)).reduce((best, s, i, all) => (s > all[best]! ? i : best), 0) + 1;
      assert.equal((await t.library.enroll(A, { name: 'Amy', photo: { hash: ask.hash }, face: 9 })).kind, 'no-such-face');
      const done = await t.library.enroll(A, { name: 'Amy', photo: { hash: ask.hash }, face: amyNumber });
      assert.equal(done.kind, 'enrolled');
      const other = await t.library.ingest(A, { bytes: (await references()).find((r) => r.person === 'amy' && r.file === 'amy3.png')!.bytes });
      assert.equal(other.kind, 'filed');
      assert.deepEqual(
        other.people.map((p) => p.name),
        ['Amy'],
      );
    } finally {
      await t.close();
    }
  });

  it('GIVEN the posts and nobody enrolled WHEN the recurring stranger is named THEN his photos are filed', async () => {
    const t = await openTestLibrary(engine);
    try {
      for (const post of posts) await t.library.ingest(A, { bytes: post.bytes });
      const { clusters, sheet, minPhotos } = await t.library.unknownClusters(A);
      assert.equal(minPhotos, 3);
      assert.ok(clusters.length >= 1 && sheet);
      const obamaHashes = new Set(posts.filter((p) => labels[p.file]!.people.includes('obama')).map((p) => p.hash));
      const biggest = clusters[0]!;
      const inCluster = new Set(biggest.faces.map((f) => f.photoHash));
      assert.ok(
        [...inCluster].every((h) => obamaHashes.has(h)),
        'the largest cluster is all obama',
      );
      const named = await t.library.nameCluster(A, biggest.id, 'Barack Obama');
      assert.equal(named.kind, 'named');
      const album = await albumHashes(t, A, 'Barack Obama');
      for (const hash of inCluster) assert.ok(album.has(hash));
      for (const hash of album) assert.ok(obamaHashes.has(hash), 'no one else filed under him');
      assert.equal((await t.library.nameCluster(A, 99, 'X')).kind, 'unknown-cluster');
    } finally {
      await t.close();
    }
  });

  it('GIVEN obama enrolled and posted WHEN he is forgotten THEN no trace of him remains', async () => {
    const t = await openTestLibrary(engine);
    try {
      await enrollReferences(t, A);
      for (const post of posts) await t.library.ingest(A, { bytes: post.bytes });
      // A second connection, as another process would read the files.
      const database = await openLibraryDatabase({ dataDir: t.dir });
      const photos = new SqlPhotoStore(database.db);
      const obama = (await new SqlGalleryStore(database.db).list(A)).find((p) => p.name === 'obama')!;
      const samples = obama.samples.map((s) => s.embedding);
      const hisFaces = (await photos.list(A)).flatMap((r) => r.faces.flatMap((f) => (f.personId === obama.id && f.embedding ? [f.embedding] : [])));
      assert.ok(hisFaces.length > 0);
      // A face matrix kept in the data folder with his faces in it, as a stop (or another process's load) leaves it.
      const keeper = new SqlPhotoStore(database.db, { snapshots: new MatrixSnapshots(path.join(t.dir, 'matrices')) });
      assert.ok((await keeper.near(A, [hisFaces[0]!], 0.99, obama.samples[0]!.embedder!)).length > 0);
      await keeper.saveMatrices();
      const keptBefore = await readdir(path.join(t.dir, 'matrices'));
      assert.ok(keptBefore.length > 0, 'no matrix file was kept');
      const result = await t.library.forget(A, { name: 'Obama' });
      assert.equal(result.kind, 'forgotten');
      assert.equal((await t.library.album(A, 'obama')).kind, 'unknown-person');
      // No stored face is still him.
      for (const record of await photos.list(A)) {
        for (const face of record.faces) {
          if (!face.embedding) continue;
          for (const sample of samples) assert.ok(similarity(face.embedding, sample) < DEFAULT_THRESHOLD, `a face of ${record.hash.slice(0, 8)} is still him`);
        }
      }
      // Photos only he was in are gone; the one with biden stays in biden's album.
      const obamaOnly = posts.filter((p) => labels[p.file]!.people.join() === 'obama');
      for (const post of obamaOnly) assert.equal(await photos.get(A, post.hash), undefined, post.file);
      const both = posts.find((p) => p.file === 'obama_and_biden.jpg')!;
      assert.ok(await photos.get(A, both.hash));
      assert.ok((await albumHashes(t, A, 'biden')).has(both.hash));
      await database.close();
      // Not even in the database files' free pages: the library's (raw floats) or the face cache's (base64).
      const files = ['library.sqlite', 'library.sqlite-wal', 'facefile.sqlite'];
      const raw = Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(t.dir, f)).catch(() => Buffer.alloc(0)))));
      // Nor in a kept face matrix (raw floats).
      const matrices = await readdir(path.join(t.dir, 'matrices')).catch(() => [] as string[]);
      const kept = Buffer.concat(await Promise.all(matrices.map((f) => readFile(path.join(t.dir, 'matrices', f)))));
      for (const face of hisFaces)
        assert.equal(kept.includes(Buffer.from(face.buffer, face.byteOffset, face.byteLength)), false, 'a face of his is still in a kept matrix');
      for (const sample of samples) {
        assert.equal(raw.includes(Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength)), false, 'an embedding is still in the library file');
        assert.equal(raw.includes(encodeEmbedding(sample)), false, 'an embedding is still in the face cache');
      }
      const originals = await readdir(path.join(t.dir, 'groups'), { recursive: true });
      for (const post of obamaOnly)
        assert.equal(
          originals.some((f) => f.includes(post.hash.slice(0, 8))),
          false,
          `${post.file} still on disk`,
        );
      assert.equal((await t.library.forget(A, { userId: '42' })).kind, 'not-enrolled');
    } finally {
      await t.close();
    }
  });

  it('GIVEN hostile names THEN each person gets a safe folder inside the group and nothing is written elsewhere', async () => {
    const t = await openTestLibrary(engine);
    try {
      // A different person's face under each name, so that every one of them gets an album.
      const faces = ['obama', 'biden', 'kit_harington', 'rose_leslie', 'alex_lacamoire', 'sheldon'].map((person) =>
        references().then((all) => all.find((r) => r.person === person)!.bytes),
      );
      const names = ['../../escape', '/etc/passwd', 'a\u0000b', 'CON', '..', 'C:\\Windows'];
      for (const [i, name] of names.entries()) {
        const result = await t.library.enroll(B, { name, photo: { bytes: await faces[i]! } });
        assert.equal(result.kind, 'enrolled', JSON.stringify(name));
      }
      const everything = (await readdir(t.dir, { recursive: true })).map(String);
      assert.ok(
        // The face matrices are kept in the data folder's `matrices` as soon as they are loaded.
        everything.every((f) => f.startsWith('facefile.sqlite') || f.startsWith('library.sqlite') || f.startsWith('groups') || f.startsWith('matrices')),
        everything.join('\n'),
      );
      const albums = await readdir(path.join(t.dir, 'groups', 'dc%3A2002', 'albums'));
      assert.equal(albums.length, names.length, albums.join(', '));
      for (const album of albums) {
        assert.ok(!/[/\\\0]/.test(album) && album !== '.' && album !== '..' && album.toUpperCase() !== 'CON', album);
        assert.equal((await readdir(path.join(t.dir, 'groups', 'dc%3A2002', 'albums', album))).length, 1, album);
      }
      assert.deepEqual(await t.library.people(A), []);
    } finally {
      await t.close();
    }
  });
});
