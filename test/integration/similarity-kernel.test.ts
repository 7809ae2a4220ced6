import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FaceMatrix, normalize, similarity } from '../../src/core/index.ts';
import { OnnxSimilarityKernel } from '../../src/recognition/index.ts';
import { random } from '../fakes/fake-face-engine.ts';

function unitVectors(count: number, seed: number): Float32Array[] {
  const next = random(seed);
  return Array.from({ length: count }, () => normalize(Float32Array.from({ length: 128 }, () => next() - 0.5)));
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
});
