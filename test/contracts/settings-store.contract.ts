import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GroupSettings, SettingsStore, UnknownCluster } from '../../src/core/index.ts';
import { LOOK_ALIKE_GROUPS } from './gallery-store.contract.ts';

const clusters: UnknownCluster[] = [
  {
    id: 1,
    faces: [
      { photoHash: 'a'.repeat(64), faceIndex: 0 },
      { photoHash: 'b'.repeat(64), faceIndex: 2 },
    ],
  },
  { id: 2, faces: [{ photoHash: 'c'.repeat(64), faceIndex: 1 }] },
];

/** What every `SettingsStore` must do. */
export function settingsStoreContract(name: string, create: () => Promise<SettingsStore>): void {
  describe(`SettingsStore contract: ${name}`, () => {
    it('GIVEN a group never seen THEN get and getClusters answer undefined', async () => {
      const store = await create();
      assert.equal(await store.get('tg:never'), undefined);
      assert.equal(await store.getClusters('tg:never'), undefined);
    });

    it('GIVEN settings saved, then saved again THEN get answers the latest exactly', async () => {
      const store = await create();
      await store.save('g', { threshold: 0.4123456789, replyMode: 'quiet' });
      assert.deepStrictEqual(await store.get('g'), { threshold: 0.4123456789, replyMode: 'quiet' });
      await store.save('g', { threshold: 0.5, replyMode: 'summary' });
      assert.deepStrictEqual(await store.get('g'), { threshold: 0.5, replyMode: 'summary' });
      const full = {
        threshold: 0.9,
        replyMode: 'quiet',
        removedAt: '2026-01-02T00:00:00.000Z',
        pending: { forget: 'p1', forgetScope: 'self' },
        forgottenAt: '2026-01-01T00:00:00.000Z',
      } as const;
      await store.save('g', full);
      assert.deepStrictEqual(await store.get('g'), full);
    });

    it('GIVEN clusters saved THEN getClusters gives them back, and a later save replaces them', async () => {
      const store = await create();
      await store.saveClusters('g', clusters);
      assert.deepStrictEqual(await store.getClusters('g'), clusters);
      await store.saveClusters('g', [clusters[1]!]);
      assert.deepStrictEqual(await store.getClusters('g'), [clusters[1]]);
    });

    it('GIVEN an empty clustering saved THEN getClusters answers an empty list, not undefined', async () => {
      const store = await create();
      await store.saveClusters('g', []);
      assert.deepStrictEqual(await store.getClusters('g'), []);
    });

    it('GIVEN settings and clusters only in groups whose ids look alike THEN each group sees only its own', async () => {
      const store = await create();
      for (const [i, group] of LOOK_ALIKE_GROUPS.entries()) {
        await store.save(group, { threshold: i / 100, replyMode: 'summary' });
        await store.saveClusters(group, [{ id: i, faces: [] }]);
      }
      for (const [i, group] of LOOK_ALIKE_GROUPS.entries()) {
        assert.equal((await store.get(group))?.threshold, i / 100, group);
        assert.deepStrictEqual(await store.getClusters(group), [{ id: i, faces: [] }], group);
      }
      assert.equal(await store.get('a:'), undefined);
    });

    it('GIVEN a group forgotten THEN its settings and clusters are gone and other groups keep theirs', async (t) => {
      const store = await create();
      if (!store.forgetGroup) {
        t.skip('this store does not implement forgetGroup');
        return;
      }
      for (const group of ['a', 'a:b']) {
        await store.save(group, { threshold: 0.4, replyMode: 'quiet' });
        await store.saveClusters(group, clusters);
      }
      await store.forgetGroup('a');
      await store.forgetGroup('tg:never');
      assert.equal(await store.get('a'), undefined);
      assert.equal(await store.getClusters('a'), undefined);
      assert.deepStrictEqual(await store.get('a:b'), { threshold: 0.4, replyMode: 'quiet' });
      assert.deepStrictEqual(await store.getClusters('a:b'), clusters);
    });

    it('GIVEN what was saved or returned is changed by the caller THEN the store is unchanged', async () => {
      const store = await create();
      const settings: GroupSettings = { threshold: 0.4, replyMode: 'quiet' };
      const saved: UnknownCluster[] = structuredClone(clusters);
      await store.save('g', settings);
      await store.saveClusters('g', saved);
      (settings as { threshold: number }).threshold = 0.9;
      (saved[0]!.faces as unknown[]).pop();
      const got = await store.getClusters('g');
      got!.pop();
      assert.deepStrictEqual(await store.get('g'), { threshold: 0.4, replyMode: 'quiet' });
      assert.deepStrictEqual(await store.getClusters('g'), clusters);
    });
  });
}
