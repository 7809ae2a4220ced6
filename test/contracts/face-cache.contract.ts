import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DetectedFace, FaceCache } from '../../src/core/index.ts';
import { normalize } from '../../src/core/index.ts';

const face = (seed: number): DetectedFace => ({
  box: { x: seed, y: seed * 2, width: 100, height: 110 },
  score: 0.97,
  eyeDistance: 40.5,
  embedding: normalize(Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * seed + 1))),
});

/** What every `FaceCache` must do. */
export function faceCacheContract(name: string, create: () => Promise<FaceCache>): void {
  describe(`FaceCache contract: ${name}`, () => {
    it('GIVEN nothing stored THEN get answers undefined', async () => {
      assert.equal(await (await create()).get('0'.repeat(64)), undefined);
    });

    it('GIVEN faces stored THEN the same faces come back, embeddings bit for bit', async () => {
      const cache = await create();
      const faces: DetectedFace[] = [face(1), face(2), { box: { x: 1, y: 2, width: 20, height: 20 }, score: 0.8, eyeDistance: 6, unusable: 'too-small' }];
      await cache.set('a'.repeat(64), faces);
      const back = await cache.get('a'.repeat(64));
      assert.equal(back?.length, 3);
      back.forEach((f, i) => {
        assert.deepEqual(f.box, faces[i]!.box);
        assert.equal(f.score, faces[i]!.score);
        assert.equal(f.unusable, faces[i]!.unusable);
        assert.deepEqual(f.embedding && Array.from(f.embedding), faces[i]!.embedding && Array.from(faces[i]!.embedding));
      });
    });

    it('GIVEN faces stored WHEN they are deleted THEN get answers undefined, and deleting again is no error', async () => {
      const cache = await create();
      await cache.set('c'.repeat(64), []);
      await cache.delete(['c'.repeat(64)]);
      assert.equal(await cache.get('c'.repeat(64)), undefined);
      await cache.delete(['c'.repeat(64)]);
    });

    it('GIVEN 1,200 photos stored WHEN 1,100 of them and some never stored are deleted at once THEN exactly those are gone', async () => {
      const cache = await create();
      const hashes = Array.from({ length: 1200 }, (_, i) => i.toString(16).padStart(64, '0'));
      for (const hash of hashes) await cache.set(hash, [face(1)]);
      await cache.delete([...hashes.slice(50, 1150), 'f'.repeat(64)]);
      const left = [];
      for (const hash of hashes) if ((await cache.get(hash)) !== undefined) left.push(hash);
      assert.deepEqual(left, [...hashes.slice(0, 50), ...hashes.slice(1150)]);
    });

    it('GIVEN a photo with no faces stored THEN an empty list comes back, not undefined', async () => {
      const cache = await create();
      await cache.set('b'.repeat(64), []);
      assert.deepEqual(await cache.get('b'.repeat(64)), []);
    });
  });
}
