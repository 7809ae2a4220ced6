import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPersonName, confusableNames, photoRef } from '../../src/core/library/index.ts';
import { fakeLibrary, post } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const [ANNA, BEN, MALLORY, CLEO] = [1, 2, 3, 4];
const MEMBER = { userId: 'u9', admin: false };
const ADMIN = { userId: 'u0', admin: true };

/** Anna enrolled and linked to her account u1, with two more photos of her filed. */
async function annaLinked() {
  const t = fakeLibrary();
  await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes }, userId: 'u1', by: 'u1' });
  for (const size of [110, 120]) await t.library.ingest(G, { bytes: (await post([ANNA], size)).bytes });
  return t;
}

describe('PhotoLibrary: nobody takes over or erases someone else (fakes)', () => {
  it('GIVEN Anna linked WHEN a member whose display name is "Anna" says "this is me" THEN it is refused, and Anna keeps her samples and album', async () => {
    const t = await annaLinked();
    const album = await t.albumOf(G, 'Anna');
    const result = await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([MALLORY])).bytes }, userId: 'u9', by: 'u9' });
    assert.equal(result.kind, 'name-taken');
    const [anna] = await t.gallery.list(G);
    assert.equal(anna?.userId, 'u1');
    assert.equal(anna.samples.length, 1);
    assert.deepEqual(await t.albumOf(G, 'Anna'), album);
    assert.equal((await t.library.forget(G, { userId: 'u9' })).kind, 'not-enrolled');
    assert.deepEqual(await t.albumOf(G, 'Anna'), album);
  });

  it('GIVEN Anna enrolled by an admin, not linked WHEN a member called Anna says "this is me" THEN they are not attached to her', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes }, by: 'u0', byAdmin: true });
    assert.equal((await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([MALLORY])).bytes }, userId: 'u9', by: 'u9' })).kind, 'name-taken');
    assert.equal((await t.library.people(G))[0]?.linkedUser, undefined);
  });

  it('GIVEN Anna linked WHEN a member enrolls another face as "Anna" THEN it is refused; Anna herself and an admin may', async () => {
    const t = await annaLinked();
    const photo = async (size: number) => ({ bytes: (await post([ANNA], size)).bytes });
    assert.equal((await t.library.enroll(G, { name: 'anna', photo: await photo(130), by: 'u9', byAdmin: false })).kind, 'not-allowed');
    assert.equal((await t.library.enroll(G, { name: 'Anna', photo: await photo(140), by: 'u1', byAdmin: false })).kind, 'enrolled');
    assert.equal((await t.library.enroll(G, { name: 'Anna', photo: await photo(150), by: 'u0', byAdmin: true })).kind, 'enrolled');
    assert.equal((await t.gallery.list(G))[0]?.samples.length, 3);
  });

  it('GIVEN "this is me" again from the linked member under a new display name THEN their own person gets the sample', async () => {
    const t = await annaLinked();
    const result = await t.library.enroll(G, { name: 'Annie', photo: { bytes: (await post([ANNA], 130)).bytes }, userId: 'u1', by: 'u1' });
    assert.ok(result.kind === 'enrolled');
    assert.equal(result.person.name, 'Anna');
    assert.equal(result.samples, 2);
  });

  it('GIVEN Anna linked WHEN a member says a photo of her is "not Anna" THEN it is refused and the photo stays; an admin may', async () => {
    const t = await annaLinked();
    const [hash] = await t.albumOf(G, 'Anna');
    assert.equal((await t.library.notThis(G, 'Anna', { hash: hash! }, MEMBER)).kind, 'not-allowed');
    assert.ok((await t.albumOf(G, 'Anna')).includes(hash!));
    assert.equal((await t.library.notThis(G, 'Anna', { hash: hash! }, ADMIN)).kind, 'removed');
  });

  it('GIVEN Anna linked WHEN a member names a cluster of strangers "Anna" THEN it is refused; unlinked people may be named by anyone', async () => {
    const t = await annaLinked();
    for (const size of [100, 110, 120]) await t.library.ingest(G, { bytes: (await post([MALLORY], size)).bytes });
    const listed = await t.library.unknownClusters(G);
    const id = listed.clusters[0]!.id;
    assert.equal((await t.library.nameCluster(G, id, 'Anna', MEMBER)).kind, 'not-allowed');
    assert.equal((await t.gallery.list(G))[0]?.samples.length, 1);
    assert.equal((await t.library.nameCluster(G, id, 'Mallory', MEMBER)).kind, 'named');
  });

  it('GIVEN Anna WHEN someone enrolls "Anna" with a zero-width space, or with a Cyrillic А THEN it is Anna, or refused as a look-alike', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes } });
    const hidden = await t.library.enroll(G, { name: 'Anna\u200B', photo: { bytes: (await post([ANNA], 110)).bytes } });
    assert.ok(hidden.kind === 'enrolled' && !hidden.newPerson, 'the hidden character is dropped, so it is Anna');
    const cyrillic = await t.library.enroll(G, { name: '\u0410nna', photo: { bytes: (await post([BEN])).bytes } });
    assert.ok(cyrillic.kind === 'confusable-name');
    assert.equal(cyrillic.person.name, 'Anna');
    assert.equal((await t.library.people(G)).length, 1);
  });
});

describe("PhotoLibrary: a member cannot take over someone else's face, nor erase the group's photos (fakes)", () => {
  it('GIVEN Anna linked WHEN a member says a photo of her is "me" THEN it is refused; Anna keeps her album; an admin may', async () => {
    const t = await annaLinked();
    const album = await t.albumOf(G, 'Anna');
    const refused = await t.library.enroll(G, { name: 'Mallory', photo: { bytes: (await post([ANNA], 130)).bytes }, userId: 'u9', by: 'u9', byAdmin: false });
    assert.ok(refused.kind === 'someone-else', refused.kind);
    assert.equal(refused.person.name, 'Anna');
    assert.deepEqual(
      (await t.library.people(G)).map((p) => p.name),
      ['Anna'],
    );
    assert.deepEqual(await t.albumOf(G, 'Anna'), [...album, (await post([ANNA], 130)).hash].sort(), 'the photo is filed under Anna, not taken');
    const byAnna = await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 140)).bytes }, userId: 'u1', by: 'u1' });
    assert.equal(byAnna.kind, 'enrolled', 'Anna herself may');
    const byAdmin = await t.library.enroll(G, { name: 'Twin', photo: { bytes: (await post([ANNA], 150)).bytes }, by: 'u0', byAdmin: true });
    assert.equal(byAdmin.kind, 'enrolled', 'an admin may');
  });

  it('GIVEN Anna not enrolled, her photos posted by another WHEN a member enrolls her face as "me" and forgets themselves THEN every photo stays, and unknown look-alikes keep their data', async () => {
    const t = fakeLibrary();
    const photos = [];
    for (const size of [100, 110, 120, 130]) {
      const p = await post([ANNA], size);
      await t.library.ingest(G, { bytes: p.bytes, postedBy: 'u1' });
      photos.push(p.hash);
    }
    const lookalike = await post([CLEO, { identity: ANNA, look: 'changed' }], 140);
    await t.library.ingest(G, { bytes: lookalike.bytes, postedBy: 'u1' });
    const taken = await t.library.enroll(G, { name: 'Mallory', photo: { hash: photos[0]! }, userId: 'u9', by: 'u9', byAdmin: false });
    assert.equal(taken.kind, 'enrolled', 'nobody else has that face yet');
    assert.equal((await t.albumOf(G, 'Mallory')).length, 4);
    const forgotten = await t.library.forget(G, { userId: 'u9' }, MEMBER);
    assert.ok(forgotten.kind === 'forgotten');
    assert.equal(forgotten.photosDeleted, 0);
    assert.deepEqual((await t.photos.list(G)).map((r) => r.hash).sort(), [...photos, lookalike.hash].sort(), 'no photo deleted');
    for (const record of await t.photos.list(G)) assert.ok(await t.albums.hasOriginal(G, photoRef(record)), 'no original deleted');
    const kept = await t.photos.get(G, lookalike.hash);
    assert.equal(kept?.faces.filter((f) => f.embedding !== undefined).length, 2, 'the wide erase of look-alike unknown faces is for admins');
  });

  it('GIVEN a member who posted photos WHEN they say "forget me photos" THEN the photos they posted go, and only those', async () => {
    const t = await annaLinked();
    await t.library.enroll(G, { name: 'Mallory', photo: { bytes: (await post([MALLORY], 100)).bytes, postedBy: 'u9' }, userId: 'u9', by: 'u9' });
    const theirs = await post([MALLORY, ANNA], 160);
    await t.library.ingest(G, { bytes: theirs.bytes, postedBy: 'u9' });
    const annaBefore = await t.albumOf(G, 'Anna');
    assert.ok(annaBefore.includes(theirs.hash));
    const forgotten = await t.library.forget(G, { userId: 'u9' }, MEMBER, { photos: true });
    assert.ok(forgotten.kind === 'forgotten' && forgotten.scope === 'self-and-posts');
    assert.equal(forgotten.photosDeleted, 2);
    assert.deepEqual(
      await t.albumOf(G, 'Anna'),
      annaBefore.filter((h) => h !== theirs.hash),
      "their post leaves Anna's album; Anna's other photos stay",
    );
    assert.ok((await t.photos.list(G)).every((r) => r.postedBy !== 'u9'));
  });
});

describe('person names', () => {
  it('GIVEN invisible characters THEN they are removed, but an emoji sequence keeps its joiner', () => {
    assert.deepEqual(cleanPersonName('An\u200Bna\u2060\uFEFF'), { ok: true, name: 'Anna' });
    assert.deepEqual(cleanPersonName('\u202EannA'), { ok: true, name: 'annA' });
    assert.deepEqual(cleanPersonName('Dad \u{1F468}\u200D\u{1F373}'), { ok: true, name: 'Dad \u{1F468}\u200D\u{1F373}' });
    assert.deepEqual(cleanPersonName('\u200B\u200C'), { ok: false, reason: 'empty' });
  });

  it('GIVEN blank characters that are not format controls THEN the name is refused, not quietly trimmed', () => {
    for (const blank of ['\u2800', '\u3164', '\u115F', '\u1160', '\uFFA0', '\u034F']) {
      assert.deepEqual(cleanPersonName(`Anna${blank}`), { ok: false, reason: 'invisible' }, `U+${blank.codePointAt(0)!.toString(16)}`);
      assert.deepEqual(cleanPersonName(blank), { ok: false, reason: 'invisible' });
    }
    assert.deepEqual(cleanPersonName('\u2764\uFE0F Anna'), { ok: true, name: '\u2764\uFE0F Anna' }, 'an emoji keeps its variation selector');
  });

  it('GIVEN the look-alikes of Unicode confusables (UTS #39) THEN each is confusable with the plain name', () => {
    const pairs: [string, string][] = [
      ['Ian', 'lan'],
      ['Ian', '1an'],
      ['Ian', '|an'],
      ['John', 'Jo\u04BBn'], // Cyrillic shha
      ['John', 'J\u0585hn'], // Armenian oh
      ['Anna', '\u0251nna'], // Latin alpha
      ['Tim', 'T\u0131m'], // dotless i
      ['Walter', 'VValter'],
      ['Mia', 'rnia'],
      ['Olga', '0lga'],
      ['Anna', '\uFF21nna'], // fullwidth A
    ];
    for (const [a, b] of pairs) assert.ok(confusableNames(a, b), `${a} / ${b}`);
    assert.ok(!confusableNames('Ian', 'Ivan'));
    assert.ok(!confusableNames('Dan', 'Don'));
  });

  it('GIVEN look-alike names THEN they are confusable; different names and the same name are not', () => {
    assert.ok(confusableNames('Anna', '\u0410nna'));
    assert.ok(confusableNames('José', 'Jose'));
    assert.ok(!confusableNames('Bill', 'BILL'), 'the same letters in another case are the same name');
    assert.ok(confusableNames('Ann-Marie', 'Ann Marie'));
    assert.ok(!confusableNames('Anna', 'Anne'));
    assert.ok(!confusableNames('Anna', 'anna'));
  });
});

describe('PhotoLibrary audit log (fakes)', () => {
  it('GIVEN changes by members and admins THEN each is logged with who and what, refusals are not, and a forgotten name is not kept', async () => {
    const t = await annaLinked();
    const [hash] = await t.albumOf(G, 'Anna');
    await t.library.enroll(G, { name: 'Ben', photo: { bytes: (await post([BEN])).bytes }, userId: 'u2', by: 'u2', byName: 'Ben B.' });
    await t.library.notThis(G, 'Anna', { hash: hash! }, { ...MEMBER, name: 'Mallory' });
    await t.library.setThreshold(G, 0.95, { ...ADMIN, name: 'Root' });
    await t.library.forget(G, { name: 'Ben' }, { ...ADMIN, name: 'Root' });
    const log = await t.library.auditLog(G);
    assert.deepEqual(
      log.map((e) => [e.action, e.byName ?? e.by, e.detail.replace(/\d+ photos and \d+ stored faces/, 'N')]),
      [
        ['forget', 'Root', 'forgot a person: N deleted'],
        ['threshold', 'Root', 'set the threshold from 0.930 to 0.950'],
        ['enroll', undefined, 'added a face sample to a forgotten person (new person)'],
        ['enroll', 'u1', 'added a face sample to Anna (new person)'],
      ],
    );
    assert.ok(
      log.every((e) => !JSON.stringify(e).includes('Ben')),
      'Ben is gone from the log, as doer and as subject',
    );
    assert.deepEqual(await t.library.auditLog('tg:-999'), [], 'another group sees nothing');
  });

  it('GIVEN a member who changed the threshold WHEN they forget themselves THEN the log still says they did', async () => {
    const t = await annaLinked();
    await t.library.enroll(G, { name: 'Mallory', photo: { bytes: (await post([MALLORY])).bytes }, userId: 'u9', by: 'u9', byName: 'Mallory M.' });
    await t.library.setThreshold(G, 0.95, { ...MEMBER, name: 'Mallory M.' });
    await t.library.forget(G, { userId: 'u9' }, { ...MEMBER, name: 'Mallory M.' });
    const log = await t.library.auditLog(G);
    assert.deepEqual(
      log.map((e) => [e.action, e.byName ?? e.by, e.detail.replace(/\d+ photos and \d+ stored faces/, 'N')]),
      [
        ['forget', 'Mallory M.', 'forgot themselves: N deleted'],
        ['threshold', 'Mallory M.', 'set the threshold from 0.930 to 0.950'],
        ['enroll', undefined, 'added a face sample to a forgotten person (new person)'],
        ['enroll', 'u1', 'added a face sample to Anna (new person)'],
      ],
    );
  });
});
