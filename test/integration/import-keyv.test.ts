import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import type { GroupId, PhotoStore } from '../../src/core/index.ts';
import { StorageError, silentLog } from '../../src/core/index.ts';
import { photoRef, type PhotoLibrary } from '../../src/core/library/index.ts';
import { FsAlbumStore } from '../../src/albums/index.ts';
import { encodeEmbedding } from '../../src/storage/index.ts';
import {
  IMPORT_MARKER,
  KeyvAuditLog,
  KeyvGalleryStore,
  KeyvPhotoStore,
  KeyvSettingsStore,
  SQLITE_FILE,
  closeKeyv,
  importKeyvLibrary,
  openKeyv,
} from '../../src/storage/legacy/index.ts';
import { SqlAuditLog, SqlGalleryStore, SqlPhotoStore, SqlSettingsStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { FakeFaceEngine } from '../fakes/fake-face-engine.ts';
import { FakeImageDecoder } from '../fakes/fake-image-decoder.ts';
import { FakeRenderer, fakeLibrary, post, type FakeLibrary } from '../fakes/fake-library.ts';

const GROUPS: GroupId[] = ['tg:-100', 'dc:200'];
const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/**
 * A data folder as the keyv release left it: a library built by the library's own rules (on the
 * fakes), its records written through the keyv stores of that release into DATA_DIR/facefile.sqlite
 * and its files into the album folders. Returns the folder and the library to compare with.
 */
async function releaseFolder(): Promise<{ dir: string; source: FakeLibrary; embeddings: Float32Array[] }> {
  const source = fakeLibrary();
  for (const [g, group] of GROUPS.entries()) {
    await source.library.enroll(group, { name: 'Anna', photo: { bytes: (await post([1], 100 + g)).bytes }, by: 'u1', byName: 'Anna K' });
    await source.library.enroll(group, { name: 'Ben', photo: { bytes: (await post([2], 102 + g)).bytes }, by: 'u2' });
    for (let i = 0; i < 12; i++)
      await source.library.ingest(group, {
        bytes: (await post(i % 3 === 0 ? [1, 2] : i % 3 === 1 ? [1, 30 + i] : [{ identity: 2, look: 'changed' }], 110 + i)).bytes,
        postedBy: `u${i}`,
        originalName: `IMG_${i}.jpg`,
        source: { chatId: group, messageId: String(i) },
      });
    await source.library.setThreshold(group, 0.9, { userId: 'admin', name: 'The Admin', admin: true });
    await source.library.setReplyMode(group, 'summary');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-import-'));
  folders.push(dir);
  const keyv = openKeyv<unknown>(dir, 'library');
  const files = new FsAlbumStore(dir);
  const embeddings: Float32Array[] = [];
  try {
    const gallery = new KeyvGalleryStore(keyv),
      photos = new KeyvPhotoStore(keyv),
      settings = new KeyvSettingsStore(keyv),
      audit = new KeyvAuditLog(keyv);
    for (const group of GROUPS) {
      const people = await source.gallery.list(group);
      for (const person of people) {
        await gallery.save(group, person);
        embeddings.push(...person.samples.map((s) => s.embedding));
      }
      for (const record of await source.photos.list(group)) {
        await photos.save(group, record);
        const ref = photoRef(record);
        await files.storeOriginal(group, ref, await source.albums.readOriginal(group, ref));
        for (const face of record.faces) if (face.personId) await files.link(group, people.find((p) => p.id === face.personId)!.folder, ref);
      }
      await settings.save(group, (await source.settings.get(group))!);
      const clusters = [{ id: 1, faces: [{ photoHash: (await source.photos.list(group))[0]!.hash, faceIndex: 0 }] }];
      await source.settings.saveClusters(group, clusters);
      await settings.saveClusters(group, clusters);
      for (const entry of (await source.audit.list(group, 100)).reverse()) await audit.record(group, entry);
    }
  } finally {
    await closeKeyv(keyv);
  }
  return { dir, source, embeddings };
}

/** What a library answers about a group: everything the import must carry over. */
async function answers(library: PhotoLibrary, group: GroupId): Promise<unknown> {
  const people = await library.people(group);
  const albums: Record<string, string[]> = {};
  for (const person of people) {
    const album = await library.album(group, person.name);
    albums[person.name] = album.kind === 'album-photos' ? album.entries.map((e) => e.name).sort() : [];
  }
  const { diskBytes: _disk, ...stats } = await library.stats(group);
  return { people, albums, stats, settings: await library.settings(group), audit: await library.auditLog(group, 100) };
}

function open(dir: string) {
  return createLibrary(loadConfig({ DATA_DIR: dir }, { cwd: dir }), new FakeFaceEngine(), silentLog, {
    decoder: new FakeImageDecoder(),
    renderer: new FakeRenderer(),
  });
}

describe('importing the library from the keyv layout of the earlier release', () => {
  it('GIVEN a data folder written by the keyv release THEN the first start imports it, answers as before, and the old records are gone', async () => {
    const { dir, source, embeddings } = await releaseFolder();
    const progress: number[] = [];
    const config = loadConfig({ DATA_DIR: dir }, { cwd: dir });
    const opened = await createLibrary(config, new FakeFaceEngine(), silentLog, {
      decoder: new FakeImageDecoder(),
      renderer: new FakeRenderer(),
      onImport: (done, total) => progress.push(done / total),
    });
    try {
      for (const group of GROUPS) assert.deepEqual(await answers(opened.library, group), await answers(source.library, group), group);
      assert.equal(progress.at(-1), 1, 'progress reached the end');
      assert.equal(progress.length, 2 * 14, 'one progress step per photo');
      const marker = JSON.parse(await readFile(path.join(dir, IMPORT_MARKER), 'utf8')) as { groups: number; people: number; photos: number };
      assert.deepEqual({ ...marker, importedAt: undefined }, { groups: 2, people: 4, photos: 28, importedAt: undefined });
      // The library works on after the import: a new photo of Ben is filed.
      const filed = await opened.library.ingest(GROUPS[0]!, { bytes: (await post([2], 140)).bytes });
      assert.deepEqual(filed.kind === 'filed' && filed.people.map((p) => p.name), ['Ben']);
    } finally {
      await opened.close();
    }
    const keyv = openKeyv<unknown>(dir, 'library');
    try {
      for (const group of GROUPS) {
        assert.deepEqual(await new KeyvPhotoStore(keyv).list(group), [], 'the old photo records are deleted');
        assert.deepEqual(await new KeyvGalleryStore(keyv).list(group), [], 'the old people are deleted');
      }
    } finally {
      await closeKeyv(keyv);
    }
    const old = await readFile(path.join(dir, SQLITE_FILE));
    for (const embedding of embeddings) assert.equal(old.includes(encodeEmbedding(embedding)), false, 'a sample is still in the old file');
    // A second start imports nothing and still answers the same.
    const again = await open(dir);
    try {
      assert.deepEqual(
        (await again.library.people(GROUPS[1]!)).map((p) => [p.name, p.photos]),
        (await source.library.people(GROUPS[1]!)).map((p) => [p.name, p.photos]),
      );
    } finally {
      await again.close();
    }
  });

  it('GIVEN the import dies half way THEN the old store is untouched, and the next start imports it whole', async () => {
    const { dir, source } = await releaseFolder();
    const database = await openLibraryDatabase({ dataDir: dir });
    let saves = 0;
    const photos = new SqlPhotoStore(database.db);
    const failing: PhotoStore = Object.assign(Object.create(photos) as PhotoStore, {
      save: async (...args: Parameters<PhotoStore['save']>) => {
        if (++saves > 9) throw new StorageError('disk full', 'photos.save');
        return photos.save(...args);
      },
    });
    const target = {
      gallery: new SqlGalleryStore(database.db),
      photos: failing,
      settings: new SqlSettingsStore(database.db),
      audit: new SqlAuditLog(database.db),
    };
    const groups = await new FsAlbumStore(dir).groups();
    await assert.rejects(importKeyvLibrary({ dataDir: dir, groups, target, log: silentLog }), /disk full/);
    await database.close();
    await assert.rejects(access(path.join(dir, IMPORT_MARKER)), 'no marker after a failed import');
    const opened = await open(dir);
    try {
      for (const group of GROUPS) assert.deepEqual(await answers(opened.library, group), await answers(source.library, group), group);
    } finally {
      await opened.close();
    }
  });

  it('GIVEN a copy that does not read back the same THEN the start fails, and the old store and no marker are left', async () => {
    const { dir } = await releaseFolder();
    const database = await openLibraryDatabase({ dataDir: dir });
    const gallery = new SqlGalleryStore(database.db);
    // A store that loses a sample on the way: the verification must see it.
    const lossy = Object.assign(Object.create(gallery) as SqlGalleryStore, {
      save: (group: GroupId, person: Parameters<SqlGalleryStore['save']>[1]) => gallery.save(group, { ...person, samples: person.samples.slice(1) }),
    });
    const target = { gallery: lossy, photos: new SqlPhotoStore(database.db), settings: new SqlSettingsStore(database.db), audit: new SqlAuditLog(database.db) };
    await assert.rejects(
      importKeyvLibrary({ dataDir: dir, groups: GROUPS, target, log: silentLog }),
      (e: unknown) => e instanceof StorageError && /differs/.test(e.message),
    );
    await database.close();
    await assert.rejects(access(path.join(dir, IMPORT_MARKER)));
    const keyv = openKeyv<unknown>(dir, 'library');
    try {
      assert.equal((await new KeyvGalleryStore(keyv).list(GROUPS[0]!)).length, 2, 'the old people are still there');
    } finally {
      await closeKeyv(keyv);
    }
  });
});
