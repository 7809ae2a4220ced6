import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { likelyFace, type Box, type Embedding } from '../../src/core/index.ts';

/** A unit vector at `angle` radians in the plane: similarity between two is the cosine of their gap. */
function at(angle: number): Embedding {
  return Float32Array.from([Math.cos(angle), Math.sin(angle)]);
}
const box = (size: number): Box => ({ x: 0, y: 0, width: size, height: size });
const policy = { threshold: 0.93, margin: 0.02 };
const ANNA = at(0);
const STRANGER = at(1.2);

describe('likelyFace: the face a person would pick', () => {
  it('GIVEN one face of several agrees with the person’s other photos THEN it is theirs, even when it is the smaller', () => {
    assert.deepEqual(
      likelyFace(
        [
          { box: box(300), embedding: STRANGER },
          { box: box(80), embedding: at(0.1) },
        ],
        [ANNA],
        policy,
      ),
      { index: 1, why: 'agrees' },
    );
  });

  it('GIVEN two faces that both agree, neither leading by the margin THEN none is chosen', () => {
    assert.equal(
      likelyFace(
        [
          { box: box(300), embedding: at(0.1) },
          { box: box(80), embedding: at(-0.1) },
        ],
        [ANNA],
        policy,
      ),
      undefined,
    );
  });

  it('GIVEN no other photos, or none that agree THEN the clearly biggest face is chosen', () => {
    const faces = [
      { box: box(100), embedding: STRANGER },
      { box: box(151), embedding: at(2) },
    ];
    assert.deepEqual(likelyFace(faces, [], policy), { index: 1, why: 'dominant' });
    assert.deepEqual(likelyFace(faces, [ANNA], policy), { index: 1, why: 'dominant' });
  });

  it('GIVEN faces alike in size and nothing that agrees THEN none is chosen', () => {
    assert.equal(
      likelyFace(
        [
          { box: box(100), embedding: STRANGER },
          { box: box(140), embedding: at(2) },
        ],
        [],
        policy,
      ),
      undefined,
    );
  });
});
