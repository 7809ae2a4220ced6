import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeLibrary, post, type FakeLibrary, type Post } from '../fakes/fake-library.ts';
import { identityEmbedding } from '../fakes/fake-face-engine.ts';
import { normalize, similarity } from '../../src/core/index.ts';
import { photoRef } from '../../src/core/library/index.ts';

const G = 'tg:-100';
const [ANNA, BEN, CLEO] = [1, 2, 3];

interface Scene extends FakeLibrary {
  readonly annaOnly: Post;
  readonly annaAndBen: Post;
  readonly annaUnrecognised: Post;
  readonly strangerOnly: Post;
}

/**
 * Anna (linked to user u1) and Ben enrolled; a photo of Anna alone, one of Anna and Ben, one where
 * Anna looks changed (unknown, but close to her), and one of a stranger.
 */
async function scene(): Promise<Scene> {
  const t = fakeLibrary();
  await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes }, userId: 'u1' });
  await t.library.enroll(G, { name: 'Ben', photo: { bytes: (await post([BEN], 100)).bytes } });
  const photos = {
    annaOnly: await post([ANNA], 110),
    annaAndBen: await post([ANNA, BEN], 110),
    annaUnrecognised: await post([CLEO, { identity: ANNA, look: 'changed' }], 120),
    strangerOnly: await post([CLEO], 130),
  };
  for (const p of Object.values(photos)) await t.library.ingest(G, { bytes: p.bytes });
  return { ...t, ...photos };
}

describe('PhotoLibrary.forget (fakes)', () => {
  it('GIVEN Anna forgotten THEN her samples, link and album are gone, and the store is compacted', async () => {
    const t = await scene();
    const result = await t.library.forget(G, { name: 'ANNA' });
    assert.ok(result.kind === 'forgotten');
    assert.equal(result.person.name, 'Anna');
    assert.deepEqual(
      (await t.gallery.list(G)).map((p) => p.name),
      ['Ben'],
    );
    assert.equal((await t.library.album(G, 'Anna')).kind, 'unknown-person');
    assert.deepEqual(await t.albums.list(G, 'Anna'), []);
    assert.equal(t.compactions(), 1);
    assert.deepEqual(await t.library.forget(G, { userId: 'u1' }), { kind: 'not-enrolled' }, 'the link went with her');
  });

  it('THEN the photos only her album held are deleted, originals too; the photo with Ben stays in his album', async () => {
    const t = await scene();
    const annaOnly = photoRef((await t.photos.get(G, t.annaOnly.hash))!);
    const result = await t.library.forget(G, { name: 'Anna' });
    assert.ok(result.kind === 'forgotten');
    // Her enrolment photo and the photo of her alone.
    assert.equal(result.photosDeleted, 2);
    assert.equal(await t.photos.get(G, t.annaOnly.hash), undefined);
    assert.equal(await t.albums.hasOriginal(G, annaOnly), false);
    assert.ok(await t.photos.get(G, t.annaAndBen.hash));
    assert.ok((await t.albumOf(G, 'Ben')).includes(t.annaAndBen.hash));
    assert.ok(await t.photos.get(G, t.strangerOnly.hash), 'photos that were never hers stay');
  });

  it('THEN no stored face is hers: named ones and unknown ones close to her samples are erased, others kept', async () => {
    const t = await scene();
    const result = await t.library.forget(G, { name: 'Anna' });
    assert.ok(result.kind === 'forgotten');
    // Enrolment photo, alone, with Ben, and the changed face nobody had named.
    assert.equal(result.facesErased, 4);
    const her = identityEmbedding(ANNA);
    for (const record of await t.photos.list(G)) {
      for (const face of record.faces)
        assert.ok(!face.embedding || similarity(face.embedding, her) < 0.5, `a face of ${record.hash.slice(0, 8)} is still hers`);
    }
    const kept = (await t.photos.get(G, t.annaUnrecognised.hash))!;
    assert.deepEqual(
      kept.faces.map((f) => [f.personId, f.embedding === undefined ? 'erased' : 'kept']),
      [
        [undefined, 'kept'],
        [undefined, 'erased'],
      ],
      "the stranger's face beside her stays; hers keeps only its place in the photo",
    );
  });

  it("GIVEN the archiver cached these photos' faces THEN forgetting her purges the photos that held her face, and only those", async () => {
    const t = await scene();
    const all = [t.annaOnly, t.annaAndBen, t.annaUnrecognised, t.strangerOnly];
    for (const p of all) await t.faceCache.set(p.hash, []);
    await t.library.forget(G, { name: 'Anna' });
    for (const p of [t.annaOnly, t.annaAndBen, t.annaUnrecognised]) assert.equal(await t.faceCache.get(p.hash), undefined);
    assert.deepEqual(await t.faceCache.get(t.strangerOnly.hash), []);
  });

  it('GIVEN "forget me" from her account THEN it forgets Anna; an unknown name gets the list of people', async () => {
    const t = await scene();
    assert.equal((await t.library.forget(G, { userId: 'u1' })).kind, 'forgotten');
    assert.deepEqual(await t.library.forget(G, { name: 'Zed' }), { kind: 'unknown-person', people: ['Ben'] });
  });

  it('GIVEN clusters shown before THEN forgetting clears them: their numbers may point at erased faces', async () => {
    const t = await scene();
    await t.library.ingest(G, { bytes: (await post([CLEO], 140)).bytes });
    assert.equal((await t.library.unknownClusters(G)).clusters.length, 1);
    await t.library.forget(G, { name: 'Anna' });
    assert.equal((await t.library.stats(G)).unknownClusters, 0);
  });
});

describe('PhotoLibrary: a forget cut short (fakes)', () => {
  it('GIVEN a forget noted and not finished WHEN the library starts again THEN it finishes, the audit log scrubbed too', async () => {
    const t = await scene();
    await t.library.notThis(G, 'Anna', { hash: t.annaAndBen.hash }, { userId: 'u0', admin: true, name: 'Root' });
    const anna = (await t.gallery.list(G)).find((p) => p.name === 'Anna')!;
    // What a process killed right after noting the forget leaves behind.
    await t.settings.save(G, { ...(await t.settings.get(G))!, threshold: 0.93, replyMode: 'quiet', pending: { forget: anna.id, forgetScope: 'everything' } });
    await t.library.checkConsistency();
    assert.deepEqual(
      (await t.library.people(G)).map((p) => p.name),
      ['Ben'],
    );
    assert.equal((await t.settings.get(G))?.pending, undefined);
    const log = await t.library.auditLog(G);
    assert.ok(log.length > 0);
    assert.ok(
      log.every((e) => !/\bAnna\b/.test(e.detail)),
      log.map((e) => e.detail).join('; '),
    );
  });
});

describe('PhotoLibrary: a photo still queued when someone is forgotten (fakes)', () => {
  it('GIVEN a photo of Anna queued just before her forget WHEN it is filed after THEN no embedding of an unnamed face is kept; an old imported photo keeps its faces', async () => {
    const t = await scene();
    const late = await post([ANNA, BEN], 150);
    const queuedAt = new Date(t.clock.now().getTime() - 60_000);
    await t.library.forget(G, { name: 'Anna' }, { userId: 'u0', admin: true });
    const filed = await t.library.ingest(G, { bytes: late.bytes, postedAt: queuedAt, queuedAt });
    assert.ok(filed.kind === 'filed', filed.kind);
    const record = await t.photos.get(G, late.hash);
    assert.deepEqual(
      record?.faces.map((f) => [f.personId !== undefined, f.embedding !== undefined]),
      [
        [false, false],
        [true, true],
      ],
      "Anna's face has no embedding; Ben's, named, keeps his",
    );
    const old = await post([ANNA], 160);
    await t.library.ingest(G, { bytes: old.bytes, postedAt: new Date('2020-01-01T00:00:00Z') });
    assert.equal((await t.photos.get(G, old.hash))?.faces[0]?.embedding !== undefined, true, 'an import of old photos is filed as usual');
  });

  it('GIVEN a photo posted just before a forget WHEN an admin enrols a face of it after THEN its faces are all there to choose from', async () => {
    // The admin enrolled the wrong face of a group photo, forgot that name, and picks another face:
    // the photo comes straight from the chat, not from a queue, so nothing of it is held back.
    const t = await scene();
    const group = await post([CLEO, BEN], 140);
    const postedAt = new Date(t.clock.now().getTime() - 60_000);
    await t.library.forget(G, { name: 'Anna' }, { userId: 'u0', admin: true });
    const sheet = await t.library.enroll(G, { name: 'Cleo', photo: { bytes: group.bytes, postedAt }, by: 'u0', byAdmin: true });
    assert.equal(sheet.kind, 'choose-face');
    const enrolled = await t.library.enroll(G, { name: 'Cleo', photo: { hash: group.hash }, face: 1, by: 'u0', byAdmin: true });
    assert.equal(enrolled.kind, 'enrolled');
  });

  it('GIVEN unknown faces in the band below her samples THEN one clearly closer to another enrolled person stays, one as close to her goes', async () => {
    const t = await scene();
    const anna = (await t.gallery.list(G)).find((p) => p.name === 'Anna')!.samples[0]!;
    // Two directions at right angles to her sample and to each other.
    const across = (seed: number, away: readonly Float32Array[]) => {
      const v = Float32Array.from(identityEmbedding(seed));
      for (const u of away) {
        const dot = similarity(v, u);
        v.forEach((x, k) => (v[k] = x - dot * u[k]!));
      }
      return normalize(v);
    };
    const e2 = across(7, [anna.embedding]);
    const e3 = across(8, [anna.embedding, e2]);
    const mix = (a: number, b: number, c: number) => normalize(anna.embedding.map((x, k) => a * x + b * e2[k]! + c * e3[k]!));
    // Dana, enrolled: 0.80 to Anna's sample.
    const dana = mix(0.8, 0.6, 0);
    await t.gallery.save(G, { id: 'dana', name: 'Dana', folder: 'Dana', samples: [{ ...anna, embedding: dana }], rejected: [], createdAt: anna.addedAt });
    // 0.86 to Anna and 0.91 to Dana; 0.87 to Anna and 0.88 to Dana (within the margin of 0.02).
    const danaLike = mix(0.86, (0.91 - 0.86 * 0.8) / 0.6, Math.sqrt(1 - 0.86 ** 2 - ((0.91 - 0.86 * 0.8) / 0.6) ** 2));
    const eitherLike = mix(0.87, (0.88 - 0.87 * 0.8) / 0.6, Math.sqrt(1 - 0.87 ** 2 - ((0.88 - 0.87 * 0.8) / 0.6) ** 2));
    assert.ok(Math.abs(similarity(danaLike, anna.embedding) - 0.86) < 1e-4 && Math.abs(similarity(danaLike, dana) - 0.91) < 1e-4);
    const stranger = (await t.photos.get(G, t.strangerOnly.hash))!;
    const face = stranger.faces[0]!;
    await t.photos.save(G, { ...stranger, faces: [face, { ...face, embedding: danaLike }, { ...face, embedding: eitherLike }] });
    const result = await t.library.forget(G, { name: 'Anna' });
    assert.ok(result.kind === 'forgotten');
    const after = (await t.photos.get(G, t.strangerOnly.hash))!;
    assert.deepEqual(
      after.faces.map((f) => (f.embedding ? Math.round(similarity(f.embedding, dana) * 100) / 100 : undefined)),
      [Math.round(similarity(face.embedding!, dana) * 100) / 100, 0.91, undefined],
      "the stranger's own face and the one closer to Dana stay; the one as close to Anna is erased",
    );
  });
});

describe('PhotoLibrary.expireUnknownFaces (fakes)', () => {
  it('GIVEN unknown faces older than the retention period THEN their embeddings are erased, named faces kept, in every group', async () => {
    const t = fakeLibrary({ unknownRetentionDays: 90 });
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
    await t.library.ingest(G, { bytes: (await post([ANNA, CLEO], 110)).bytes });
    await t.library.ingest('dc:2', { bytes: (await post([CLEO, BEN], 110)).bytes });
    t.clock.advanceDays(60);
    const fresh = await post([BEN], 120);
    await t.library.ingest(G, { bytes: fresh.bytes });
    assert.equal((await t.library.stats(G)).unknownFaces, 2);

    t.clock.advanceDays(29);
    assert.equal(await t.library.expireUnknownFaces(), 0, 'not yet: 89 days');
    assert.equal(t.compactions(), 0);
    t.clock.advanceDays(2);
    assert.equal(await t.library.expireUnknownFaces(), 3, 'the 91-day-old ones of both groups');
    assert.equal(t.compactions(), 1);
    assert.equal((await t.library.stats(G)).unknownFaces, 1, 'the 31-day-old one stays');
    assert.equal((await t.library.stats('dc:2')).unknownFaces, 0);
    for (const record of await t.photos.list(G)) {
      for (const face of record.faces) if (face.personId) assert.ok(face.embedding, 'named faces keep their embedding');
    }
    assert.ok((await t.photos.get(G, fresh.hash))?.faces[0]?.embedding);
  });
});
