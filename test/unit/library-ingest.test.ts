import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { photoRef } from '../../src/core/library/index.ts';
import { fakeLibrary, post, type FakeLibrary } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const OTHER = 'dc:200';
const [ANNA, BEN, CLEO] = [1, 2, 3];

/** A library where Anna and Ben are enrolled from photos of their own. */
async function annaAndBen(): Promise<FakeLibrary> {
  const t = fakeLibrary();
  for (const [name, identity] of [
    ['Anna', ANNA],
    ['Ben', BEN],
  ] as const) {
    const result = await t.library.enroll(G, { name, photo: { bytes: (await post([identity], 100)).bytes } });
    assert.equal(result.kind, 'enrolled');
  }
  return t;
}

describe('PhotoLibrary.ingest (fakes)', () => {
  it('GIVEN a photo of two enrolled members and a stranger THEN it is filed under both, and the stranger is counted', async () => {
    const t = await annaAndBen();
    const photo = await post([ANNA, CLEO, BEN]);
    const result = await t.library.ingest(G, { bytes: photo.bytes });
    assert.equal(result.kind, 'filed');
    assert.deepEqual(result.people.map((p) => p.name).sort(), ['Anna', 'Ben']);
    assert.equal(result.unknownFaces, 1);
    assert.equal(result.unusableFaces, 0);
    assert.ok((await t.albumOf(G, 'Anna')).includes(photo.hash));
    assert.ok((await t.albumOf(G, 'Ben')).includes(photo.hash));
  });

  it('GIVEN photos filed, posted twice and undecodable THEN the pixels of each decoded photo are released once, after its faces are found', async () => {
    const t = await annaAndBen();
    const before = t.decoder.released;
    const photo = await post([ANNA, CLEO]);
    assert.equal((await t.library.ingest(G, { bytes: photo.bytes })).kind, 'filed');
    assert.equal((await t.library.ingest(G, { bytes: photo.bytes })).kind, 'duplicate');
    assert.equal((await t.library.ingest(G, { bytes: new Uint8Array([1, 2, 3]) })).kind, 'undecodable');
    // Released pixels are overwritten at once (the fake does what the process decoder's reuse would): the faces were found before.
    assert.equal(t.decoder.released - before, 1);
    assert.ok((await t.albumOf(G, 'Anna')).includes(photo.hash));
  });

  it('GIVEN a filed photo THEN the result explains each face: who it went to, the best and the runner-up with scores, and the threshold', async () => {
    const t = await annaAndBen();
    const result = await t.library.ingest(G, { bytes: (await post([ANNA, CLEO])).bytes });
    assert.ok(result.kind === 'filed' && result.explained);
    const [anna, stranger] = result.explained.faces;
    assert.ok(anna?.best && anna.runnerUp && stranger?.best);
    assert.equal(anna.person?.name, 'Anna');
    assert.equal(anna.best.name, 'Anna');
    assert.equal(anna.runnerUp.name, 'Ben');
    assert.ok(anna.best.similarity >= result.explained.threshold && anna.runnerUp.similarity < anna.best.similarity);
    assert.equal(stranger.person, undefined);
    assert.ok(stranger.best.similarity < result.explained.threshold, 'the stranger is below the threshold');
    assert.equal(result.explained.threshold, (await t.library.settings(G)).threshold);
  });

  it('GIVEN two faces that both look like Anna THEN the photo is in her album once, and the weaker face stays unknown', async () => {
    const t = await annaAndBen();
    const photo = await post([{ identity: ANNA, look: 'changed' }, ANNA]);
    const result = await t.library.ingest(G, { bytes: photo.bytes });
    assert.equal(result.kind, 'filed');
    assert.deepEqual(
      result.people.map((p) => p.name),
      ['Anna'],
    );
    assert.equal(result.unknownFaces, 1);
    const record = await t.photos.get(G, photo.hash);
    assert.deepEqual(
      record?.faces.map((f) => f.personId !== undefined),
      [false, true],
      'the clearer face (second) keeps the name',
    );
    assert.equal((await t.albumOf(G, 'Anna')).filter((h) => h === photo.hash).length, 1);
  });

  it('GIVEN the same photo posted twice THEN the second is a duplicate: not detected, not filed again', async () => {
    const t = await annaAndBen();
    const photo = await post([ANNA]);
    await t.library.ingest(G, { bytes: photo.bytes });
    const detections = t.engine.detections;
    const again = await t.library.ingest(G, { bytes: photo.bytes, originalName: 'copy.png' });
    assert.ok(again.kind === 'duplicate');
    assert.equal(again.hash, photo.hash);
    assert.deepEqual(
      again.people.map((p) => p.name),
      ['Anna'],
    );
    assert.equal(t.engine.detections, detections);
    assert.equal((await t.library.stats(G)).photos, 3);
  });

  it('GIVEN the same photo posted twice at once THEN the group lock files it once', async () => {
    const t = await annaAndBen();
    const photo = await post([ANNA]);
    const results = await Promise.all([t.library.ingest(G, { bytes: photo.bytes }), t.library.ingest(G, { bytes: photo.bytes })]);
    assert.deepEqual(
      results.map((r) => r.kind),
      ['filed', 'duplicate'],
    );
  });

  it('GIVEN a record whose original is gone THEN posting the photo again stores and files it anew', async () => {
    const t = await annaAndBen();
    const photo = await post([ANNA]);
    await t.library.ingest(G, { bytes: photo.bytes });
    const ref = photoRef((await t.photos.get(G, photo.hash))!);
    await t.albums.deleteOriginal(G, ref);
    const again = await t.library.ingest(G, { bytes: photo.bytes });
    assert.equal(again.kind, 'filed');
    assert.equal(await t.albums.hasOriginal(G, ref), true);
  });

  it('GIVEN bytes that are no image THEN undecodable, and nothing is stored', async () => {
    const t = await annaAndBen();
    const result = await t.library.ingest(G, { bytes: Buffer.from('not a photo at all') });
    assert.equal(result.kind, 'undecodable');
    assert.equal((await t.library.stats(G)).photos, 2);
  });

  it('GIVEN a face too small to name THEN it is counted as unusable and files nobody', async () => {
    const t = await annaAndBen();
    const result = await t.library.ingest(G, { bytes: (await post([{ identity: ANNA, size: 20 }])).bytes });
    assert.equal(result.kind, 'filed');
    assert.deepEqual(result.people, []);
    assert.equal(result.unusableFaces, 1);
    assert.equal(result.unknownFaces, 0);
  });

  it('GIVEN a photo with its poster, name and time THEN the record keeps them and the album entry is dated by the post', async () => {
    const t = await annaAndBen();
    const photo = await post([ANNA]);
    await t.library.ingest(G, {
      bytes: photo.bytes,
      postedBy: 'u1',
      originalName: 'beach.png',
      postedAt: new Date('2025-07-04T10:00:00Z'),
      source: { message: '9' },
    });
    const record = await t.photos.get(G, photo.hash);
    assert.equal(record?.postedBy, 'u1');
    assert.equal(record.originalName, 'beach.png');
    assert.deepEqual(record.source, { message: '9' });
    assert.equal(record.ext, 'fake', 'named by the format decoded, not by the file name');
    const album = await t.library.album(G, 'Anna');
    assert.ok(album.kind === 'album-photos' && album.entries.some((e) => e.name === `2025-07-04_100000_${photo.hash.slice(0, 8)}.fake`));
  });

  it('GIVEN a photo that says when it was taken THEN its album entry is dated by that, not by the post', async () => {
    const t = await annaAndBen();
    const photo = await post([ANNA], 154, '2019-12-24T18:30:00Z');
    await t.library.ingest(G, { bytes: photo.bytes, postedAt: new Date('2025-07-04T10:00:00Z') });
    assert.equal((await t.photos.get(G, photo.hash))?.takenAt, '2019-12-24T18:30:00.000Z');
    const album = await t.library.album(G, 'Anna');
    assert.ok(album.kind === 'album-photos' && album.entries.some((e) => e.name === `2019-12-24_183000_${photo.hash.slice(0, 8)}.fake`));
  });

  it('GIVEN the group lock is lost while a photo is filed THEN no record of it is committed and the filing fails', async () => {
    const lost = new Error('the connection holding the lock was lost');
    const t = fakeLibrary({}, { locks: { run: (_group, task) => task(AbortSignal.abort(lost)) } });
    const photo = await post([ANNA]);
    await assert.rejects(t.library.ingest(G, { bytes: photo.bytes }), (error: unknown) => error === lost);
    assert.equal(await t.photos.get(G, photo.hash), undefined, 'nothing acknowledged');
  });
});

describe('group isolation (fakes)', () => {
  it('GIVEN Anna enrolled in one group THEN another group recognises nobody in her photo, and has no people', async () => {
    const t = await annaAndBen();
    const photo = await post([ANNA, BEN]);
    const result = await t.library.ingest(OTHER, { bytes: photo.bytes });
    assert.equal(result.kind, 'filed');
    assert.deepEqual(result.people, []);
    assert.deepEqual(await t.library.people(OTHER), []);
    assert.equal((await t.library.album(OTHER, 'Anna')).kind, 'unknown-person');
  });

  it('GIVEN the same photo in two groups THEN each group files it on its own, and forgetting in one leaves the other', async () => {
    const t = await annaAndBen();
    await t.library.enroll(OTHER, { name: 'Anna', photo: { bytes: (await post([ANNA], 110)).bytes } });
    const photo = await post([ANNA]);
    assert.equal((await t.library.ingest(G, { bytes: photo.bytes })).kind, 'filed');
    assert.equal((await t.library.ingest(OTHER, { bytes: photo.bytes })).kind, 'filed', 'not a duplicate of the other group');
    await t.library.forget(OTHER, { name: 'Anna' });
    assert.ok((await t.albumOf(G, 'Anna')).includes(photo.hash));
    assert.equal(await t.photos.get(OTHER, photo.hash), undefined);
    assert.ok(await t.photos.get(G, photo.hash));
  });

  it('GIVEN a threshold set in one group THEN the other keeps the default', async () => {
    const t = await annaAndBen();
    await t.library.setThreshold(G, 0.85);
    assert.equal((await t.library.settings(G)).threshold, 0.85);
    assert.equal((await t.library.settings(OTHER)).threshold, 0.93);
  });
});
