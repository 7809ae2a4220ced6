import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FaceMatrix, normalize, similarity } from '../../src/core/index.ts';
import { OnnxSimilarityKernel } from '../../src/recognition/index.ts';
import { random } from '../fakes/fake-face-engine.ts';

function unitVectors(count: number, seed: number): Float32Array[] {
  const next = random(seed);
  return Array.from({ length: count }, () => normalize(Float32Array.from({ length: 128 }, () => next() - 0.5)));
}

/**
 * 20,000 faces, two to a photo, in a matrix with the onnxruntime kernel and in one without; 32
 * probes, 12 of them near faces (so that an owner has several probes close to one face), owned
 * in turn by `owners` owners.
 */
async function ownedWorld(t: TestContext, seed: number, owners: number) {
  const kernel = await OnnxSimilarityKernel.create();
  assert.ok(kernel, 'onnxruntime-node loads on this machine');
  t.after(() => kernel.close());
  const faces = unitVectors(20_000, seed);
  const probes = [...unitVectors(20, seed + 1), ...faces.slice(0, 12).map((f, i) => normalize(f.map((v, k) => v + (k === i ? 0.3 : 0))))];
  const native = new FaceMatrix(1024, kernel),
    loop = new FaceMatrix(1024);
  for (let p = 0; p < faces.length / 2; p++) {
    const own = [0, 1].map((faceIndex) => ({ faceIndex, embedding: faces[p * 2 + faceIndex]! }));
    native.setPhoto(`h${p}`, own);
    loop.setPhoto(`h${p}`, own);
  }
  return { faces, probes, owners: probes.map((_, i) => i % owners), native, loop };
}

describe('OnnxSimilarityKernel', () => {
  it('GIVEN 40,000 faces over three slices and 37 probes THEN near finds the faces the loop finds, with the same similarities', async (t) => {
    const kernel = await OnnxSimilarityKernel.create();
    assert.ok(kernel, 'onnxruntime-node loads on this machine');
    t.after(() => kernel.close());
    const faces = unitVectors(40_000, 3);
    const probes = [...unitVectors(35, 4), faces[12]!, faces[39_999]!];
    const native = new FaceMatrix(1024, kernel),
      loop = new FaceMatrix(1024);
    for (let p = 0; p < faces.length / 2; p++) {
      const own = [0, 1].map((faceIndex) => ({ faceIndex, embedding: faces[p * 2 + faceIndex]!, ...(p % 3 ? { personId: `p${p % 7}` } : {}) }));
      native.setPhoto(`h${p}`, own);
      loop.setPhoto(`h${p}`, own);
    }
    for (const min of [0.2, 0.99, similarity(faces[20_001]!, probes[3]!)]) {
      const key = (f: { photoHash: string; faceIndex: number; personId?: string }) => `${f.photoHash}/${f.faceIndex}/${f.personId ?? '-'}`;
      const expected = new Map((await loop.near(probes, min)).map((f) => [key(f), f.hits]));
      const found = await native.near(probes, min);
      assert.deepEqual(found.map(key).sort(), [...expected.keys()].sort(), `min ${min}`);
      for (const face of found) {
        const want = expected.get(key(face))!;
        assert.deepEqual(
          face.hits.map((h) => h.probe),
          want.map((h) => h.probe),
        );
        face.hits.forEach((h, i) => assert.ok(Math.abs(h.similarity - want[i]!.similarity) < 1e-5));
      }
      assert.ok(found.length > 0, `min ${min} finds faces`);
    }
  });

  it('GIVEN owners of the probes THEN between finds the photos whose closest probe of some owner lies between the two values, the loop and the kernel alike', async (t) => {
    const { faces, probes, owners, native, loop } = await ownedWorld(t, 7, 9);
    for (const [from, below] of [
      [0.2, 0.25],
      [0.3, 0.95],
      [0.9, 0.999],
    ] as const) {
      // By definition: for each face, each owner's closest probe; a photo is in when one lies in [from, below).
      const expected = new Set<string>();
      faces.forEach((face, i) => {
        const best = new Map<number, number>();
        probes.forEach((probe, j) => best.set(owners[j]!, Math.max(best.get(owners[j]!) ?? -Infinity, similarity(face, probe))));
        if ([...best.values()].some((s) => s >= from && s < below)) expected.add(`h${Math.floor(i / 2)}`);
      });
      assert.ok(expected.size > 0, `[${from}, ${below}) holds photos`);
      assert.deepEqual((await loop.between(probes, owners, from, below)).sort(), [...expected].sort(), `loop [${from}, ${below})`);
      assert.deepEqual((await native.between(probes, owners, from, below)).sort(), [...expected].sort(), `kernel [${from}, ${below})`);
    }
  });

  it('GIVEN owners of the probes THEN claimed finds the faces that look like one owner as much as like anyone, the loop and the kernel alike', async (t) => {
    const { faces, probes, owners, native, loop } = await ownedWorld(t, 9, 7);
    const key = (f: { photoHash: string; faceIndex: number }) => `${f.photoHash}/${f.faceIndex}`;
    for (const [owner, from, margin] of [
      [0, 0.2, 0.02],
      [3, 0.25, 0],
      [5, 0.9, 0.02],
    ] as const) {
      const expected = faces.flatMap((face, i) => {
        let theirs = -Infinity,
          elsewhere = -Infinity;
        probes.forEach((probe, j) => {
          if (owners[j] === owner) theirs = Math.max(theirs, similarity(face, probe));
          else elsewhere = Math.max(elsewhere, similarity(face, probe));
        });
        return theirs >= from && theirs >= elsewhere - margin ? [`h${Math.floor(i / 2)}/${i % 2}`] : [];
      });
      assert.ok(expected.length > 0, `owner ${owner} from ${from} claims faces`);
      assert.deepEqual((await loop.claimed(probes, owners, owner, from, margin)).map(key).sort(), expected.sort(), `loop, owner ${owner}`);
      assert.deepEqual((await native.claimed(probes, owners, owner, from, margin)).map(key).sort(), expected.sort(), `kernel, owner ${owner}`);
    }
  });
});
