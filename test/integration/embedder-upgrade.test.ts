import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import type { GroupId } from '../../src/core/index.ts';
import { silentLog } from '../../src/core/index.ts';
import type { PhotoLibrary } from '../../src/core/library/index.ts';
import { MeshFaceEngine } from '../../src/recognition/index.ts';
import { openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { ENGINE_OPTIONS } from '../helpers/engine.ts';
import { references } from '../helpers/library.ts';

// The upgrade a running group meets when it moves to recognition v2: a library whose faces the dlib
// embedder described is opened with the shipped embedder, with the real models on real photos.
// The rules of the re-description are tested on fakes (test/helpers/embedder-migration.ts).

const GROUP_ID: GroupId = 'tg:-1007';
const PEOPLE = ['obama', 'biden', 'kit_harington', 'rose_leslie'];
const POSTED = ['obama1.jpg', 'obama3.jpg', 'obama_and_biden.jpg', 'obama_biden_two_people.jpg', 'kit_with_rose.jpg', 'johnsnow_test1.jpg', 'bbt4.jpg'];

describe('A library described by dlib-7-flip, opened with the shipped embedder', { skip: NO_DATASETS }, () => {
  let dir: string;
  let before1: Map<string, string[]>;
  let shipped: MeshFaceEngine;

  const open = async (engine: MeshFaceEngine): Promise<{ library: PhotoLibrary; close: () => Promise<void> }> =>
    createLibrary(loadConfig({ DATA_DIR: dir }, { cwd: dir }), engine, silentLog);
  const albums = async (library: PhotoLibrary): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    for (const person of PEOPLE) {
      const album = await library.album(GROUP_ID, person);
      out.set(person, album.kind === 'album-photos' ? album.entries.map((e) => e.hash).sort() : []);
    }
    return out;
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-upgrade-'));
    const dlib = await MeshFaceEngine.create({ ...ENGINE_OPTIONS, embedder: 'dlib-7-flip' });
    try {
      const { library, close } = await open(dlib);
      try {
        for (const ref of (await references()).filter((r) => PEOPLE.includes(r.person))) {
          const result = await library.enroll(GROUP_ID, { name: ref.person, photo: { bytes: ref.bytes, originalName: ref.file } });
          assert.equal(result.kind, 'enrolled', `${ref.person}/${ref.file}`);
        }
        for (const file of POSTED) await library.ingest(GROUP_ID, { bytes: await readFile(path.join(POSTS, file)), originalName: file });
        before1 = await albums(library);
      } finally {
        await close();
      }
    } finally {
      await dlib.close();
    }
    shipped = await MeshFaceEngine.create(ENGINE_OPTIONS);
  });
  after(async () => {
    await shipped.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('WHEN re-described THEN every sample and face carries the new embedder, every album is as it was, and new posts are filed', async (t) => {
    if (shipped.info.embedder === 'dlib-7-flip@1')
      return t.skip('onnxruntime-node does not load here: the shipped embedder is the dlib one, nothing to migrate');
    assert.ok(
      [...before1.values()].every((hashes) => hashes.length > 0),
      'each person has photos before the upgrade',
    );
    const { library, close } = await open(shipped);
    try {
      const report = await library.redescribe();
      assert.equal(report.stopped, false);
      assert.deepEqual(report.samplesDropped, []);
      assert.deepEqual(report.photosFailed, []);
      assert.equal(report.facesUnpaired, 0, 'the detector is the same, so every stored face pairs with one found anew');
      assert.ok(report.samples > 0 && report.photos >= POSTED.length, JSON.stringify(report));
      assert.deepEqual(await albums(library), before1, 'names are kept');
      assert.equal((await library.redescribe()).photos, 0, 'a second run finds nothing left');

      const database = await openLibraryDatabase({ dataDir: dir });
      try {
        const embedders = async (table: 'faces' | 'samples') =>
          (await database.db.selectFrom(table).select('embedder').distinct().where('embedding', 'is not', null).execute()).map((r) => r.embedder);
        assert.deepEqual(await embedders('samples'), [shipped.info.embedder]);
        assert.deepEqual(await embedders('faces'), [shipped.info.embedder]);
      } finally {
        await database.close();
      }

      const result = await library.ingest(GROUP_ID, { bytes: await readFile(path.join(POSTS, 'obama-720p.jpg')), originalName: 'obama-720p.jpg' });
      assert.ok(result.kind === 'filed', result.kind);
      assert.deepEqual(
        result.people.map((p) => p.name),
        ['obama'],
      );
    } finally {
      await close();
    }
  });
});
