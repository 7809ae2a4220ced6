import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../src/core/index.ts';
import { PhotoLibrary } from '../../src/core/library/index.ts';
import type { Cluster, ClusterInput, FaceClusterer } from '../../src/core/index.ts';
import { WorkerFaceClusterer } from '../../src/clustering/index.ts';
import { FAKE_DEFAULTS, fakeLibrary, post, type FakeLibrary, type Post } from '../fakes/fake-library.ts';
import { FakeImageDecoder } from '../fakes/fake-image-decoder.ts';
import { around, random } from '../helpers/synthetic-faces.ts';

const G = 'tg:-100';
const [ANNA, STRANGER, PASSER_BY] = [1, 7, 8];

async function posted(t: FakeLibrary, ...photos: Post[]): Promise<void> {
  for (const p of photos) assert.notEqual((await t.library.ingest(G, { bytes: p.bytes })).kind, 'undecodable');
}

describe('PhotoLibrary.unknownClusters (fakes)', () => {
  it('GIVEN a stranger in two photos THEN no cluster yet; in a third THEN one cluster of three photos, shown on a sheet', async () => {
    const t = fakeLibrary();
    await posted(t, await post([STRANGER], 100), await post([ANNA, STRANGER], 110));
    const early = await t.library.unknownClusters(G);
    assert.deepEqual(early, { clusters: [], minPhotos: 3 });
    await posted(t, await post([STRANGER, PASSER_BY], 120));
    const result = await t.library.unknownClusters(G);
    assert.equal(result.clusters.length, 1);
    assert.equal(result.clusters[0]?.photos, 3);
    assert.equal(result.clusters[0].id, 1);
    assert.ok(result.sheet);
    assert.deepEqual(t.renderer.sheets.at(-1)?.labels, ['1']);
    assert.equal((await t.library.stats(G)).unknownClusters, 1);
  });

  it('GIVEN a face twice in one photo and once in another THEN it counts as two photos: faces of one photo never join', async () => {
    const t = fakeLibrary();
    await posted(t, await post([STRANGER, STRANGER, STRANGER], 100), await post([STRANGER], 110));
    assert.deepEqual((await t.library.unknownClusters(G)).clusters, []);
  });

  it('GIVEN 2,000 newer strangers THEN the stranger of the three oldest photos is still found: no cap on faces', async () => {
    const t = fakeLibrary();
    const next = random(9);
    const face = (embedding: Float32Array, seenAt: string) => ({
      box: { x: 0, y: 0, width: 10, height: 10 },
      score: 1,
      eyeDistance: 20,
      embedding,
      embedder: t.engine.info.embedder,
      seenAt,
    });
    const stranger = around(new Float32Array(128), 1, next);
    const save = (hash: string, embedding: Float32Array, seenAt: string) =>
      t.photos.save(G, { hash, ext: 'jpg', bytes: 1, postedAt: seenAt, faces: [face(embedding, seenAt)] });
    const old = [0, 1, 2].map((i) => sha256Hex(`old${i}`));
    for (const [i, hash] of old.entries()) {
      await save(hash, around(stranger, 0.01, next), `2025-01-0${i + 1}T00:00:00Z`);
      await t.albums.storeOriginal(G, { hash, ext: 'jpg', date: `2025-01-0${i + 1}T00:00:00Z` }, Uint8Array.of(1));
    }
    for (let i = 0; i < 2000; i++) await save(sha256Hex(`new${i}`), around(new Float32Array(128), 1, next), '2025-06-01T00:00:00Z');
    const { clusters } = await t.library.unknownClusters(G);
    assert.deepEqual(
      clusters.map((c) => c.faces.map((f) => f.photoHash).sort()),
      [old.sort()],
    );
  });

  it('GIVEN a clusterer in the dependencies THEN /unknown clusters with it, and a worker finds what in-process does', async () => {
    const t = fakeLibrary();
    await posted(t, await post([STRANGER], 100), await post([ANNA, STRANGER], 110), await post([STRANGER, PASSER_BY], 120));
    const worker = new WorkerFaceClusterer({ threads: 2 });
    const calls: number[] = [];
    const spy: FaceClusterer = {
      cluster<K>(inputs: readonly ClusterInput<K>[], threshold: number, minPhotos: number): Promise<Cluster<K>[]> {
        calls.push(inputs.length);
        return worker.cluster(inputs, threshold, minPhotos);
      },
    };
    try {
      const { engine, gallery, photos, settings, albums, renderer } = t;
      const library = new PhotoLibrary({
        engine,
        decoder: new FakeImageDecoder(),
        gallery,
        photos,
        settings,
        albums,
        renderer,
        defaults: FAKE_DEFAULTS,
        clusterer: spy,
      });
      const inWorker = await library.unknownClusters(G);
      assert.deepEqual(calls, [5]);
      assert.deepEqual(inWorker.clusters, (await t.library.unknownClusters(G)).clusters);
      assert.equal(inWorker.clusters[0]?.photos, 3);
    } finally {
      await worker.close();
    }
  });

  it('GIVEN recognised faces THEN they are never clustered', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 90)).bytes } });
    await posted(t, await post([ANNA], 100), await post([ANNA], 110), await post([ANNA], 120));
    assert.deepEqual((await t.library.unknownClusters(G)).clusters, []);
  });
});

describe('PhotoLibrary.nameCluster (fakes)', () => {
  async function clustered(): Promise<FakeLibrary & { stranger: Post[]; others: Post[] }> {
    const t = fakeLibrary();
    const stranger = [await post([STRANGER], 100), await post([ANNA, STRANGER], 110), await post([STRANGER, PASSER_BY], 120)];
    const others = [await post([PASSER_BY], 130), await post([ANNA], 140)];
    await posted(t, ...stranger, ...others);
    assert.equal((await t.library.unknownClusters(G)).clusters.length, 1);
    return { ...t, stranger, others };
  }

  it('GIVEN a cluster WHEN it is named THEN a new person whose album holds exactly its photos', async () => {
    const t = await clustered();
    const result = await t.library.nameCluster(G, 1, 'Dana', { userId: 'u5', admin: false });
    assert.ok(result.kind === 'named');
    assert.equal(result.newPerson, true);
    assert.equal(result.filed, 3);
    assert.deepEqual(await t.albumOf(G, 'Dana'), t.stranger.map((p) => p.hash).sort());
    const [dana] = await t.gallery.list(G);
    assert.equal(dana?.samples.length, 3);
    assert.ok(dana.samples.every((s) => s.addedBy === 'u5'));
  });

  it('THEN her later photos are filed too, and the numbers are spent: naming again is an unknown cluster', async () => {
    const t = await clustered();
    await t.library.nameCluster(G, 1, 'Dana');
    const later = await t.library.ingest(G, { bytes: (await post([PASSER_BY, STRANGER], 150)).bytes });
    assert.ok(later.kind === 'filed');
    assert.deepEqual(
      later.people.map((p) => p.name),
      ['Dana'],
    );
    assert.deepEqual(await t.library.nameCluster(G, 1, 'Dana'), { kind: 'unknown-cluster', clusters: [] });
  });

  it("GIVEN an existing person's name THEN the cluster adds to them", async () => {
    const t = await clustered();
    await t.library.enroll(G, { name: 'Dana', photo: { bytes: (await post([{ identity: STRANGER, look: 'far' }], 90)).bytes } });
    // Enrolling re-files, but the far-off sample files none of the cluster's photos: it is still there.
    assert.equal((await t.library.unknownClusters(G)).clusters.length, 1);
    const result = await t.library.nameCluster(G, 1, 'dana');
    assert.ok(result.kind === 'named');
    assert.equal(result.newPerson, false);
    assert.equal((await t.library.people(G)).length, 1);
  });

  it('GIVEN a bad name or number THEN each is answered as such', async () => {
    const t = await clustered();
    assert.deepEqual(await t.library.nameCluster(G, 1, '   '), { kind: 'invalid-name', reason: 'empty' });
    assert.deepEqual(await t.library.nameCluster(G, 9, 'Dana'), { kind: 'unknown-cluster', clusters: [1] });
  });
});
