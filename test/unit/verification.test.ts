import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyAt, bestThreshold, crossValidate, parsePairs, tarAtFar, type ScoredPair } from '../../src/eval/verification.ts';

function pair(same: boolean, score: number | undefined, id = 0): ScoredPair {
  return { a: `a${id}.jpg`, b: `b${id}.jpg`, same, score };
}

/** 10 same pairs scored 0.80..0.89 and 10 different pairs 0.10..0.19, interleaved so every fold gets both. */
function separable(): ScoredPair[] {
  const pairs: ScoredPair[] = [];
  for (let i = 0; i < 10; i++) pairs.push(pair(true, 0.8 + i / 100, i), pair(false, 0.1 + i / 100, i));
  return pairs;
}

describe('parsePairs', () => {
  it('GIVEN an LFW pairs file with a count line, two same lines and one different line THEN it yields three pairs with padded image paths', () => {
    const text = '2\nAbel_Pacheco\t1\t4\nAkhmed_Zakayev\t1\t3\nAbdel_Madi_Shabneh\t1\tDean_Barker\t1\n';
    assert.deepEqual(parsePairs(text), [
      { a: 'Abel_Pacheco/Abel_Pacheco_0001.jpg', b: 'Abel_Pacheco/Abel_Pacheco_0004.jpg', same: true },
      { a: 'Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg', b: 'Akhmed_Zakayev/Akhmed_Zakayev_0003.jpg', same: true },
      { a: 'Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg', b: 'Dean_Barker/Dean_Barker_0001.jpg', same: false },
    ]);
  });

  it('GIVEN the 10-fold header, CRLF line ends and three-digit image numbers THEN it reads them all the same', () => {
    const text = '10\t300\r\nGeorge_W_Bush\t12\t123\r\n\r\n';
    assert.deepEqual(parsePairs(text), [{ a: 'George_W_Bush/George_W_Bush_0012.jpg', b: 'George_W_Bush/George_W_Bush_0123.jpg', same: true }]);
  });
});

describe('accuracyAt', () => {
  it('GIVEN scores on both sides of a threshold THEN a score equal to it counts as same', () => {
    const pairs = [pair(true, 0.5), pair(false, 0.4), pair(true, 0.3), pair(false, 0.6)];
    assert.equal(accuracyAt(pairs, 0.5), 0.5);
  });

  it('GIVEN pairs with no score THEN they count as different', () => {
    assert.equal(accuracyAt([pair(false, undefined), pair(true, undefined)], -1e9), 0.5);
  });

  it('GIVEN no pairs THEN the accuracy is 0', () => {
    assert.equal(accuracyAt([], 0.5), 0);
  });
});

describe('bestThreshold', () => {
  it('GIVEN perfectly separable scores THEN it finds a threshold between the groups with accuracy 1', () => {
    const { threshold, accuracy } = bestThreshold(separable());
    assert.equal(accuracy, 1);
    assert.ok(threshold > 0.19 && threshold < 0.8, `threshold ${threshold}`);
    assert.ok(Math.abs(threshold - (0.19 + 0.8) / 2) < 1e-12, 'the cut is the midpoint of the neighbouring scores');
  });

  it('GIVEN one overlapping pair on each side THEN the accuracy is what accuracyAt gives at the chosen threshold', () => {
    const pairs = [...separable(), pair(true, 0.15, 90), pair(false, 0.85, 91)];
    const { threshold, accuracy } = bestThreshold(pairs);
    assert.equal(accuracy, 20 / 22);
    assert.equal(accuracyAt(pairs, threshold), accuracy);
  });

  it('GIVEN all same pairs THEN the threshold sits below the lowest score and the accuracy is 1', () => {
    const pairs = [pair(true, 0.3), pair(true, 0.7)];
    const { threshold, accuracy } = bestThreshold(pairs);
    assert.equal(accuracy, 1);
    assert.ok(threshold < 0.3);
  });

  it('GIVEN a same pair with no score THEN it is counted as a miss', () => {
    const { accuracy } = bestThreshold([...separable(), pair(true, undefined, 99)]);
    assert.equal(accuracy, 20 / 21);
  });

  it('GIVEN a different pair with no score THEN it is counted as correctly rejected, as accuracyAt counts it', () => {
    const pairs = [...separable(), pair(false, undefined, 99)];
    const { threshold, accuracy } = bestThreshold(pairs);
    assert.equal(accuracyAt(pairs, threshold), 1);
    assert.equal(accuracy, 1);
  });
});

describe('crossValidate', () => {
  it('GIVEN separable data THEN every fold scores 1: mean 1, std 0, and a threshold per fold between the groups', () => {
    const { mean, std, thresholds } = crossValidate(separable(), 10);
    assert.equal(mean, 1);
    assert.equal(std, 0);
    assert.equal(thresholds.length, 10);
    for (const t of thresholds) assert.ok(t > 0.19 && t < 0.8, `threshold ${t}`);
  });

  it('GIVEN a fold whose threshold misplaces its own pairs THEN mean and std show it', () => {
    // Fold 0 (pairs 0, 2) is cut at 0.3, learnt from pairs 1 and 3: both right. Fold 1 (pairs 1, 3)
    // is cut at 0.55, learnt from pairs 0 and 2, so its same pair at 0.5 is missed: accuracy 0.5.
    const pairs = [pair(true, 0.9, 0), pair(true, 0.5, 1), pair(false, 0.2, 2), pair(false, 0.1, 3)];
    const { mean, std, thresholds } = crossValidate(pairs, 2);
    assert.deepEqual(thresholds, [(0.1 + 0.5) / 2, (0.2 + 0.9) / 2]);
    assert.equal(mean, 0.75);
    assert.equal(std, 0.25);
  });
});

describe('tarAtFar', () => {
  // 10 impostors scored 0.10..0.55 and 4 genuine pairs.
  const impostors = Array.from({ length: 10 }, (_, i) => pair(false, 0.1 + i * 0.05, i));
  const genuine = [pair(true, 0.95, 20), pair(true, 0.6, 21), pair(true, 0.52, 22), pair(true, 0.3, 23)];

  it('GIVEN FAR 0 THEN the threshold sits just above the highest impostor and no impostor is accepted', () => {
    const { tar, threshold } = tarAtFar([...impostors, ...genuine], 0);
    assert.ok(threshold > 0.55 && threshold < 0.55 + 1e-6, `threshold ${threshold}`);
    assert.equal(tar, 2 / 4);
  });

  it('GIVEN FAR 0.1 with 10 impostors THEN one impostor may pass and the threshold drops below it', () => {
    const { tar, threshold } = tarAtFar([...impostors, ...genuine], 0.1);
    assert.ok(threshold > 0.5 && threshold < 0.5 + 1e-6, `threshold ${threshold}`);
    assert.equal(tar, 3 / 4);
    assert.equal(impostors.filter((p) => p.score! >= threshold).length, 1);
  });

  it('GIVEN a FAR below 1/n THEN it behaves as FAR 0', () => {
    assert.deepEqual(tarAtFar([...impostors, ...genuine], 0.05), tarAtFar([...impostors, ...genuine], 0));
  });

  it('GIVEN a genuine pair with no score THEN it is never a true accept', () => {
    const { tar } = tarAtFar([pair(false, undefined, 0), pair(true, 0.9, 1), pair(true, undefined, 2)], 0);
    assert.equal(tar, 0.5);
  });
});
