import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FaceMatrix, normalize, similarity } from '../../src/core/index.ts';
import { singlePrecisionKernel } from '../fakes/single-precision-kernel.ts';
import { random } from '../fakes/fake-face-engine.ts';

/** A kernel as a native one computes, each value a little below the double-precision one. */
const singlePrecision = singlePrecisionKernel(2e-7);

function unitVectors(count: number, seed: number): Float32Array[] {
  const next = random(seed);
  return Array.from({ length: count }, () => normalize(Float32Array.from({ length: 128 }, () => next() - 0.5)));
}

describe('FaceMatrix', () => {
  // Single precision agrees to about 1e-7: similarities are compared to the fourth decimal there.
  for (const [way, kernel, digits] of [
    ['its own loop', undefined, 6],
    ['a single-precision kernel', singlePrecision, 4],
  ] as const) {
    it(`GIVEN odd counts of faces and probes, and freed rows reused THEN near with ${way} finds exactly what a plain comparison finds`, async () => {
      const faces = unitVectors(41, 1);
      const probes = [...unitVectors(4, 2), faces[7]!, faces[40]!, faces[0]!];
      const matrix = new FaceMatrix(4, kernel);
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
      // The last minimum is exactly one face's similarity to a probe: it is in, whatever the precision.
      for (const min of [-1, 0, 0.05, 0.99, similarity(faces[5]!, probes[1]!)]) {
        const expected = [...live].flatMap(([hash, own]) =>
          own.flatMap((embedding, faceIndex) => {
            if (hash === 'h3' && faceIndex === 0) return [];
            const hits = probes.flatMap((p, probe) => (similarity(embedding, p) >= min ? [{ probe, similarity: similarity(embedding, p) }] : []));
            return hits.length > 0 ? [`${hash}/${faceIndex}: ${hits.map((h) => `${h.probe}=${h.similarity.toFixed(digits)}`).join(' ')}`] : [];
          }),
        );
        const found = (await matrix.near(probes, min)).map(
          (f) => `${f.photoHash}/${f.faceIndex}: ${f.hits.map((h) => `${h.probe}=${h.similarity.toFixed(digits)}`).join(' ')}`,
        );
        assert.deepEqual(found.sort(), expected.sort(), `min ${min}`);
      }
      assert.equal(matrix.size, 36);
    });
  }
});

describe('FaceMatrix.between', () => {
  for (const [way, kernel] of [
    ['its own loop', undefined],
    ['a single-precision kernel', singlePrecision],
  ] as const) {
    it(`GIVEN owners of 1, 2, 5 and 9 probes THEN between with ${way} finds the photos where an owner's closest probe lies in the range, ends exact`, async () => {
      const faces = unitVectors(60, 11);
      const probes = [...unitVectors(13, 12), faces[4]!, faces[33]!, faces[50]!];
      const owners = [0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3].slice(0, probes.length);
      const matrix = new FaceMatrix(4, kernel);
      for (let p = 0; p < 20; p++)
        matrix.setPhoto(
          `h${p}`,
          [0, 1, 2].map((faceIndex) => ({ faceIndex, embedding: faces[p * 3 + faceIndex]! })),
        );
      const closestOf = (face: Float32Array) => {
        const best = new Map<number, number>();
        probes.forEach((probe, j) => best.set(owners[j]!, Math.max(best.get(owners[j]!) ?? -Infinity, similarity(face, probe))));
        return [...best.values()];
      };
      // Ends exactly on some face's closest score: `from` takes it in, `below` leaves it out.
      const onEnd = closestOf(faces[21]!).sort((a, b) => b - a)[0]!;
      for (const [from, below] of [
        [0.1, 0.2],
        [-1, 0.05],
        [onEnd, 1.5],
        [-1, onEnd],
        [onEnd, onEnd + 1e-6],
        [onEnd - 1e-6, onEnd],
        [0.99, 1.5],
      ] as const) {
        const expected = faces.flatMap((face, i) => (closestOf(face).some((s) => s >= from && s < below) ? [`h${Math.floor(i / 3)}`] : []));
        if (below === onEnd + 1e-6) assert.deepEqual(expected, ['h7'], 'only the face on the end is in');
        assert.deepEqual((await matrix.between(probes, owners, from, below)).sort(), [...new Set(expected)].sort(), `[${from}, ${below})`);
      }
    });
  }
});

describe('FaceMatrix snapshots', () => {
  it('GIVEN a matrix with freed rows and named faces WHEN it is packed and restored THEN near finds the same faces, and the restored one takes new photos', async () => {
    const faces = unitVectors(30, 5);
    const matrix = new FaceMatrix(4);
    for (let p = 0; p < 10; p++)
      matrix.setPhoto(
        `h${p}`,
        faces.slice(p * 3, p * 3 + 3).map((embedding, faceIndex) => ({ faceIndex, embedding, ...(faceIndex === 1 ? { personId: `p${p % 3}` } : {}) })),
      );
    matrix.deletePhoto('h4');
    const restored = FaceMatrix.restore(matrix.snapshot()!);
    const probes = [faces[0]!, faces[29]!, faces[13]!];
    const seen = async (m: FaceMatrix) => (await m.near(probes, -1)).map((f) => `${f.photoHash}/${f.faceIndex}/${f.personId ?? '-'}`).sort();
    assert.equal(restored.size, 27);
    assert.deepEqual(await seen(restored), await seen(matrix));
    restored.setPhoto('h4', [{ faceIndex: 0, embedding: faces[13]! }]);
    restored.assign('h0', 1, 'p9');
    const after = await restored.near([faces[13]!, faces[1]!], 0.99);
    assert.deepEqual(after.map((f) => `${f.photoHash}/${f.faceIndex}/${f.personId ?? '-'}`).sort(), ['h0/1/p9', 'h4/0/-']);
  });

  it('GIVEN a restored matrix whose embeddings end a buffer with room to spare (a kept file as read) THEN new faces go into that room, not into a copy, and room run out is grown as usual', async () => {
    const faces = unitVectors(12, 5);
    const matrix = new FaceMatrix(4);
    for (let p = 0; p < 3; p++)
      matrix.setPhoto(
        `h${p}`,
        faces.slice(p * 3, p * 3 + 3).map((embedding, faceIndex) => ({ faceIndex, embedding })),
      );
    const packed = matrix.snapshot()!;
    // As MatrixSnapshots.read leaves it: the embeddings last in a buffer two rows longer.
    const buffer = new ArrayBuffer(packed.data.byteLength + 2 * 128 * 4);
    const data = new Float32Array(buffer, 0, packed.data.length);
    data.set(packed.data);
    const restored = FaceMatrix.restore({ ...packed, data });
    restored.setPhoto('h3', [{ faceIndex: 0, embedding: faces[9]! }]);
    assert.deepEqual(Array.from(new Float32Array(buffer, 9 * 128 * 4, 128)), Array.from(faces[9]!), 'the new face is in the room after the others');
    restored.setPhoto('h4', [
      { faceIndex: 0, embedding: faces[10]! },
      { faceIndex: 1, embedding: faces[11]! },
    ]);
    const found = await restored.near([faces[9]!, faces[10]!, faces[11]!, faces[0]!], 0.99);
    assert.deepEqual(found.map((f) => `${f.photoHash}/${f.faceIndex}`).sort(), ['h0/0', 'h3/0', 'h4/0', 'h4/1']);
  });
});

describe('FaceMatrix rows under many writes', () => {
  it('GIVEN 2,000 random writes (photos saved anew, faces named, dropped, photos deleted, the matrix packed and restored) THEN it holds exactly what the records say', async () => {
    const next = random(17);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
    const embeddings = unitVectors(64, 23);
    // The records as a store holds them: each photo's faces by position, those with an embedding.
    const records = new Map<string, Map<number, { embedding: number; personId?: string }>>();
    let matrix = new FaceMatrix(4);
    const photos = Array.from({ length: 40 }, (_, i) => `h${i}`);
    const agrees = async (step: number) => {
      const expected = [...records]
        .flatMap(([hash, faces]) => [...faces].map(([faceIndex, f]) => `${hash}/${faceIndex}/${f.personId ?? '-'}/${f.embedding}`))
        .sort();
      const held = (await matrix.near(embeddings, -2)).map((f) => {
        const best = f.hits.reduce((a, b) => (b.similarity > a.similarity ? b : a));
        return `${f.photoHash}/${f.faceIndex}/${f.personId ?? '-'}/${best.probe}`;
      });
      assert.deepEqual(held.sort(), expected, `after step ${step}`);
      assert.equal(matrix.size, expected.length);
    };
    for (let step = 0; step < 2000; step++) {
      if (step % 50 === 0) await agrees(step);
      const hash = pick(photos);
      const held = records.get(hash);
      const roll = next();
      if (roll < 0.4 || !held) {
        const faces = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, faceIndex) => ({
          faceIndex,
          embedding: Math.floor(next() * embeddings.length),
          ...(next() < 0.5 ? { personId: pick(['anna', 'ben', 'cleo']) } : {}),
        })).filter(() => next() < 0.85);
        records.set(hash, new Map(faces.map((f) => [f.faceIndex, { embedding: f.embedding, ...(f.personId ? { personId: f.personId } : {}) }])));
        matrix.setPhoto(
          hash,
          faces.map((f) => ({ ...f, embedding: embeddings[f.embedding]! })),
        );
      } else if (roll < 0.6) {
        const faceIndex = Math.floor(next() * 4);
        const personId = next() < 0.3 ? undefined : pick(['anna', 'ben', 'dana']);
        const face = held.get(faceIndex);
        if (face) held.set(faceIndex, { embedding: face.embedding, ...(personId ? { personId } : {}) });
        matrix.assign(hash, faceIndex, personId);
      } else if (roll < 0.8) {
        const gone = [0, 1, 2, 3].filter(() => next() < 0.4);
        for (const faceIndex of gone) held.delete(faceIndex);
        matrix.dropFaces(hash, gone);
      } else if (roll < 0.95) {
        records.delete(hash);
        matrix.deletePhoto(hash);
      } else {
        const packed = matrix.snapshot();
        if (packed) matrix = FaceMatrix.restore(packed);
      }
    }
    await agrees(2000);
  });
});
