import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readZipBytes } from '../helpers/zip.ts';
import { fakeLibrary, post, type FakeLibrary, type Post } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const [ANNA, BEN] = [1, 2];

/** Anna and Ben enrolled, then a photo of both. */
async function withPhotoOfBoth(): Promise<FakeLibrary & { both: Post }> {
  const t = fakeLibrary();
  await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
  await t.library.enroll(G, { name: 'Ben', photo: { bytes: (await post([BEN], 100)).bytes } });
  const both = await post([ANNA, BEN], 110);
  await t.library.ingest(G, { bytes: both.bytes });
  return { ...t, both };
}

describe('PhotoLibrary.notThis (fakes)', () => {
  it('GIVEN a photo filed under Anna WHEN it is "not Anna" THEN it leaves her album and stays in Ben\'s', async () => {
    const t = await withPhotoOfBoth();
    const result = await t.library.notThis(G, 'anna', { hash: t.both.hash });
    assert.ok(result.kind === 'removed');
    assert.equal(result.person.name, 'Anna');
    assert.deepEqual(
      result.nowFiledUnder.map((p) => p.name),
      ['Ben'],
    );
    assert.ok(!(await t.albumOf(G, 'Anna')).includes(t.both.hash));
    assert.ok((await t.albumOf(G, 'Ben')).includes(t.both.hash));
  });

  it('THEN it is never filed under her again: not at a looser threshold, not when she is enrolled again, not when posted again', async () => {
    const t = await withPhotoOfBoth();
    await t.library.notThis(G, 'Anna', { bytes: t.both.bytes });
    await t.library.setThreshold(G, 0.8);
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 120)).bytes } });
    assert.equal((await t.library.ingest(G, { bytes: t.both.bytes })).kind, 'duplicate');
    assert.ok(!(await t.albumOf(G, 'Anna')).includes(t.both.hash));
  });

  it('GIVEN the wrong photo was her enrolment photo THEN the sample taken from it goes too', async () => {
    const t = fakeLibrary();
    const wrong = await post([BEN], 100);
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: wrong.bytes } });
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 110)).bytes } });
    const result = await t.library.notThis(G, 'Anna', { hash: wrong.hash });
    assert.ok(result.kind === 'removed');
    assert.deepEqual(result.nowFiledUnder, []);
    assert.deepEqual(
      (await t.library.people(G)).map((p) => p.samples),
      [1],
    );
    const ben = await t.library.ingest(G, { bytes: (await post([BEN], 120)).bytes });
    assert.ok(ben.kind === 'filed');
    assert.deepEqual(ben.people, [], 'Ben is no longer taken for Anna');
  });

  it('GIVEN an unknown name, an unknown photo, or a photo not in the album THEN each is answered as such', async () => {
    const t = await withPhotoOfBoth();
    assert.deepEqual(await t.library.notThis(G, 'Cleo', { hash: t.both.hash }), { kind: 'unknown-person', people: ['Anna', 'Ben'].sort() });
    assert.deepEqual(await t.library.notThis(G, 'Anna', { hash: 'a'.repeat(64) }), { kind: 'unknown-photo' });
    const benOnly = await post([BEN], 130);
    await t.library.ingest(G, { bytes: benOnly.bytes });
    const result = await t.library.notThis(G, 'Anna', { hash: benOnly.hash });
    assert.equal(result.kind, 'not-in-album');
  });
});

describe('PhotoLibrary.album (fakes)', () => {
  it('GIVEN an unknown name THEN the list of people; an enrolled person with no photos left THEN empty', async () => {
    const t = await withPhotoOfBoth();
    const unknown = await t.library.album(G, 'Nobody');
    assert.ok(unknown.kind === 'unknown-person');
    assert.deepEqual([...unknown.people].sort(), ['Anna', 'Ben']);
    const bare = fakeLibrary();
    await bare.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes } });
    await bare.library.notThis(G, 'Anna', { hash: (await post([ANNA])).hash });
    assert.equal((await bare.library.album(G, 'Anna')).kind, 'empty');
  });

  it('GIVEN a size limit THEN zip parts under it, made one at a time, that hold the album once', async () => {
    const t = await withPhotoOfBoth();
    for (const background of [120, 130, 140]) await t.library.ingest(G, { bytes: (await post([ANNA], background)).bytes });
    const listed = await t.library.album(G, 'Anna');
    assert.ok(listed.kind === 'album-photos');
    const limit = twoPerZip(listed.entries);
    const result = await t.library.album(G, 'Anna', limit);
    assert.ok(result.kind === 'album');
    try {
      assert.ok(result.export.plannedParts >= 2);
      const names = [];
      let parts = 0;
      for await (const part of result.export.parts) {
        parts++;
        assert.deepEqual(t.albums.exportFiles(), [part.path]);
        assert.ok(part.bytes <= limit);
        names.push(...(await readZipBytes(await t.albums.read(part.path))).map((e) => e.name));
      }
      assert.deepEqual(
        names,
        listed.entries.map((e) => e.name),
      );
      assert.equal(parts, result.export.plannedParts);
    } finally {
      await result.export.dispose();
    }
    assert.deepEqual(t.albums.exportFiles(), []);
  });

  it('GIVEN an export being sent WHEN the group posts a photo and takes one out of the album THEN both go through at once (no lock is held), and the photo taken out is not sent', async () => {
    const t = await withPhotoOfBoth();
    for (const background of [120, 130, 140]) await t.library.ingest(G, { bytes: (await post([ANNA], background)).bytes });
    const listed = await t.library.album(G, 'Anna');
    assert.ok(listed.kind === 'album-photos');
    const result = await t.library.album(G, 'Anna', twoPerZip(listed.entries));
    assert.ok(result.kind === 'album');
    try {
      const parts = result.export.parts[Symbol.asyncIterator]();
      const first = await parts.next();
      assert.ok(!first.done);
      // Mid-send: the first part is out, the consumer has not asked for the next.
      const late = await post([ANNA], 150);
      assert.equal((await within(t.library.ingest(G, { bytes: late.bytes }))).kind, 'filed');
      const names = (await readZipBytes(await t.albums.read(first.value.path))).map((e) => e.name);
      const last = listed.entries.find((e) => !names.includes(e.name))!;
      assert.equal((await within(t.library.notThis(G, 'Anna', { hash: last.hash }))).kind, 'removed');
      for (let next = await parts.next(); !next.done; next = await parts.next())
        names.push(...(await readZipBytes(await t.albums.read(next.value.path))).map((e) => e.name));
      const hashes = names.map((n) => n.slice(18, 26));
      assert.ok(!hashes.includes(last.hash.slice(0, 8)), 'the photo taken out after the snapshot is not sent');
      assert.ok(!hashes.includes(late.hash.slice(0, 8)), 'the export is of the album as it was asked for');
      assert.equal(names.length, listed.entries.length - 1);
      assert.deepEqual(
        result.export.skipped.map((e) => e.hash),
        [last.hash],
      );
    } finally {
      await result.export.dispose();
    }
  });

  it('GIVEN a cap of 2 exports WHEN 3 are asked for at once THEN the third starts only once one of the first two is done, and the group is not held up meanwhile', async () => {
    const t = fakeLibrary({}, { maxConcurrentExports: 2 });
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
    await t.library.ingest(G, { bytes: (await post([ANNA], 110)).bytes });
    const started: number[] = [];
    const asks = [1, 2, 3].map(async (n) => {
      const result = await t.library.album(G, 'Anna', 10_000_000);
      started.push(n);
      assert.ok(result.kind === 'album');
      return result.export;
    });
    const [first, second] = [await asks[0]!, await asks[1]!];
    await sleep(10);
    assert.deepEqual(started, [1, 2]);
    assert.equal((await within(t.library.ingest(G, { bytes: (await post([ANNA], 120)).bytes }))).kind, 'filed', 'a waiting export holds no lock');
    await second.dispose();
    const third = await within(asks[2]!);
    assert.deepEqual(started, [1, 2, 3]);
    await first.dispose();
    await third.dispose();
    // All three places are free again.
    const again = await Promise.all([1, 2].map(() => within(t.library.album(G, 'Anna', 10_000_000))));
    for (const result of again) if (result.kind === 'album') await result.export.dispose();
  });

  it('GIVEN an export never disposed (the process died while sending) WHEN the library checks consistency at start THEN its zip is gone', async () => {
    const t = await withPhotoOfBoth();
    const result = await t.library.album(G, 'Anna', 10_000_000);
    assert.ok(result.kind === 'album');
    await result.export.parts[Symbol.asyncIterator]().next();
    assert.equal(t.albums.exportFiles().length, 1);
    await t.library.checkConsistency();
    assert.deepEqual(t.albums.exportFiles(), []);
  });
});

/** A limit with room for two of these photos per zip: each costs its bytes, two headers and its name twice. */
function twoPerZip(entries: readonly { bytes: number; name: string }[]): number {
  return 22 + 2 * Math.max(...entries.map((e) => e.bytes + 76 + 2 * e.name.length));
}

/** `promise`, or a failure if it takes longer than a lock held by a paused export would allow. */
async function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('PhotoLibrary.people and stats (fakes)', () => {
  it('GIVEN people and photos THEN each person with samples and photo counts, by name; totals add up', async () => {
    const t = await withPhotoOfBoth();
    await t.library.ingest(G, { bytes: (await post([3, { identity: ANNA, size: 20 }], 120)).bytes });
    const people = await t.library.people(G);
    assert.deepEqual(
      people.map(({ name, samples, photos }) => ({ name, samples, photos })),
      [
        { name: 'Anna', samples: 1, photos: 2 },
        { name: 'Ben', samples: 1, photos: 2 },
      ],
    );
    const stats = await t.library.stats(G);
    assert.deepEqual({ ...stats, diskBytes: stats.diskBytes > 0 }, { photos: 4, faces: 6, people: 2, unknownFaces: 1, unknownClusters: 0, diskBytes: true });
  });
});
