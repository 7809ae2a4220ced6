import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matchFace, matchFaces, peopleIn, scorePeople, similarityDistributions, type FaceMatch, type MatchPolicy } from '../../src/core/matcher.ts';
import { normalize } from '../../src/core/vector.ts';
import type { GalleryPerson } from '../../src/core/faces.ts';

/** The probe every test compares against: the first axis of the plane. */
const PROBE = unit(1, 0);
const POLICY: MatchPolicy = { threshold: 0.6, margin: 0.02 };
/** Float32 embeddings carry about 7 digits: similarities are compared to this precision. */
const EPSILON = 1e-6;

function unit(...components: number[]): Float32Array {
  return normalize(Float32Array.from(components));
}

/** A unit vector whose similarity with PROBE is `cosine`. */
function at(cosine: number): Float32Array {
  return unit(cosine, Math.sqrt(1 - cosine * cosine));
}

function person(id: string, ...cosines: number[]): GalleryPerson {
  return { id, name: id.toUpperCase(), samples: cosines.map(at) };
}

function assertPerson(match: FaceMatch | undefined, personId: string, similarity: number): void {
  assert.ok(match?.kind === 'person', `expected a person, got ${JSON.stringify(match)}`);
  assert.equal(match.personId, personId);
  assert.ok(Math.abs(match.similarity - similarity) < EPSILON, `similarity ${match.similarity} is not ${similarity}`);
}

function assertUnknown(match: FaceMatch | undefined, reason: string, best?: { personId: string; similarity: number }): void {
  assert.ok(match?.kind === 'unknown', `expected unknown, got ${JSON.stringify(match)}`);
  assert.equal(match.reason, reason);
  if (best === undefined) {
    assert.equal(match.best, undefined);
  } else {
    assert.ok(match.best, 'no best guess');
    assert.equal(match.best.personId, best.personId);
    assert.ok(Math.abs(match.best.similarity - best.similarity) < EPSILON, `best similarity ${match.best.similarity} is not ${best.similarity}`);
  }
}

describe('test vectors', () => {
  it('GIVEN at(c) THEN its similarity with the probe is c and it has unit length', () => {
    const v = at(0.8);
    assert.ok(Math.abs(v[0]! * PROBE[0]! + v[1]! * PROBE[1]! - 0.8) < EPSILON);
    assert.ok(Math.abs(Math.hypot(v[0]!, v[1]!) - 1) < EPSILON);
  });
});

describe('scorePeople', () => {
  it('GIVEN a person with several samples THEN their score is the closest sample, not the average', () => {
    const [anna] = scorePeople(PROBE, [person('anna', 0.2, 0.9, 0.5)]);
    assert.equal(anna?.personId, 'anna');
    assert.ok(Math.abs(anna.similarity - 0.9) < EPSILON);
  });

  it('GIVEN three people THEN they are listed best first', () => {
    const scores = scorePeople(PROBE, [person('anna', 0.3), person('bob', 0.9), person('carl', 0.6)]);
    assert.deepEqual(
      scores.map((s) => s.personId),
      ['bob', 'carl', 'anna'],
    );
  });

  it('GIVEN a person without samples THEN they get no score at all', () => {
    const scores = scorePeople(PROBE, [person('anna'), person('bob', 0.7)]);
    assert.deepEqual(
      scores.map((s) => s.personId),
      ['bob'],
    );
  });
});

describe('matchFace', () => {
  it('GIVEN no one enrolled THEN the face is unknown because no-one-enrolled, with no best guess', () => {
    assert.deepEqual(matchFace(PROBE, [], POLICY), { kind: 'unknown', reason: 'no-one-enrolled' });
  });

  it('GIVEN only people without samples THEN the face is unknown because no-one-enrolled', () => {
    assert.deepEqual(matchFace(PROBE, [person('anna')], POLICY), { kind: 'unknown', reason: 'no-one-enrolled' });
  });

  it('GIVEN the closest person is below the threshold THEN the face is unknown below-threshold and names the best guess', () => {
    assertUnknown(matchFace(PROBE, [person('anna', 0.5), person('bob', 0.3)], POLICY), 'below-threshold', { personId: 'anna', similarity: 0.5 });
  });

  it('GIVEN a similarity exactly at the threshold THEN the face is named', () => {
    // Orthogonal axes give an exact 0 in float32, so the boundary is tested without rounding.
    const gallery: GalleryPerson[] = [{ id: 'anna', name: 'Anna', samples: [unit(0, 1)] }];
    assertPerson(matchFace(PROBE, gallery, { threshold: 0, margin: 0.02 }), 'anna', 0);
  });

  it('GIVEN one person above the threshold THEN the face is named with their similarity', () => {
    assertPerson(matchFace(PROBE, [person('anna', 0.85)], POLICY), 'anna', 0.85);
  });

  it('GIVEN only one sample of a person passes the threshold THEN the face is still named by that sample', () => {
    // The average of these samples is 0.53, below 0.6: only the max explains a match.
    assertPerson(matchFace(PROBE, [person('anna', 0.2, 0.9, 0.5)], POLICY), 'anna', 0.9);
  });

  it('GIVEN a runner-up that also passes the threshold within the margin THEN the face is ambiguous', () => {
    assertUnknown(matchFace(PROBE, [person('bob', 0.79), person('anna', 0.8)], POLICY), 'ambiguous', { personId: 'anna', similarity: 0.8 });
  });

  it('GIVEN a runner-up that passes the threshold but trails by more than the margin THEN the best is named', () => {
    assertPerson(matchFace(PROBE, [person('bob', 0.75), person('anna', 0.8)], POLICY), 'anna', 0.8);
  });

  it('GIVEN a close runner-up below the threshold THEN it is no rival and the best is named', () => {
    assertPerson(matchFace(PROBE, [person('bob', 0.59), person('anna', 0.61)], { threshold: 0.6, margin: 0.05 }), 'anna', 0.61);
  });
});

describe('matchFaces', () => {
  it('GIVEN two faces that both match Anna THEN only the closer one is named and the other is person-already-in-photo', () => {
    const gallery = [person('anna', 1)];
    // The closer face comes second, so first-come-first-served would get this wrong.
    const matches = matchFaces([{ embedding: at(0.7) }, { embedding: at(0.9) }], gallery, POLICY);
    assert.equal(matches.length, 2);
    assertUnknown(matches[0], 'person-already-in-photo', { personId: 'anna', similarity: 0.7 });
    assertPerson(matches[1], 'anna', 0.9);
  });

  it('GIVEN two faces matching two different people THEN both are named', () => {
    const anna = { id: 'anna', name: 'Anna', samples: [unit(1, 0, 0)] };
    const bob = { id: 'bob', name: 'Bob', samples: [unit(0, 1, 0)] };
    const matches = matchFaces([{ embedding: unit(0, 1, 0) }, { embedding: unit(1, 0, 0) }], [anna, bob], POLICY);
    assertPerson(matches[0], 'bob', 1);
    assertPerson(matches[1], 'anna', 1);
  });

  it('GIVEN faces without an embedding THEN they are unusable with their own reason, in place', () => {
    const matches = matchFaces([{ unusable: 'low-confidence' }, { embedding: at(0.9) }, { unusable: 'too-small' }], [person('anna', 1)], POLICY);
    assert.deepEqual(matches[0], { kind: 'unusable', reason: 'low-confidence' });
    assertPerson(matches[1], 'anna', 0.9);
    assert.deepEqual(matches[2], { kind: 'unusable', reason: 'too-small' });
  });

  it('GIVEN no faces THEN there are no matches', () => {
    assert.deepEqual(matchFaces([], [person('anna', 1)], POLICY), []);
  });
});

describe('peopleIn', () => {
  it('GIVEN named, unknown and unusable faces THEN it lists each named person once, in face order', () => {
    const matches: FaceMatch[] = [
      { kind: 'unusable', reason: 'too-small' },
      { kind: 'person', personId: 'bob', similarity: 0.7 },
      { kind: 'unknown', reason: 'below-threshold', best: { personId: 'carl', similarity: 0.4 } },
      { kind: 'person', personId: 'anna', similarity: 0.8 },
      { kind: 'person', personId: 'bob', similarity: 0.9 },
    ];
    assert.deepEqual(peopleIn(matches), ['bob', 'anna']);
  });

  it('GIVEN no named faces THEN it lists no one', () => {
    assert.deepEqual(peopleIn([{ kind: 'unknown', reason: 'no-one-enrolled' }]), []);
  });
});

describe('similarityDistributions', () => {
  const unit = (...v: number[]) => {
    const n = Math.hypot(...v);
    return Float32Array.from(v.map((x) => x / n));
  };
  const anna = { id: 'a', name: 'Anna', samples: [unit(1, 0, 0), unit(0.9, 0.1, 0)] };
  const ben = { id: 'b', name: 'Ben', samples: [unit(0, 1, 0)] };
  const nobody = { id: 'n', name: 'Nobody', samples: [] };

  it('GIVEN two people and named faces THEN same-person pairs and faces, different-person closest scores, and no face scored against itself', () => {
    const named = [
      { embedding: unit(1, 0.05, 0), personId: 'a' },
      { embedding: unit(1, 0, 0), personId: 'a' }, // one of her samples: its perfect 1.0 is left out, its 0.99 kept
      { embedding: unit(0, 1, 0), personId: 'b' }, // Ben's only sample: nothing of his own to compare with
      { embedding: unit(0, 0, 1), personId: 'n' }, // a person with no samples counts for nothing
    ];
    const { same, different } = similarityDistributions([anna, ben, nobody], named);
    assert.equal(same.length, 3, 'one sample pair of Anna, and two of her named faces');
    assert.ok(same.every((s) => s > 0.9 && s < 0.9999));
    assert.equal(different.length, 3 + 3, 'each sample against the other person (3), each named face of a known person against the other (3)');
    assert.ok(different.every((s) => s < 0.2));
  });
});
