import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GalleryStore, Person } from '../../src/core/index.ts';

/** Group ids that a naive key scheme would mix up: separators, escapes, prefixes, unicode. */
export const LOOK_ALIKE_GROUPS = ['tg:-1001', 'a', 'a:b', 'a/b', 'a%3Ab', 'a%2Fb', '50%', 'a:b:c', 'группа 👪', 'dc:8765'] as const;

/** Values that only survive a bit-exact encoding: signed zero, a denormal, infinities, NaN with a payload. */
export function awkwardEmbedding(seed: number): Float32Array {
  const v = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * seed + 1) / 11);
  v.set([-0, 1e-40, Infinity, -Infinity, 3.4028234663852886e38], 0);
  new Uint32Array(v.buffer)[5] = 0x7fc0_0001 + seed;
  return v;
}

/** The value with every Float32Array replaced by the hex of its bytes, for deepStrictEqual. */
export function comparable(value: unknown): unknown {
  if (value instanceof Float32Array) return `f32:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  return value;
}

const fullPerson = (id: string, name = 'Anna Müller'): Person => ({
  id,
  name,
  folder: name.replace(/\W+/g, '_'),
  userId: 'tg:4242',
  samples: [
    { embedding: awkwardEmbedding(1), embedder: 'test-embedder@1', photoHash: 'a'.repeat(64), addedBy: 'tg:1', addedAt: '2024-05-01T10:00:00.000Z' },
    { embedding: awkwardEmbedding(2), addedAt: '2024-05-02T10:00:00.000Z' },
  ],
  rejected: ['b'.repeat(64)],
  createdAt: '2024-05-01T09:59:00.000Z',
});

const barePerson = (id: string, name = 'Bob'): Person => ({
  id,
  name,
  folder: name,
  samples: [{ embedding: awkwardEmbedding(3), addedAt: '2024-06-01T00:00:00.000Z' }],
  rejected: [],
  createdAt: '2024-06-01T00:00:00.000Z',
});

const byId = (a: Person, b: Person) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** What every `GalleryStore` must do. */
export function galleryStoreContract(name: string, create: () => Promise<GalleryStore>): void {
  describe(`GalleryStore contract: ${name}`, () => {
    it('GIVEN a group never seen THEN list answers an empty list', async () => {
      assert.deepEqual(await (await create()).list('tg:never'), []);
    });

    it('GIVEN a person with every field saved THEN list gives them back field for field, embeddings bit for bit', async () => {
      const store = await create();
      const anna = fullPerson('p1');
      await store.save('g', anna);
      assert.deepStrictEqual(comparable(await store.list('g')), comparable([anna]));
    });

    it('GIVEN a person without the optional fields THEN those fields come back absent, not undefined', async () => {
      const store = await create();
      await store.save('g', barePerson('p2'));
      const [bob] = await store.list('g');
      assert.ok(bob);
      assert.equal('userId' in bob, false);
      assert.equal('photoHash' in bob.samples[0]!, false);
      assert.equal('addedBy' in bob.samples[0]!, false);
      assert.deepStrictEqual(comparable(bob), comparable(barePerson('p2')));
    });

    it('GIVEN a person saved twice under one id THEN list holds only the second version', async () => {
      const store = await create();
      await store.save('g', fullPerson('p1', 'Anna'));
      const renamed: Person = { ...barePerson('p1', 'Anna B'), samples: [{ embedding: awkwardEmbedding(9), addedAt: '2024-07-01T00:00:00.000Z' }] };
      await store.save('g', renamed);
      assert.deepStrictEqual(comparable(await store.list('g')), comparable([renamed]));
    });

    it('GIVEN several people saved THEN list holds each of them once', async () => {
      const store = await create();
      const people = [fullPerson('p1', 'Anna'), barePerson('p2', 'Bob'), barePerson('p3', 'Chen')];
      for (const person of people) await store.save('g', person);
      assert.deepStrictEqual(comparable((await store.list('g')).sort(byId)), comparable(people));
    });

    it('GIVEN many people saved at once THEN none is lost', async () => {
      const store = await create();
      const people = Array.from({ length: 25 }, (_, i) => barePerson(`p${String(i).padStart(2, '0')}`, `Person ${i}`));
      await Promise.all(people.map((person) => store.save('g', person)));
      assert.deepStrictEqual(comparable((await store.list('g')).sort(byId)), comparable(people));
    });

    it('GIVEN a person deleted THEN list no longer holds them and the others stay', async () => {
      const store = await create();
      await store.save('g', fullPerson('p1', 'Anna'));
      await store.save('g', barePerson('p2', 'Bob'));
      await store.delete('g', 'p1');
      assert.deepEqual(
        (await store.list('g')).map((p) => p.id),
        ['p2'],
      );
      await store.delete('g', 'p2');
      assert.deepEqual(await store.list('g'), []);
    });

    it('GIVEN an id never saved THEN delete does nothing and does not fail', async () => {
      const store = await create();
      await store.save('g', barePerson('p2'));
      await store.delete('g', 'nobody');
      await store.delete('tg:never', 'nobody');
      assert.equal((await store.list('g')).length, 1);
    });

    it('GIVEN the same person id in groups whose ids look alike THEN each group sees only its own, and deleting in one leaves the others', async () => {
      const store = await create();
      for (const group of LOOK_ALIKE_GROUPS) await store.save(group, barePerson('p1', group));
      for (const group of LOOK_ALIKE_GROUPS)
        assert.deepEqual(
          (await store.list(group)).map((p) => p.name),
          [group],
          group,
        );
      await store.delete('a', 'p1');
      assert.deepEqual(await store.list('a'), []);
      assert.deepEqual(
        (await store.list('a:b')).map((p) => p.name),
        ['a:b'],
      );
      assert.deepEqual(await store.list('a:'), []);
    });

    it('GIVEN ids holding separators THEN a group and a person id never combine into another key', async () => {
      const store = await create();
      await store.save('a', barePerson('b/c', 'first'));
      await store.save('a/b', barePerson('c', 'second'));
      await store.save('a', barePerson('b:c', 'third'));
      assert.deepEqual((await store.list('a')).map((p) => p.name).sort(), ['first', 'third']);
      assert.deepEqual(
        (await store.list('a/b')).map((p) => p.name),
        ['second'],
      );
    });

    it('GIVEN the saved person or a listed one is changed by the caller THEN the store is unchanged', async () => {
      const store = await create();
      const anna = fullPerson('p1');
      await store.save('g', anna);
      anna.samples[0]!.embedding[10] = 42;
      (anna.rejected as string[]).push('c'.repeat(64));
      const [listed] = await store.list('g');
      listed!.samples[1]!.embedding[10] = 43;
      (listed as { name: string }).name = 'changed';
      assert.deepStrictEqual(comparable(await store.list('g')), comparable([fullPerson('p1')]));
    });
  });
}
