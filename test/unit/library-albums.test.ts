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

  it("GIVEN /stats THEN it answers from the group's records, never by walking its files (any member may ask, any time)", async () => {
    const t = await withPhotoOfBoth();
    t.albums.diskUsage = () => Promise.reject(new Error('the group folder was walked'));
    const records = await t.photos.list(G);
    const stats = await t.library.stats(G);
    assert.equal(stats.photos, 3);
    assert.equal(
      stats.diskBytes,
      records.reduce((sum, r) => sum + r.bytes, 0),
    );
  });
});

describe('PhotoLibrary.album with several people and a period (fakes)', () => {
  /** Anna in 2023; Anna and Ben in 2024 in #a, again in #b; Ben alone in 2024; both again in 2025. */
  async function twoYears() {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
    await t.library.enroll(G, { name: 'Ben Smith', photo: { bytes: (await post([BEN], 100)).bytes } });
    const posted = async (faces: number[], background: number, at: string, channel?: string) => {
      const photo = await post(faces, background);
      const result = await t.library.ingest(G, { bytes: photo.bytes, postedAt: new Date(at), ...(channel ? { source: { channel } } : {}) });
      assert.equal(result.kind, 'filed');
      return photo.hash;
    };
    const hashes = {
      anna2023: await posted([ANNA], 110, '2023-06-01T00:00:00Z'),
      bothA: await posted([ANNA, BEN], 120, '2024-02-01T00:00:00Z', 'a'),
      bothB: await posted([ANNA, BEN], 130, '2024-12-31T23:59:59Z', 'b'),
      ben2024: await posted([BEN], 140, '2024-03-01T00:00:00Z'),
      both2025: await posted([BEN, ANNA], 150, '2025-01-01T00:00:00Z'),
    };
    return { t, hashes };
  }
  const y2024 = { from: '2024-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z', label: '2024' };

  it('GIVEN "Anna + Ben Smith" THEN only the photos showing both, with both named and a title that says so', async () => {
    const { t, hashes } = await twoYears();
    const result = await t.library.album(G, { people: ['anna', 'Ben Smith'] });
    assert.ok(result.kind === 'album-photos');
    assert.deepEqual(new Set(result.entries.map((e) => e.hash)), new Set([hashes.bothA, hashes.bothB, hashes.both2025]));
    assert.deepEqual(
      result.people.map((p) => p.name),
      ['Anna', 'Ben Smith'],
    );
    assert.equal(result.title, 'Anna + Ben Smith');
  });

  it('GIVEN a period THEN only the photos posted in it, from its first instant up to, not including, the next period', async () => {
    const { t, hashes } = await twoYears();
    const both = await t.library.album(G, { people: ['Anna', 'Ben Smith'], period: y2024 });
    assert.ok(both.kind === 'album-photos');
    assert.deepEqual(new Set(both.entries.map((e) => e.hash)), new Set([hashes.bothA, hashes.bothB]));
    assert.equal(both.title, 'Anna + Ben Smith, 2024');
    const anna = await t.library.album(G, { people: ['Anna'], period: { to: '2024-01-01T00:00:00.000Z', label: '..2023' } });
    assert.ok(anna.kind === 'album-photos');
    assert.deepEqual(
      anna.entries.map((e) => e.hash),
      [hashes.anna2023],
    );
    const none = await t.library.album(G, { people: ['Anna'], period: { from: '2030-01-01T00:00:00.000Z', label: '2030..' } });
    assert.equal(none.kind, 'empty');
  });

  it('GIVEN walls THEN a photo of both posted where the asker cannot look is left out and counted as hidden', async () => {
    const { t, hashes } = await twoYears();
    const onlyA = (source: Readonly<Record<string, string>>) => Promise.resolve(source.channel === 'a');
    const result = await t.library.album(G, { people: ['Anna', 'Ben Smith'], period: y2024 }, undefined, onlyA);
    assert.ok(result.kind === 'album-photos');
    assert.deepEqual(
      result.entries.map((e) => e.hash),
      [hashes.bothA],
    );
    assert.equal(result.hidden, 1);
    const blind = await t.library.album(G, { people: ['Ben Smith', 'Anna'], period: y2024 }, 1e9, () => Promise.resolve(false));
    assert.ok(blind.kind === 'empty', 'no zip of photos nobody may see');
    assert.equal(blind.hidden, 2);
  });

  it('GIVEN a name nobody has among several THEN that name is said, with the people enrolled', async () => {
    const { t } = await twoYears();
    assert.deepEqual(await t.library.album(G, { people: ['Anna', 'Cleo'] }), { kind: 'unknown-person', people: ['Anna', 'Ben Smith'], name: 'Cleo' });
  });

  it('GIVEN a size limit THEN the zips of the photos of both are named after both and the period', async () => {
    const { t } = await twoYears();
    const result = await t.library.album(G, { people: ['Anna', 'Ben Smith'], period: y2024 }, 1e9);
    assert.ok(result.kind === 'album');
    try {
      const names = [];
      for await (const part of result.export.parts) {
        assert.equal(part.fileName, 'Anna + Ben Smith, 2024.zip');
        names.push(...(await readZipBytes(await t.albums.read(part.path))).map((e) => e.name));
      }
      assert.equal(names.length, 2);
    } finally {
      await result.export.dispose();
    }
  });
});
