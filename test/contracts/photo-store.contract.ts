import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PhotoRecord, PhotoStore } from '../../src/core/index.ts';
import { LOOK_ALIKE_GROUPS, awkwardEmbedding, comparable } from './gallery-store.contract.ts';

const hash = (n: number) => n.toString(16).padStart(64, '0');

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
    { box: { x: 10.5, y: 20, width: 100, height: 120 }, score: 0.987654321, eyeDistance: 41.25, embedding: awkwardEmbedding(n), personId: 'p1', seenAt: '2024-05-01T10:00:01.000Z' },
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
      const record: PhotoRecord = { ...bareRecord(2), faces: [{ box: { x: 1, y: 2, width: 3, height: 4 }, score: 0.5, eyeDistance: 2, seenAt: '2024-06-01T00:00:00.000Z' }] };
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
      assert.deepEqual((await store.list('g')).map((r) => r.hash), [hash(5)]);
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
        assert.deepEqual((await store.list(group)).map((r) => r.originalName), [group], group);
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
  });
}
