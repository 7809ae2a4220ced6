import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeLibrary, post } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const [ANNA, BEN, CLEO] = [1, 2, 3];

describe('PhotoLibrary.enroll (fakes)', () => {
  it('GIVEN a photo of one face THEN a new person with one sample, and the photo filed under them', async () => {
    const t = fakeLibrary();
    const photo = await post([ANNA]);
    const result = await t.library.enroll(G, { name: '  Anna  ', photo: { bytes: photo.bytes }, by: 'u7' });
    assert.ok(result.kind === 'enrolled');
    assert.equal(result.person.name, 'Anna');
    assert.equal(result.newPerson, true);
    assert.equal(result.samples, 1);
    assert.equal(result.refiled, 0, 'earlier photos only: the enrolment photo is filed, not counted');
    assert.deepEqual(await t.albumOf(G, 'anna'), [photo.hash]);
    const [anna] = await t.gallery.list(G);
    assert.equal(anna?.samples[0]?.addedBy, 'u7');
    assert.equal(anna.samples[0].photoHash, photo.hash);
  });

  it('GIVEN a second photo of the same person THEN a second sample, not a second person', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes } });
    const result = await t.library.enroll(G, { name: 'ANNA', photo: { bytes: (await post([{ identity: ANNA, look: 'changed' }], 110)).bytes } });
    assert.ok(result.kind === 'enrolled');
    assert.equal(result.newPerson, false);
    assert.equal(result.samples, 2);
    assert.equal((await t.library.people(G)).length, 1);
  });

  it('GIVEN a photo with several faces THEN it asks which, with a numbered sheet left to right, and enrols none', async () => {
    const t = fakeLibrary();
    const photo = await post([BEN, ANNA, CLEO]);
    const ask = await t.library.enroll(G, { name: 'Anna', photo: { bytes: photo.bytes } });
    assert.ok(ask.kind === 'choose-face');
    assert.equal(ask.faces, 3);
    assert.equal(ask.hash, photo.hash);
    const [sheet] = t.renderer.sheets;
    assert.deepEqual(sheet?.labels, ['1', '2', '3']);
    assert.deepEqual(
      sheet.boxes.map((b) => b.x),
      [20, 100, 180],
    );
    assert.deepEqual(await t.library.people(G), []);
  });

  it('GIVEN a photo of a big stranger and a small Anna WHEN Anna, enrolled, is enrolled from it THEN her face is offered first, and `likely` takes it', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes } });
    const photo = await post([
      { identity: BEN, size: 64 },
      { identity: ANNA, size: 40 },
    ]);
    const ask = await t.library.enroll(G, { name: 'Anna', photo: { bytes: photo.bytes } });
    assert.ok(ask.kind === 'choose-face');
    assert.equal(ask.likely, 2, 'the face that agrees with her sample, not the biggest');
    const taken = await t.library.enroll(G, { name: 'Anna', photo: { hash: photo.hash }, face: 'likely' });
    assert.ok(taken.kind === 'enrolled');
    assert.equal(taken.samples, 2);
    // Someone new has nothing to agree with: the clearly biggest face is the likely one.
    const cleo = await t.library.enroll(G, { name: 'Cleo', photo: { hash: photo.hash } });
    assert.ok(cleo.kind === 'choose-face');
    assert.equal(cleo.likely, 1);
  });

  it('GIVEN the asked-for number THEN that face is enrolled, and Anna is found in her other photos', async () => {
    const t = fakeLibrary();
    const photo = await post([BEN, ANNA, CLEO]);
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: photo.bytes } });
    assert.deepEqual(await t.library.enroll(G, { name: 'Anna', photo: { hash: photo.hash }, face: 4 }), { kind: 'no-such-face', faces: 3 });
    const done = await t.library.enroll(G, { name: 'Anna', photo: { hash: photo.hash }, face: 2 });
    assert.equal(done.kind, 'enrolled');
    const alone = await t.library.ingest(G, { bytes: (await post([ANNA], 120)).bytes });
    assert.ok(alone.kind === 'filed');
    assert.deepEqual(
      alone.people.map((p) => p.name),
      ['Anna'],
    );
    const other = await t.library.ingest(G, { bytes: (await post([BEN], 120)).bytes });
    assert.ok(other.kind === 'filed');
    assert.deepEqual(other.people, []);
  });

  it('GIVEN photos posted first WHEN Anna is enrolled THEN her earlier photos are filed and counted, and only those', async () => {
    const t = fakeLibrary();
    const hers = [await post([ANNA, BEN], 100), await post([CLEO, ANNA], 110), await post([{ identity: ANNA, look: 'changed' }], 120)];
    const others = [await post([BEN], 130), await post([CLEO], 140)];
    for (const p of [...hers, ...others]) await t.library.ingest(G, { bytes: p.bytes });
    const result = await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 150)).bytes } });
    assert.ok(result.kind === 'enrolled');
    // Her two clear photos (not the enrolment photo itself); the changed one is below the threshold.
    assert.equal(result.refiled, 2);
    const album = await t.albumOf(G, 'Anna');
    assert.ok(hers.slice(0, 2).every((p) => album.includes(p.hash)));
    assert.ok(others.every((p) => !album.includes(p.hash)));
    assert.ok(!album.includes(hers[2]!.hash));
  });

  it('GIVEN nothing posted before WHEN Anna enrols from a new photo, or from one already posted THEN no earlier photo is counted', async () => {
    const t = fakeLibrary();
    const first = await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
    assert.ok(first.kind === 'enrolled');
    assert.equal(first.refiled, 0);
    const posted = await post([ANNA, BEN], 110);
    const ingested = await t.library.ingest(G, { bytes: posted.bytes });
    assert.ok(ingested.kind === 'filed');
    const second = await t.library.enroll(G, { name: 'Ben', photo: { hash: posted.hash }, face: 2 });
    assert.ok(second.kind === 'enrolled', second.kind);
    assert.equal(second.refiled, 0);
    assert.ok((await t.albumOf(G, 'Ben')).includes(posted.hash));
  });

  it('GIVEN a photo with no face, or only a face too small THEN no usable face, and nobody is created', async () => {
    const t = fakeLibrary();
    assert.deepEqual(await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([])).bytes } }), { kind: 'no-usable-face', reason: 'no-face' });
    assert.deepEqual(await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([{ identity: ANNA, size: 20 }])).bytes } }), {
      kind: 'no-usable-face',
      reason: 'too-small',
    });
    assert.deepEqual(await t.library.people(G), []);
  });

  it('GIVEN a bad name, bad bytes or an unknown hash THEN each is answered as such', async () => {
    const t = fakeLibrary();
    const photo = await post([ANNA]);
    assert.deepEqual(await t.library.enroll(G, { name: ' \u0000 ', photo: { bytes: photo.bytes } }), { kind: 'invalid-name', reason: 'empty' });
    assert.deepEqual(await t.library.enroll(G, { name: 'x'.repeat(65), photo: { bytes: photo.bytes } }), { kind: 'invalid-name', reason: 'too-long' });
    assert.equal((await t.library.enroll(G, { name: 'Anna', photo: { bytes: Buffer.from('nope') } })).kind, 'undecodable');
    assert.deepEqual(await t.library.enroll(G, { name: 'Anna', photo: { hash: 'f'.repeat(64) } }), { kind: 'unknown-photo' });
  });

  it('GIVEN two names that make the same folder THEN each person gets an album folder of their own', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna/B', photo: { bytes: (await post([ANNA])).bytes } });
    await t.library.enroll(G, { name: 'Anna:B', photo: { bytes: (await post([BEN])).bytes } });
    const folders = (await t.gallery.list(G)).map((p) => p.folder);
    assert.equal(new Set(folders).size, 2);
    assert.equal((await t.albumOf(G, 'Anna/B')).length, 1);
    assert.equal((await t.albumOf(G, 'Anna:B')).length, 1);
  });
});
