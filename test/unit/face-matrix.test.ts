import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FaceMatrix, normalize, similarity } from '../../src/core/index.ts';
import { random } from '../fakes/fake-face-engine.ts';

function unitVectors(count: number, seed: number): Float32Array[] {
  const next = random(seed);
  return Array.from({ length: count }, () => normalize(Float32Array.from({ length: 128 }, () => next() - 0.5)));
}

describe('FaceMatrix', () => {
  it('GIVEN odd counts of faces and probes, and freed rows reused THEN near finds exactly what a plain comparison finds', async () => {
    const faces = unitVectors(41, 1);
    const probes = [...unitVectors(4, 2), faces[7]!, faces[40]!, faces[0]!];
    const matrix = new FaceMatrix(4);
    const live = new Map<string, Float32Array[]>();
    for (let p = 0; p < 14; p++) {
      const own = faces.slice(p * 3, p * 3 + 3);
      matrix.setPhoto(
        `h${p}`,
        own.map((embedding, faceIndex) => ({ faceIndex, embedding, ...(p % 2 ? { personId: `p${p}` } : {}) })),
      );
      live.set(`h${p}`, own);
    }
    for (const gone of ['h3', 'h8']) {
      matrix.deletePhoto(gone);
      live.delete(gone);
    }
    matrix.setPhoto('h3', [{ faceIndex: 1, embedding: faces[10]! }]);
    live.set('h3', [new Float32Array(128), faces[10]!]);
    for (const min of [-1, 0, 0.05, 0.99]) {
      const expected = [...live].flatMap(([hash, own]) =>
        own.flatMap((embedding, faceIndex) => {
          if (hash === 'h3' && faceIndex === 0) return [];
          const hits = probes.flatMap((p, probe) => (similarity(embedding, p) >= min ? [{ probe, similarity: similarity(embedding, p) }] : []));
          return hits.length > 0 ? [`${hash}/${faceIndex}: ${hits.map((h) => `${h.probe}=${h.similarity.toFixed(6)}`).join(' ')}`] : [];
        }),
      );
      const found = (await matrix.near(probes, min)).map(
        (f) => `${f.photoHash}/${f.faceIndex}: ${f.hits.map((h) => `${h.probe}=${h.similarity.toFixed(6)}`).join(' ')}`,
      );
      assert.deepEqual(found.sort(), expected.sort(), `min ${min}`);
    }
    assert.equal(matrix.size, 36);
  });
});
