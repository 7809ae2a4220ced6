import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adviseSample, faceSharpness, BLURRED_FACE_SHARPNESS, SMALL_FACE_EYE_DISTANCE, type DecodedImage, type Embedding } from '../../src/core/index.ts';

/** A unit vector at `angle` radians in the plane: similarity between two is the cosine of their gap. */
function at(angle: number): Embedding {
  return Float32Array.from([Math.cos(angle), Math.sin(angle)]);
}
const policy = { threshold: 0.93, margin: 0.04 };
const face = (embedding: Embedding, eyeDistance = 40) => ({ eyeDistance, embedding });
const kinds = (input: Parameters<typeof adviseSample>[0]) => adviseSample(input).map((a) => a.kind);

/** A grey image of stripes `period` pixels wide, each edge softened over `soft` pixels (0: hard). */
function stripes(size: number, period: number, soft: number): DecodedImage {
  const pixels = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const phase = x % (2 * period);
      const edge = Math.min(phase, Math.abs(phase - period), 2 * period - phase);
      const base = phase < period ? 40 : 210;
      const level = soft > 0 && edge < soft ? 125 + ((base - 125) * edge) / soft : base;
      pixels.fill(Math.round(level), (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  }
  return { width: size, height: size, pixels, format: 'raw' };
}

describe('advice on a new sample', () => {
  it('GIVEN a clear face like the person’s other samples THEN there is none', () => {
    assert.deepEqual(
      kinds({ face: face(at(0.05)), sharpness: 0.2, own: [at(0), at(0.1)], others: [{ id: 'ben', name: 'Ben', samples: [at(1)] }], ...policy }),
      [],
    );
  });
  it('GIVEN a face under the small size or the blur line THEN it says so, and nothing else', () => {
    assert.deepEqual(kinds({ face: face(at(0), SMALL_FACE_EYE_DISTANCE - 1), own: [], others: [], ...policy }), ['small']);
    assert.deepEqual(kinds({ face: face(at(0)), sharpness: BLURRED_FACE_SHARPNESS - 0.01, own: [], others: [], ...policy }), ['blurred']);
    assert.deepEqual(kinds({ face: face(at(0)), own: [], others: [], ...policy }), [], 'no sharpness: blur is not judged');
  });
  it('GIVEN a face unlike two or more of the person’s samples THEN it says so; unlike their only one, it cannot tell which is off', () => {
    assert.deepEqual(kinds({ face: face(at(1)), own: [at(0), at(0.05)], others: [], ...policy }), ['unlike-own']);
    assert.deepEqual(kinds({ face: face(at(1)), own: [at(0)], others: [], ...policy }), []);
  });
  it('GIVEN a face as close to someone else as to the person THEN it names that someone, near the threshold too', () => {
    const advice = adviseSample({ face: face(at(1)), own: [at(0), at(0.05)], others: [{ id: 'ben', name: 'Ben', samples: [at(1.3)] }], ...policy });
    assert.deepEqual(advice, [{ kind: 'like-other', name: 'Ben' }]);
    assert.deepEqual(
      kinds({ face: face(at(0)), own: [at(0.02), at(0.03)], others: [{ id: 'ben', name: 'Ben', samples: [at(0.3)] }], ...policy }),
      [],
      'closer to their own',
    );
  });
  it('GIVEN hard and soft stripes THEN the hard ones are sharper, on either side of the blur line', () => {
    const box = { x: 0, y: 0, width: 128, height: 128 };
    const hard = faceSharpness(stripes(128, 16, 0), box);
    const soft = faceSharpness(stripes(128, 16, 8), box);
    assert.ok(hard > BLURRED_FACE_SHARPNESS && soft < BLURRED_FACE_SHARPNESS, `hard ${hard}, soft ${soft}`);
  });
  it('GIVEN a box partly outside the photo THEN it measures what is inside, without throwing', () => {
    const value = faceSharpness(stripes(64, 3, 0), { x: 40, y: 40, width: 60, height: 60 });
    assert.ok(Number.isFinite(value));
  });
});
