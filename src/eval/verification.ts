import type { DetectedFace } from '../core/index.ts';
/**
 * Face verification statistics in the LFW protocol: pairs of images labelled same or different
 * person, a similarity per pair, and a threshold above which a pair is called "same".
 */

export interface Pair {
  readonly a: string;
  readonly b: string;
  readonly same: boolean;
}

export interface ScoredPair extends Pair {
  /** The similarity, or undefined when a face was not found in one of the images. */
  readonly score: number | undefined;
}

/** Parses an LFW pairs file (pairsDevTrain.txt, pairsDevTest.txt, or the 10-fold pairs.txt). */
export function parsePairs(text: string): Pair[] {
  const image = (name: string, n: string) => `${name}/${name}_${n.padStart(4, '0')}.jpg`;
  const pairs: Pair[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3) pairs.push({ a: image(f[0]!, f[1]!), b: image(f[0]!, f[2]!), same: true });
    else if (f.length === 4) pairs.push({ a: image(f[0]!, f[1]!), b: image(f[2]!, f[3]!), same: false });
  }
  return pairs;
}

/** A pair without a score (a face not found) counts as "different": the honest failure for a bot. */
function scoreOf(pair: ScoredPair): number {
  return pair.score ?? Number.NEGATIVE_INFINITY;
}

export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  if (pairs.length === 0) return 0;
  let right = 0;
  for (const p of pairs) if (scoreOf(p) >= threshold === p.same) right++;
  return right / pairs.length;
}

/** The threshold with the best accuracy on `pairs` (the midpoint between neighbouring scores). */
export function bestThreshold(pairs: readonly ScoredPair[]): { threshold: number; accuracy: number } {
  const sorted = pairs.filter((p) => p.score !== undefined).sort((x, y) => scoreOf(x) - scoreOf(y));
  // Everything scored is "same" at first (unscored pairs are always "different"); walk the cut up
  // through the sorted scores.
  let right = pairs.filter((p) => (p.score === undefined ? !p.same : p.same)).length;
  let best = { threshold: sorted.length > 0 ? scoreOf(sorted[0]!) - 1e-6 : 0, right };
  for (let i = 0; i < sorted.length; i++) {
    right += sorted[i]!.same ? -1 : 1;
    const next = sorted[i + 1];
    if (next && scoreOf(next) === scoreOf(sorted[i]!)) continue;
    if (right > best.right) best = { threshold: next ? (scoreOf(sorted[i]!) + scoreOf(next)) / 2 : scoreOf(sorted[i]!) + 1e-6, right };
  }
  return { threshold: best.threshold, accuracy: best.right / Math.max(1, pairs.length) };
}

/** 10-fold cross-validation: each fold is tested at the threshold chosen on the other nine. */
export function crossValidate(pairs: readonly ScoredPair[], folds = 10): { mean: number; std: number; thresholds: number[] } {
  const accuracies: number[] = [];
  const thresholds: number[] = [];
  for (let k = 0; k < folds; k++) {
    const test = pairs.filter((_, i) => i % folds === k);
    const train = pairs.filter((_, i) => i % folds !== k);
    const { threshold } = bestThreshold(train);
    thresholds.push(threshold);
    accuracies.push(accuracyAt(test, threshold));
  }
  const mean = accuracies.reduce((s, a) => s + a, 0) / folds;
  const std = Math.sqrt(accuracies.reduce((s, a) => s + (a - mean) ** 2, 0) / folds);
  return { mean, std, thresholds };
}

/**
 * The true-accept rate at the lowest threshold whose false-accept rate is at most `far`, with that
 * threshold. With n different-person pairs, rates below 1/n cannot be told apart from 0.
 */
export function tarAtFar(pairs: readonly ScoredPair[], far: number): { tar: number; threshold: number } {
  const impostorCount = pairs.filter((p) => !p.same).length;
  // Unscored pairs are never accepted, so only scored impostors can use up the allowance.
  const impostors = pairs
    .filter((p) => !p.same && p.score !== undefined)
    .map(scoreOf)
    .sort((x, y) => y - x);
  const genuine = pairs.filter((p) => p.same);
  const allowed = Math.floor(far * impostorCount);
  const cut = impostors[allowed];
  const threshold = cut === undefined ? Number.NEGATIVE_INFINITY : cut + 1e-9;
  const accepted = genuine.filter((p) => p.score !== undefined && p.score >= threshold).length;
  return { tar: accepted / Math.max(1, genuine.length), threshold };
}

/** LFW images are centred on their subject: the usable face nearest the centre. */
export function centralFace(faces: readonly DetectedFace[], width: number, height: number): DetectedFace | undefined {
  const distance = (f: DetectedFace) => Math.hypot(f.box.x + f.box.width / 2 - width / 2, f.box.y + f.box.height / 2 - height / 2);
  return faces.filter((f) => f.embedding).sort((a, b) => distance(a) - distance(b))[0];
}
