import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { THRESHOLD_RANGE } from '../../src/core/library/index.ts';
import { singlePrecisionKernel } from '../fakes/single-precision-kernel.ts';
import { fakeLibrary, post, type FakeLibrary, type Post } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const [ANNA, BEN] = [1, 2];

/**
 * Anna and Ben enrolled; two clear photos of Anna (about 0.99 to her sample), two where she looks
 * changed (about 0.91) and one where she looks far off (about 0.80), plus one changed Ben.
 */
async function library(
  options: Parameters<typeof fakeLibrary>[1] = {},
): Promise<FakeLibrary & { clear: Post[]; changed: Post[]; far: Post; changedBen: Post }> {
  const t = fakeLibrary({}, options);
  await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
  await t.library.enroll(G, { name: 'Ben', photo: { bytes: (await post([BEN], 100)).bytes } });
  const clear = [await post([ANNA], 110), await post([BEN, ANNA], 110)];
  const changed = [await post([{ identity: ANNA, look: 'changed' }], 120), await post([BEN, { identity: ANNA, look: 'changed' }], 120)];
  const far = await post([{ identity: ANNA, look: 'far' }], 130);
  const changedBen = await post([{ identity: BEN, look: 'changed' }], 130);
  for (const p of [...clear, ...changed, far, changedBen]) await t.library.ingest(G, { bytes: p.bytes });
  return { ...t, clear, changed, far, changedBen };
}

describe('PhotoLibrary.setThreshold (fakes)', () => {
  it('GIVEN a value outside 0.8 to 0.99 THEN it is refused and nothing changes', async () => {
    const t = await library();
    for (const value of [0.79, 0.995, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.deepEqual(await t.library.setThreshold(G, value), { kind: 'out-of-range', ...THRESHOLD_RANGE }, String(value));
    }
    assert.equal((await t.library.settings(G)).threshold, 0.93);
    assert.equal((await t.library.setThreshold(G, 0.8)).kind, 'set', 'the ends are allowed');
    assert.equal((await t.library.setThreshold(G, 0.99)).kind, 'set');
  });

  it('WHEN the threshold is lowered THEN exactly the photos whose faces now pass are filed, and counted', async () => {
    const t = await library();
    const before = await t.albumOf(G, 'Anna');
    assert.ok(t.changed.every((p) => !before.includes(p.hash)));
    const result = await t.library.setThreshold(G, 0.88);
    assert.deepEqual(result, { kind: 'set', previous: 0.93, threshold: 0.88, photosChanged: 3, filed: 3, unfiled: 0 });
    const after = await t.albumOf(G, 'Anna');
    assert.ok(t.changed.every((p) => after.includes(p.hash)));
    assert.ok(!after.includes(t.far.hash), 'the far-off face is still below');
    assert.ok((await t.albumOf(G, 'Ben')).includes(t.changedBen.hash));
  });

  it('GIVEN a native kernel (single precision) THEN a re-file decides exactly as without one: the same photos move, both ways', async () => {
    // Every product in single precision, as onnxruntime's SGEMM computes it.
    const kernel = singlePrecisionKernel();
    for (const [to, back] of [
      [0.88, 0.95],
      [0.91, 0.93],
    ] as const) {
      const plain = await library();
      const native = await library({ kernel });
      for (const threshold of [to, back]) {
        assert.deepEqual(await native.library.setThreshold(G, threshold), await plain.library.setThreshold(G, threshold), `to ${threshold}`);
        for (const name of ['Anna', 'Ben'])
          assert.deepEqual((await native.albumOf(G, name)).sort(), (await plain.albumOf(G, name)).sort(), `${name} at ${threshold}`);
      }
    }
    assert.ok(kernel.calls > 0, 'the re-files went through the kernel');
  });

  it('WHEN it is raised again THEN the same photos leave the albums, and the clear ones stay', async () => {
    const t = await library();
    await t.library.setThreshold(G, 0.88);
    const result = await t.library.setThreshold(G, 0.95);
    assert.deepEqual(result, { kind: 'set', previous: 0.88, threshold: 0.95, photosChanged: 3, filed: 0, unfiled: 3 });
    const album = await t.albumOf(G, 'Anna');
    assert.ok(t.clear.every((p) => album.includes(p.hash)));
    assert.ok(t.changed.every((p) => !album.includes(p.hash)));
    assert.equal((await t.library.settings(G)).threshold, 0.95);
  });

  it('WHEN it is set THEN later photos are matched with it too', async () => {
    const t = await library();
    await t.library.setThreshold(G, 0.88);
    const result = await t.library.ingest(G, { bytes: (await post([{ identity: ANNA, look: 'changed' }], 140)).bytes });
    assert.ok(result.kind === 'filed');
    assert.deepEqual(
      result.people.map((p) => p.name),
      ['Anna'],
    );
  });
});

describe('PhotoLibrary.thresholdReport (fakes)', () => {
  it('GIVEN a proposed value THEN it counts what setting it would move, and moves nothing', async () => {
    const t = await library();
    const report = await t.library.thresholdReport(G, 0.88);
    assert.equal(report.threshold, 0.93);
    assert.deepEqual(report.proposed, { threshold: 0.88, photosChanged: 3, filed: 3, unfiled: 0 });
    const album = await t.albumOf(G, 'Anna');
    assert.ok(t.changed.every((p) => !album.includes(p.hash)));
    assert.equal((await t.library.setThreshold(G, 0.88)).kind, 'set');
  });

  it('GIVEN samples and stored faces THEN the labelled groups come from the samples alone, and every face is drawn by its best match, near misses below the threshold included', async () => {
    const t = await library();
    const report = await t.library.thresholdReport(G);
    assert.equal(report.proposed, undefined);
    const [plot] = t.renderer.plots;
    assert.ok(plot?.closest);
    assert.equal(report.samePairs, plot.same.length);
    assert.equal(report.differentPairs, plot.different.length);
    const people = await t.library.people(G);
    const pairs = people.reduce((sum, p) => sum + (p.samples * (p.samples - 1)) / 2, 0);
    assert.equal(plot.same.length, pairs, "pairs of one person's samples, no named face among them");
    assert.ok(plot.different.length > 0 && plot.different.every((s) => s < 0.5), plot.different.join());
    // The photos a threshold of 0.88 would file have faces between 0.88 and 0.93: a named face never
    // shows them, the best-match outline does.
    assert.ok(
      plot.closest.some((s) => s >= 0.88 && s < 0.93),
      plot.closest.join(),
    );
    assert.equal(plot.threshold, 0.93);
  });
});

describe('group settings (fakes)', () => {
  it('GIVEN nothing set THEN the defaults; WHEN the reply mode is set THEN it is kept beside the threshold', async () => {
    const t = fakeLibrary();
    assert.deepEqual(await t.library.settings(G), { threshold: 0.93, replyMode: 'quiet' });
    assert.deepEqual(await t.library.setReplyMode(G, 'summary'), { threshold: 0.93, replyMode: 'summary' });
    await t.library.setThreshold(G, 0.9);
    assert.deepEqual(await t.library.settings(G), { threshold: 0.9, replyMode: 'summary' });
  });
});
