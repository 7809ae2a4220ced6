import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeLibrary, post, type FakeLibrary, type Post } from '../fakes/fake-library.ts';

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
    assert.deepEqual(later.people.map((p) => p.name), ['Dana']);
    assert.deepEqual(await t.library.nameCluster(G, 1, 'Dana'), { kind: 'unknown-cluster', clusters: [] });
  });

  it('GIVEN an existing person\'s name THEN the cluster adds to them', async () => {
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
