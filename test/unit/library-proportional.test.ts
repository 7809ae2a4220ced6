import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRefile } from '../../src/core/library/refile.ts';
import { fakeLibrary, post, type FakeLibrary } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const [ANNA, BEN] = [1, 2];

/** Counts what the library reads from the photo store, by method, and which photos it loads. */
function watchReads(t: FakeLibrary): { lists: () => number; loaded: () => string[]; reset: () => void } {
  let lists = 0;
  let loaded: string[] = [];
  const store = t.photos;
  const list = store.list.bind(store),
    getMany = store.getMany.bind(store),
    get = store.get.bind(store);
  store.list = (group) => {
    lists++;
    return list(group);
  };
  store.getMany = (group, hashes) => {
    loaded.push(...hashes);
    return getMany(group, hashes);
  };
  store.get = (group, hash) => {
    loaded.push(hash);
    return get(group, hash);
  };
  return { lists: () => lists, loaded: () => [...new Set(loaded)].sort(), reset: () => ((lists = 0), (loaded = [])) };
}

/** The albums agree with deciding every photo again from scratch: a scoped re-file missed nothing. */
async function assertSettled(t: FakeLibrary): Promise<void> {
  const { threshold } = await t.library.settings(G);
  const changes = planRefile(await t.photos.list(G), await t.gallery.list(G), { threshold, margin: 0.02, embedder: t.engine.info.embedder });
  assert.deepEqual(
    changes.map((c) => c.after.hash),
    [],
    'a full re-file would still change these photos',
  );
}

/** Anna enrolled; 40 photos of strangers; Ben in two photos before he enrols; Anna in changed looks. */
async function group(): Promise<FakeLibrary & { bens: string[]; changedAnna: string[]; strangers: string[] }> {
  const t = fakeLibrary();
  await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
  const strangers: string[] = [];
  for (let i = 0; i < 40; i++) {
    const p = await post([10 + i, ANNA], 101 + (i % 50));
    strangers.push(p.hash);
    await t.library.ingest(G, { bytes: p.bytes });
  }
  const bens = [await post([BEN], 160), await post([BEN, ANNA], 161)];
  const changedAnna = [await post([{ identity: ANNA, look: 'changed' }], 165)];
  for (const p of [...bens, ...changedAnna]) await t.library.ingest(G, { bytes: p.bytes });
  return { ...t, bens: bens.map((p) => p.hash), changedAnna: changedAnna.map((p) => p.hash), strangers };
}

describe('PhotoLibrary does work in proportion to the change (fakes)', () => {
  it('WHEN Ben enrols THEN only his photos and the enrolment photo are loaded, never the whole group, and the albums are settled', async () => {
    const t = await group();
    const reads = watchReads(t);
    const enrolment = await post([BEN], 185);
    const result = await t.library.enroll(G, { name: 'Ben', photo: { bytes: enrolment.bytes } });
    assert.equal(result.kind, 'enrolled');
    assert.equal(reads.lists(), 0);
    assert.deepEqual(reads.loaded(), [...t.bens, enrolment.hash].sort());
    assert.deepEqual(await t.albumOf(G, 'Ben'), [...t.bens, enrolment.hash].sort());
    await assertSettled(t);
  });

  it('WHEN the threshold moves THEN only photos with a face between the old and new value are loaded', async () => {
    const t = await group();
    const reads = watchReads(t);
    const result = await t.library.setThreshold(G, 0.88);
    assert.equal(result.kind === 'set' && result.filed, 1);
    assert.equal(reads.lists(), 0);
    assert.deepEqual(reads.loaded(), t.changedAnna);
    await assertSettled(t);
    reads.reset();
    await t.library.setThreshold(G, 0.93);
    assert.deepEqual(reads.loaded(), t.changedAnna);
    await assertSettled(t);
  });

  it('WHEN a photo is "not Anna" THEN only that photo and the ones near the samples taken away are loaded', async () => {
    const t = await group();
    const reads = watchReads(t);
    const result = await t.library.notThis(G, 'Anna', { hash: t.strangers[3]! });
    assert.equal(result.kind, 'removed');
    assert.equal(reads.lists(), 0);
    assert.deepEqual(reads.loaded(), [t.strangers[3]!]);
    await assertSettled(t);
  });

  it('WHEN Ben is forgotten THEN only his album is loaded, and /people and /stats read counts, not records', async () => {
    const t = await group();
    await t.library.enroll(G, { name: 'Ben', photo: { hash: t.bens[0]! } });
    const reads = watchReads(t);
    const people = await t.library.people(G);
    assert.deepEqual(
      people.map((p) => [p.name, p.photos]),
      [
        ['Anna', 42],
        ['Ben', 2],
      ],
    );
    const stats = await t.library.stats(G);
    assert.equal(stats.photos, 44);
    assert.equal(reads.lists(), 0);
    assert.deepEqual(reads.loaded(), []);
    const forgotten = await t.library.forget(G, { name: 'Ben' });
    assert.equal(forgotten.kind, 'forgotten');
    assert.equal(reads.lists(), 0);
    assert.deepEqual(reads.loaded(), [...t.bens].sort());
    await assertSettled(t);
  });
});
