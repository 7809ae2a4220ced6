import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PhotoRecord, PhotoStore } from '../../src/core/index.ts';
import { random } from '../fakes/fake-face-engine.ts';
import { LOOK_ALIKE_GROUPS, awkwardEmbedding, comparable } from './gallery-store.contract.ts';

const hash = (n: number) => n.toString(16).padStart(64, '0');
/** The embedder the faces of these records are described by, unless a test says otherwise. */
const E = 'test-embedder@1';

const fullRecord = (n: number): PhotoRecord => ({
  hash: hash(n),
  ext: 'jpg',
  bytes: 1_234_567 + n,
  originalName: 'IMG_0001 (copy).JPG',
  postedBy: 'tg:77',
  postedAt: '2024-05-01T10:00:00.000Z',
  takenAt: '2024-04-30T18:30:00.000Z',
  source: { chatId: '-1001', messageId: '55', fileId: 'AgAC:x/y' },
  faces: [
    {
      box: { x: 10.5, y: 20, width: 100, height: 120 },
      score: 0.987654321,
      eyeDistance: 41.25,
      embedding: awkwardEmbedding(n),
      embedder: E,
      personId: 'p1',
      seenAt: '2024-05-01T10:00:01.000Z',
    },
    { box: { x: 300, y: 40, width: 90, height: 100 }, score: 0.91, eyeDistance: 38, embedding: awkwardEmbedding(n + 1), seenAt: '2024-05-01T10:00:01.000Z' },
    { box: { x: 5, y: 5, width: 12, height: 12 }, score: 0.6, eyeDistance: 4, unusable: 'too-small', seenAt: '2024-05-01T10:00:01.000Z' },
  ],
});

const bareRecord = (n: number): PhotoRecord => ({ hash: hash(n), ext: 'png', bytes: 10, postedAt: '2024-06-01T00:00:00.000Z', faces: [] });

const byHash = (a: PhotoRecord, b: PhotoRecord) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0);

/** What every `PhotoStore` must do. */
export function photoStoreContract(name: string, create: () => Promise<PhotoStore>): void {
  describe(`PhotoStore contract: ${name}`, () => {
    it('GIVEN a group never seen THEN get answers undefined and list an empty list', async () => {
      const store = await create();
      assert.equal(await store.get('tg:never', hash(1)), undefined);
      assert.deepEqual(await store.list('tg:never'), []);
    });

    it('GIVEN a record with every field saved THEN get and list give it back field for field, embeddings bit for bit', async () => {
      const store = await create();
      await store.save('g', fullRecord(1));
      assert.deepStrictEqual(comparable(await store.get('g', hash(1))), comparable(fullRecord(1)));
      assert.deepStrictEqual(comparable(await store.list('g')), comparable([fullRecord(1)]));
    });

    it('GIVEN a record without the optional fields THEN those fields come back absent, not undefined', async () => {
      const store = await create();
      const record: PhotoRecord = {
        ...bareRecord(2),
        faces: [{ box: { x: 1, y: 2, width: 3, height: 4 }, score: 0.5, eyeDistance: 2, seenAt: '2024-06-01T00:00:00.000Z' }],
      };
      await store.save('g', record);
      const back = await store.get('g', hash(2));
      assert.ok(back);
      for (const key of ['originalName', 'postedBy', 'takenAt', 'source']) assert.equal(key in back, false, key);
      for (const key of ['embedding', 'unusable', 'personId']) assert.equal(key in back.faces[0]!, false, key);
      assert.deepStrictEqual(comparable(back), comparable(record));
    });

    it('GIVEN a record saved twice under one hash THEN get and list hold only the second version', async () => {
      const store = await create();
      await store.save('g', fullRecord(3));
      const refiled: PhotoRecord = { ...fullRecord(3), faces: fullRecord(3).faces.map((f) => ({ ...f, personId: 'p9' })) };
      await store.save('g', refiled);
      assert.deepStrictEqual(comparable(await store.get('g', hash(3))), comparable(refiled));
      assert.deepStrictEqual(comparable(await store.list('g')), comparable([refiled]));
    });

    it('GIVEN a record deleted THEN get answers undefined, list leaves it out and the others stay', async () => {
      const store = await create();
      await store.save('g', fullRecord(4));
      await store.save('g', bareRecord(5));
      await store.delete('g', hash(4));
      assert.equal(await store.get('g', hash(4)), undefined);
      assert.deepEqual(
        (await store.list('g')).map((r) => r.hash),
        [hash(5)],
      );
      await store.delete('g', hash(5));
      assert.deepEqual(await store.list('g'), []);
    });

    it('GIVEN a hash never saved THEN delete does nothing and does not fail', async () => {
      const store = await create();
      await store.save('g', bareRecord(6));
      await store.delete('g', hash(999));
      await store.delete('tg:never', hash(6));
      assert.equal((await store.list('g')).length, 1);
    });

    it('GIVEN many records saved and some deleted at once THEN list holds exactly the survivors', async () => {
      const store = await create();
      const records = Array.from({ length: 40 }, (_, i) => (i % 2 ? fullRecord(100 + i) : bareRecord(100 + i)));
      await Promise.all(records.map((r) => store.save('g', r)));
      await Promise.all([...records.slice(0, 10).map((r) => store.delete('g', r.hash)), store.save('g', bareRecord(500))]);
      const expected = [...records.slice(10), bareRecord(500)].sort(byHash);
      assert.deepStrictEqual(comparable((await store.list('g')).sort(byHash)), comparable(expected));
    });

    it('GIVEN the same hash in groups whose ids look alike THEN each group sees only its own, and deleting in one leaves the others', async () => {
      const store = await create();
      for (const group of LOOK_ALIKE_GROUPS) await store.save(group, { ...bareRecord(7), originalName: group });
      for (const group of LOOK_ALIKE_GROUPS) {
        assert.equal((await store.get(group, hash(7)))?.originalName, group, group);
        assert.deepEqual(
          (await store.list(group)).map((r) => r.originalName),
          [group],
          group,
        );
      }
      await store.delete('a:b', hash(7));
      assert.equal(await store.get('a:b', hash(7)), undefined);
      assert.equal((await store.get('a', hash(7)))?.originalName, 'a');
      assert.equal((await store.get('a:b:c', hash(7)))?.originalName, 'a:b:c');
    });

    it('GIVEN the saved record or a returned one is changed by the caller THEN the store is unchanged', async () => {
      const store = await create();
      const record = fullRecord(8);
      await store.save('g', record);
      record.faces[0]!.embedding![3] = 42;
      (record.source as Record<string, string>).chatId = 'changed';
      const got = await store.get('g', hash(8));
      got!.faces[1]!.embedding![3] = 43;
      (got!.faces as unknown[]).pop();
      assert.deepStrictEqual(comparable(await store.get('g', hash(8))), comparable(fullRecord(8)));
      assert.deepStrictEqual(comparable(await store.list('g')), comparable([fullRecord(8)]));
    });

    it('GIVEN some hashes THEN getMany gives the records of those that exist, each once', async () => {
      const store = await create();
      for (const n of [20, 21, 22]) await store.save('g', fullRecord(n));
      const got = await store.getMany('g', [hash(22), hash(20), hash(999), hash(20)]);
      assert.deepStrictEqual(comparable(got.sort(byHash)), comparable([fullRecord(20), fullRecord(22)]));
      assert.deepEqual(await store.getMany('g', []), []);
      assert.deepEqual(await store.getMany('tg:other', [hash(20)]), []);
    });

    it('GIVEN faces at known similarities THEN near finds those at or above the minimum, with each probe they reach', async () => {
      const store = await create();
      const unrelated = axis(0),
        probe = axis(1);
      await store.save('g', withFaces(30, [blend(0.95), blend(0.5), undefined], ['p1', undefined, undefined]));
      await store.save('g', withFaces(31, [blend(0.9)], [undefined]));
      await store.save('tg:other', withFaces(32, [blend(0.99)], [undefined]));
      const found = (await store.near('g', [unrelated, probe], 0.85, E)).sort((a, b) => a.photoHash.localeCompare(b.photoHash));
      assert.deepEqual(
        found.map((f) => [f.photoHash, f.faceIndex, f.personId, f.hits.map((h) => h.probe)]),
        [
          [hash(30), 0, 'p1', [1]],
          [hash(31), 0, undefined, [1]],
        ],
      );
      assert.ok(Math.abs(found[0]!.hits[0]!.similarity - 0.95) < 1e-5);
      assert.deepEqual(await store.near('g', [probe], 0.999, E), []);
      assert.deepEqual(await store.near('tg:never', [probe], 0, E), []);
    });

    it('GIVEN people with several probes THEN between finds the photos where the closest probe of one of them lies between the two values', async () => {
      const store = await create();
      // Owner 0: axis(1) and blend(0.75); owner 1: axis(0).
      const probes = [axis(1), blend(0.75), axis(0)],
        owners = [0, 0, 1];
      const towardsAxis0 = (s: number) => {
        const v = new Float32Array(128);
        v[0] = s;
        v[1] = Math.sqrt(1 - s * s);
        return v;
      };
      // 0.95 to owner 0's first probe, about 0.92 to their second: their closest is above the range.
      await store.save('g', withFaces(50, [blend(0.95)], [undefined]));
      await store.save('g', withFaces(51, [axis(5), towardsAxis0(0.92)], [undefined, 'p1']));
      await store.save('g', withFaces(52, [axis(5)], [undefined]));
      await store.save('tg:other', withFaces(53, [towardsAxis0(0.92)], [undefined]));
      assert.deepEqual(await store.between('g', probes, owners, { from: 0.91, below: 0.93 }, E), [hash(51)]);
      assert.deepEqual((await store.between('g', probes, owners, { from: 0.9, below: 0.96 }, E)).sort(), [hash(50), hash(51)].sort());
      assert.deepEqual(await store.between('g', probes, owners, { from: 0.96, below: 1.1 }, E), []);
      assert.deepEqual(await store.between('g', probes, owners, { from: 0.91, below: 0.93 }, 'other-embedder@1'), []);
      assert.deepEqual(await store.between('tg:never', probes, owners, { from: 0, below: 1.1 }, E), []);
    });

    it('GIVEN people with several probes THEN claimed finds the faces whose closest probe of one of them leads the rest, or trails by at most the margin', async () => {
      const store = await create();
      const probes = [axis(1), blend(0.75), axis(0)],
        owners = [0, 0, 1];
      // 0.95 to owner 0, nothing to owner 1; 0.92 to owner 1 and 0.39 to owner 0; a face alike to both (0.9 each).
      const both = new Float32Array(128);
      both[0] = 0.9;
      both[1] = 0.9;
      const alike = both.map((v) => v / Math.hypot(0.9, 0.9));
      const towardsAxis0 = new Float32Array(128);
      towardsAxis0[0] = 0.92;
      towardsAxis0[1] = Math.sqrt(1 - 0.92 ** 2);
      await store.save('g', withFaces(60, [blend(0.95), alike], [undefined, undefined]));
      await store.save('g', withFaces(61, [axis(5), towardsAxis0], [undefined, 'p1']));
      await store.save('tg:other', withFaces(62, [blend(0.95)], [undefined]));
      const key = (faces: readonly { photoHash: string; faceIndex: number; personId?: string }[]) =>
        faces.map((f) => [f.photoHash, f.faceIndex, f.personId]).sort();
      assert.deepEqual(key(await store.claimed('g', probes, owners, { owner: 0, from: 0.7, margin: 0.02 }, E)), [
        [hash(60), 0, undefined],
        [hash(60), 1, undefined],
      ]);
      assert.deepEqual(key(await store.claimed('g', probes, owners, { owner: 1, from: 0.7, margin: 0.02 }, E)), [
        [hash(60), 1, undefined],
        [hash(61), 1, 'p1'],
      ]);
      assert.deepEqual(key(await store.claimed('g', probes, owners, { owner: 0, from: 0.96, margin: 0.02 }, E)), []);
      assert.deepEqual(await store.claimed('g', probes, owners, { owner: 0, from: 0.7, margin: 0.02 }, 'other-embedder@1'), []);
    });

    it('GIVEN near was asked once THEN it follows later saves, re-filings and deletions', async () => {
      const store = await create();
      await store.save('g', withFaces(40, [blend(0.95)], [undefined]));
      assert.equal((await store.near('g', [axis(1)], 0.9, E)).length, 1);
      await store.save('g', withFaces(41, [blend(0.97)], [undefined]));
      await store.save('g', withFaces(40, [blend(0.95)], ['p2']));
      const after = await store.near('g', [axis(1)], 0.9, E);
      assert.deepEqual(after.map((f) => [f.photoHash, f.personId]).sort(), [
        [hash(40), 'p2'],
        [hash(41), undefined],
      ]);
      await store.delete('g', hash(40));
      assert.deepEqual(
        (await store.near('g', [axis(1)], 0.9, E)).map((f) => f.photoHash),
        [hash(41)],
      );
    });

    it('GIVEN named and unknown faces THEN filedUnder, unknownFaces and counts agree with the records', async () => {
      const store = await create();
      await store.save('g', withFaces(50, [blend(0.9), blend(0.8), undefined], ['p1', undefined, undefined]));
      await store.save('g', withFaces(51, [blend(0.9), blend(0.7)], ['p1', 'p2']));
      await store.save('g', withFaces(52, [], []));
      assert.deepEqual((await store.filedUnder('g', 'p1')).sort(), [hash(50), hash(51)]);
      assert.deepEqual(await store.filedUnder('g', 'p3'), []);
      const unknown = await store.unknownFaces('g', E);
      assert.deepEqual(
        unknown.map((f) => [f.photoHash, f.faceIndex]),
        [[hash(50), 1]],
      );
      assert.ok(Math.abs(unknown[0]!.embedding[1]! - 0.8) < 1e-6);
      const counts = await store.counts('g');
      assert.deepEqual(
        { ...counts, byPerson: Object.fromEntries(counts.byPerson) },
        { photos: 3, bytes: 30, faces: 5, unknownFaces: 1, byPerson: { p1: 2, p2: 1 } },
      );
      assert.deepEqual({ ...(await store.counts('tg:never')), byPerson: {} }, { photos: 0, bytes: 0, faces: 0, unknownFaces: 0, byPerson: {} });
    });

    it('GIVEN every kind of write in turn THEN counts agree each time with the records as they are', async () => {
      const store = await create();
      const check = async (step: string) => {
        for (const group of ['g', 'other']) {
          const counts = await store.counts(group);
          assert.deepEqual({ ...counts, byPerson: Object.fromEntries(counts.byPerson) }, countedFrom(await store.list(group)), `${step} (${group})`);
        }
      };
      await store.save('g', withFaces(80, [blend(0.9), blend(0.8), undefined, blend(0.7)], ['p1', undefined, undefined, 'p1']));
      await store.save('g', withFaces(81, [blend(0.9), blend(0.7)], ['p1', 'p2']));
      await store.save('other', withFaces(81, [blend(0.9)], ['p1']));
      await check('saved');
      await store.save('g', { ...withFaces(80, [blend(0.9), undefined], [undefined, 'p2']), bytes: 77 });
      await check('saved again, other faces and size');
      await store.writeMany('g', {
        save: [withFaces(82, [blend(0.9), blend(0.8)], ['p3', 'p3']), withFaces(83, [blend(0.6)], [undefined]), bareRecord(84)],
        delete: [hash(81)],
      });
      await check('many at once');
      await store.assign('g', [
        { photoHash: hash(82), faceIndex: 0, personId: 'p1' },
        { photoHash: hash(83), faceIndex: 0, personId: 'p3' },
        { photoHash: hash(80), faceIndex: 1 },
        { photoHash: hash(999), faceIndex: 0, personId: 'p4' },
      ]);
      await check('named anew');
      await store.assign('g', [{ photoHash: hash(82), faceIndex: 1, personId: 'p3' }]);
      await check('named as they were');
      await store.writeMany('g', {
        erase: [
          { photoHash: hash(82), faceIndex: 0 },
          { photoHash: hash(83), faceIndex: 0 },
          { photoHash: hash(80), faceIndex: 5 },
        ],
      });
      await check('faces erased');
      await store.save('g', withFaces(85, [blend(0.9), blend(0.9)], [undefined, 'p1'], '2020-01-01T00:00:00.000Z'));
      assert.equal(await store.eraseUnknownEmbeddings('g', '2021-01-01T00:00:00.000Z'), 1);
      await check('unknown embeddings erased');
      await store.writeMany('g', { delete: [hash(80), hash(82), hash(83), hash(84), hash(85)] });
      await check('every photo deleted');
      assert.deepEqual((await store.counts('g')).byPerson.size, 0, 'nobody is left with photos');
    });

    it('GIVEN 150 random writes of every kind THEN counts agree after each with the records as they are', async () => {
      const store = await create();
      const next = random(25);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      const people = ['p1', 'p2', 'p3', undefined, undefined];
      const photo = (n: number, seenAt: string) => {
        const count = Math.floor(next() * 4);
        return withFaces(
          n,
          Array.from({ length: count }, () => (next() < 0.8 ? blend(0.5 + next() / 2) : undefined)),
          Array.from({ length: count }, () => pick(people)),
          seenAt,
        );
      };
      const faces = async (k: number) => {
        const records = await store.list('g');
        return Array.from({ length: k }, () => {
          const record = records.length > 0 && next() < 0.9 ? pick(records) : undefined;
          return { photoHash: record?.hash ?? hash(999), faceIndex: Math.floor(next() * ((record?.faces.length ?? 0) + 1)) };
        });
      };
      for (let step = 0; step < 150; step++) {
        const kind = pick(['save', 'many', 'assign', 'assign', 'erase', 'erase', 'expire'] as const);
        const n = 200 + Math.floor(next() * 12);
        const seenAt = `2024-0${1 + Math.floor(next() * 9)}-01T00:00:00.000Z`;
        if (kind === 'save') await store.save(pick(['g', 'g', 'other']), photo(n, seenAt));
        if (kind === 'many') await store.writeMany('g', { save: [photo(n, seenAt), photo(n + 20, seenAt)], delete: next() < 0.5 ? [hash(n + 1)] : [] });
        if (kind === 'assign')
          await store.assign(
            'g',
            (await faces(1 + Math.floor(next() * 4))).map((f) => ({ ...f, ...(pick(people) ? { personId: pick(people)! } : {}) })),
          );
        if (kind === 'erase') await store.writeMany('g', { erase: await faces(1 + Math.floor(next() * 4)), delete: next() < 0.2 ? [hash(n)] : [] });
        if (kind === 'expire') await store.eraseUnknownEmbeddings('g', seenAt);
        for (const group of ['g', 'other']) {
          const counts = await store.counts(group);
          assert.deepEqual(
            { ...counts, byPerson: Object.fromEntries(counts.byPerson) },
            countedFrom(await store.list(group)),
            `step ${step}, ${kind} (${group})`,
          );
        }
      }
    });

    it('GIVEN photos of Anna, Ben and both over two years THEN albumPhotos gives those showing every one asked for, posted in the period, oldest first', async () => {
      const store = await create();
      await store.save('g', postedWith(90, '2024-05-01T10:00:00.000Z', ['anna', 'ben'], { channel: 'c1' }));
      await store.save('g', postedWith(91, '2023-12-31T23:59:59.999Z', ['ben', 'anna', 'anna']));
      await store.save('g', postedWith(92, '2024-01-01T00:00:00.000Z', ['anna', undefined]));
      await store.save('g', postedWith(93, '2025-01-01T00:00:00.000Z', ['anna', 'ben']));
      await store.save('g', postedWith(94, '2024-03-01T00:00:00.000Z', ['ben']));
      await store.save('other', postedWith(95, '2024-03-01T00:00:00.000Z', ['anna', 'ben']));
      const hashes = async (query: Parameters<PhotoStore['albumPhotos']>[1], group = 'g') => (await store.albumPhotos(group, query)).map((p) => p.hash);
      assert.deepEqual(await hashes({ people: ['anna'] }), [hash(91), hash(92), hash(90), hash(93)]);
      assert.deepEqual(await hashes({ people: ['anna', 'ben'] }), [hash(91), hash(90), hash(93)], 'both on each; a person twice on one counts once');
      assert.deepEqual(await hashes({ people: ['ben', 'anna', 'ben'] }), [hash(91), hash(90), hash(93)], 'a name given twice is one person');
      const y2024 = { from: '2024-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' };
      assert.deepEqual(await hashes({ people: ['anna', 'ben'], ...y2024 }), [hash(90)], 'from inclusive, to exclusive');
      assert.deepEqual(await hashes({ people: ['anna'], ...y2024 }), [hash(92), hash(90)]);
      assert.deepEqual(await hashes({ people: ['anna'], from: '2024-05-01T10:00:00.000Z' }), [hash(90), hash(93)]);
      assert.deepEqual(await hashes({ people: ['anna'], to: '2024-01-01T00:00:00.000Z' }), [hash(91)]);
      assert.deepEqual(await hashes({ people: ['anna', 'nobody'] }), []);
      assert.deepEqual(await hashes({ people: [] }), []);
      assert.deepEqual(await hashes({ people: ['anna', 'ben'] }, 'tg:never'), []);
      const [found] = await store.albumPhotos('g', { people: ['anna', 'ben'], ...y2024 });
      assert.deepStrictEqual(
        { ...found },
        { hash: hash(90), postedAt: '2024-05-01T10:00:00.000Z', source: { channel: 'c1' } },
        'with its source, for the walls',
      );
      const [bare] = await store.albumPhotos('g', { people: ['ben'], to: '2024-01-01T00:00:00.000Z' });
      assert.equal(bare !== undefined && 'source' in bare, false, 'no source: absent, not undefined');
      await store.assign('g', [{ photoHash: hash(90), faceIndex: 1 }]);
      assert.deepEqual(await hashes({ people: ['anna', 'ben'], ...y2024 }), [], 'a face named anew is seen at once');
    });

    it("GIVEN albums over two years THEN newestFiled gives each person's newest photo, a tie settled by hash as an album orders it", async () => {
      const store = await create();
      await store.save('g', postedWith(90, '2024-05-01T10:00:00.000Z', ['anna', 'ben'], { channel: 'c1' }));
      await store.save('g', postedWith(91, '2025-01-01T00:00:00.000Z', ['ben', 'anna', 'anna']));
      await store.save('g', postedWith(92, '2025-01-01T00:00:00.000Z', ['anna', undefined]));
      await store.save('g', postedWith(93, '2023-01-01T00:00:00.000Z', ['cleo']));
      await store.save('g', postedWith(94, '2026-01-01T00:00:00.000Z', [undefined]));
      await store.save('other', postedWith(95, '2027-03-01T00:00:00.000Z', ['anna']));
      const newest = await store.newestFiled('g');
      const last = async (id: string) => (await store.albumPhotos('g', { people: [id] })).at(-1);
      assert.deepEqual(Object.fromEntries([...newest].map(([id, photo]) => [id, photo.hash])), {
        anna: hash(92) > hash(91) ? hash(92) : hash(91),
        ben: hash(91),
        cleo: hash(93),
      });
      for (const id of ['anna', 'ben', 'cleo']) assert.deepStrictEqual({ ...newest.get(id) }, { ...(await last(id)) }, `${id}: the album's last`);
      await store.assign('g', [{ photoHash: hash(91), faceIndex: 0 }]);
      assert.deepStrictEqual(
        { ...(await store.newestFiled('g')).get('ben') },
        { hash: hash(90), postedAt: '2024-05-01T10:00:00.000Z', source: { channel: 'c1' } },
      );
      assert.equal((await store.newestFiled('tg:never')).size, 0);
    });

    it('GIVEN faces named anew THEN get and near say so, the other faces and records are unchanged, and a photo that is gone is skipped', async () => {
      const store = await create();
      await store.save('g', withFaces(70, [blend(0.95), blend(0.94), undefined], [undefined, 'p1', undefined]));
      await store.save('g', withFaces(71, [blend(0.93)], ['p1']));
      assert.equal((await store.near('g', [axis(1)], 0.9, E)).length, 3, 'the matrix is loaded before');
      await store.assign('g', [
        { photoHash: hash(70), faceIndex: 0, personId: 'p2' },
        { photoHash: hash(70), faceIndex: 1 },
        { photoHash: hash(999), faceIndex: 0, personId: 'p3' },
      ]);
      const expected = withFaces(70, [blend(0.95), blend(0.94), undefined], ['p2', undefined, undefined]);
      assert.deepStrictEqual(comparable(await store.get('g', hash(70))), comparable(expected));
      assert.deepStrictEqual(comparable(await store.get('g', hash(71))), comparable(withFaces(71, [blend(0.93)], ['p1'])));
      const near = (await store.near('g', [axis(1)], 0.9, E)).map((f) => [f.photoHash, f.faceIndex, f.personId]).sort();
      assert.deepEqual(near, [
        [hash(70), 0, 'p2'],
        [hash(70), 1, undefined],
        [hash(71), 0, 'p1'],
      ]);
      assert.equal(await store.get('g', hash(999)), undefined);
    });

    it('GIVEN faces erased with photos deleted THEN the erased keep their places with neither name nor embedding, no other face moves, near drops them, and what is gone is skipped', async () => {
      const store = await create();
      const four = withFaces(90, [blend(0.95), blend(0.94), blend(0.93), blend(0.92)], [undefined, 'p1', undefined, undefined]);
      const two = withFaces(91, [blend(0.96), blend(0.91)], [undefined, 'p2']);
      await store.save('g', four);
      await store.save('g', two);
      await store.save('g', withFaces(92, [blend(0.97)], ['p2']));
      await store.save('g', withFaces(93, [blend(0.98)], ['p1']));
      assert.equal((await store.near('g', [axis(1)], 0.9, E)).length, 8, 'the matrix is loaded before');
      await store.writeMany('g', {
        delete: [hash(93)],
        erase: [
          { photoHash: hash(90), faceIndex: 0 },
          { photoHash: hash(90), faceIndex: 1 },
          { photoHash: hash(91), faceIndex: 1 },
          { photoHash: hash(91), faceIndex: 5 },
          { photoHash: hash(93), faceIndex: 0 },
          { photoHash: hash(999), faceIndex: 0 },
        ],
      });
      const erased = (r: PhotoRecord, gone: number[]) => ({
        ...r,
        faces: r.faces.map((f, i) => {
          if (!gone.includes(i)) return f;
          const { embedding: _embedding, embedder: _embedder, personId: _personId, ...place } = f;
          return place;
        }),
      });
      assert.deepStrictEqual(comparable(await store.get('g', hash(90))), comparable(erased(four, [0, 1])));
      assert.deepStrictEqual(comparable(await store.get('g', hash(91))), comparable(erased(two, [1])));
      assert.deepStrictEqual(comparable(await store.get('g', hash(92))), comparable(withFaces(92, [blend(0.97)], ['p2'])));
      assert.equal(await store.get('g', hash(93)), undefined);
      const near = (await store.near('g', [axis(1)], 0.9, E)).map((f) => [f.photoHash, f.faceIndex, f.personId]).sort();
      assert.deepEqual(near, [
        [hash(90), 2, undefined],
        [hash(90), 3, undefined],
        [hash(91), 0, undefined],
        [hash(92), 0, 'p2'],
      ]);
      assert.deepEqual(await store.filedUnder('g', 'p1'), [], 'her faces were her only claim on those photos');
      assert.deepEqual(
        (await store.unknownFaces('g', E)).map((f) => `${f.photoHash}/${f.faceIndex}`).sort(),
        [`${hash(90)}/2`, `${hash(90)}/3`, `${hash(91)}/0`],
        'an erased place is no unknown face to cluster or name',
      );
      await store.assign('g', [{ photoHash: hash(90), faceIndex: 2, personId: 'p3' }]);
      assert.equal((await store.get('g', hash(90)))?.faces[2]?.personId, 'p3', 'a face is named by the position it always had');
    });

    it('GIVEN faces of two embedders THEN near and unknownFaces see only the embedder asked for, and describedOtherwise lists the photos of the other', async () => {
      const store = await create();
      await store.save('g', withFaces(80, [blend(0.95), blend(0.96)], [undefined, 'p1']));
      await store.save('g', withFaces(81, [blend(0.97)], [undefined], undefined, 'old-embedder@1'));
      await store.save('g', withFaces(82, [undefined], [undefined], undefined, 'old-embedder@1'));
      assert.deepEqual((await store.near('g', [axis(1)], 0.9, E)).map((f) => f.photoHash).sort(), [hash(80), hash(80)]);
      assert.deepEqual(
        (await store.near('g', [axis(1)], 0.9, 'old-embedder@1')).map((f) => f.photoHash),
        [hash(81)],
        'the matrix follows the embedder asked for',
      );
      assert.deepEqual(
        (await store.unknownFaces('g', E)).map((f) => f.photoHash),
        [hash(80)],
      );
      assert.deepEqual(
        (await store.unknownFaces('g', 'old-embedder@1')).map((f) => f.photoHash),
        [hash(81)],
      );
      assert.deepEqual(await store.describedOtherwise('g', E), [hash(81)], 'a photo without embeddings has nothing to re-describe');
      assert.deepEqual(await store.describedOtherwise('g', 'old-embedder@1'), [hash(80)]);
      await store.save('g', withFaces(81, [blend(0.97)], [undefined]));
      assert.deepEqual(await store.describedOtherwise('g', E), []);
      assert.equal((await store.near('g', [axis(1)], 0.9, E)).length, 3, 'the matrix follows the re-described photo');
    });

    it('GIVEN faces erased in place THEN no read takes them for described: near, unknownFaces, describedOtherwise, the record', async () => {
      const store = await create();
      await store.save('g', withFaces(83, [blend(0.95), blend(0.96), blend(0.97)], [undefined, 'p1', undefined]));
      assert.equal((await store.near('g', [axis(1)], 0.9, E)).length, 3);
      await store.writeMany('g', {
        erase: [
          { photoHash: hash(83), faceIndex: 0 },
          { photoHash: hash(83), faceIndex: 1 },
        ],
      });
      assert.deepEqual(
        (await store.near('g', [axis(1)], 0.9, E)).map((f) => f.faceIndex),
        [2],
      );
      assert.deepEqual(
        (await store.unknownFaces('g', E)).map((f) => f.faceIndex),
        [2],
      );
      assert.deepEqual(await store.describedOtherwise('g', 'new-embedder@2'), [hash(83)], 'for the face still described');
      await store.writeMany('g', { erase: [{ photoHash: hash(83), faceIndex: 2 }] });
      assert.deepEqual(await store.describedOtherwise('g', 'new-embedder@2'), [], 'an erased face has nothing to re-describe');
      assert.deepEqual(await store.describedOtherwise('g', E), []);
      assert.deepEqual(
        (await store.get('g', hash(83)))?.faces.map((f) => 'embedding' in f || 'embedder' in f || 'personId' in f),
        [false, false, false],
        'an erased face shows neither embedding, embedder nor name',
      );
    });

    it('GIVEN many photos to re-describe THEN describedOtherwise gives them in hash order, at most the limit', async () => {
      const store = await create();
      for (const n of [93, 91, 92]) await store.save('g', withFaces(n, [blend(0.9)], [undefined], undefined, 'old-embedder@1'));
      assert.deepEqual(await store.describedOtherwise('g', E, 2), [hash(91), hash(92)]);
      assert.deepEqual(await store.describedOtherwise('tg:never', E), []);
    });

    it('GIVEN unknown faces of different ages THEN eraseUnknownEmbeddings removes only the older unknown ones and near no longer finds them', async () => {
      const store = await create();
      await store.save('g', withFaces(60, [blend(0.95), blend(0.96)], [undefined, 'p1'], '2024-01-01T00:00:00.000Z'));
      await store.save('g', withFaces(61, [blend(0.97)], [undefined], '2024-03-01T00:00:00.000Z'));
      assert.equal((await store.near('g', [axis(1)], 0.9, E)).length, 3);
      assert.equal(await store.eraseUnknownEmbeddings('g', '2024-02-01T00:00:00.000Z'), 1);
      const old = await store.get('g', hash(60));
      assert.equal(old!.faces[0]!.embedding, undefined);
      assert.ok(old!.faces[1]!.embedding, 'a named face keeps its embedding');
      assert.ok((await store.get('g', hash(61)))!.faces[0]!.embedding, 'a newer unknown face keeps its embedding');
      assert.deepEqual((await store.near('g', [axis(1)], 0.9, E)).map((f) => f.photoHash).sort(), [hash(60), hash(61)]);
      assert.equal(await store.eraseUnknownEmbeddings('g', '2024-02-01T00:00:00.000Z'), 0);
    });
  });
}

/** The totals `counts` must give, counted from the records. */
function countedFrom(records: readonly PhotoRecord[]) {
  const byPerson: Record<string, number> = {};
  for (const record of records)
    for (const id of new Set(record.faces.flatMap((f) => (f.personId === undefined ? [] : [f.personId])))) byPerson[id] = (byPerson[id] ?? 0) + 1;
  return {
    photos: records.length,
    bytes: records.reduce((n, r) => n + r.bytes, 0),
    faces: records.reduce((n, r) => n + r.faces.length, 0),
    unknownFaces: records.reduce((n, r) => n + r.faces.filter((f) => f.embedding !== undefined && f.personId === undefined).length, 0),
    byPerson,
  };
}

/** A unit vector along dimension `d`. */
function axis(d: number): Float32Array {
  const v = new Float32Array(128);
  v[d] = 1;
  return v;
}

/** A unit vector whose similarity to axis(1) is `s`, and 0 to axis(0). */
/** Photo `n`, posted at `postedAt`, with a face filed as each of `people` (undefined: unknown). */
function postedWith(n: number, postedAt: string, people: (string | undefined)[], source?: Record<string, string>): PhotoRecord {
  return {
    ...withFaces(
      n,
      people.map(() => blend(0.9)),
      people,
    ),
    postedAt,
    ...(source ? { source } : {}),
  };
}

function blend(s: number): Float32Array {
  const v = new Float32Array(128);
  v[1] = s;
  v[2] = Math.sqrt(1 - s * s);
  return v;
}

function withFaces(
  n: number,
  embeddings: readonly (Float32Array | undefined)[],
  people: readonly (string | undefined)[],
  seenAt = '2024-05-01T00:00:00.000Z',
  embedder = E,
): PhotoRecord {
  return {
    ...bareRecord(n),
    faces: embeddings.map((embedding, i) => ({
      box: { x: i * 100, y: 0, width: 50, height: 50 },
      score: 0.9,
      eyeDistance: 20,
      seenAt,
      ...(embedding ? { embedding, embedder } : { unusable: 'too-small' as const }),
      ...(people[i] !== undefined ? { personId: people[i] } : {}),
    })),
  };
}
