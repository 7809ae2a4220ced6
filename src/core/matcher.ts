import type { DetectedFace, Embedding, GalleryPerson, UnusableReason } from './faces.ts';
import { similarity } from './vector.ts';

/**
 * The one scale of the match threshold, wherever it is set: the archive's `--threshold`,
 * `MATCH_THRESHOLD`, the bots' `/threshold` and the local page's slider. It is the similarity of
 * the shipped embedder (a face and a person's closest sample); below 0.8 strangers are named, above
 * 0.99 hardly anyone is (docs/development.md, "Recognition quality").
 */
export const THRESHOLD_RANGE = { min: 0.8, max: 0.99 } as const;

/** How sure the matcher must be before it names a face. */
export interface MatchPolicy {
  /** Minimum similarity between a face and a person's closest sample. */
  readonly threshold: number;
  /**
   * When the runner-up passes the threshold too, how far the best person must lead; closer calls
   * stay unknown. A runner-up below the threshold is no rival.
   */
  readonly margin: number;
}

export interface PersonScore {
  readonly personId: string;
  readonly similarity: number;
}

/** The verdict on one face. */
export type FaceMatch =
  | { readonly kind: 'person'; readonly personId: string; readonly similarity: number }
  | {
      readonly kind: 'unknown';
      readonly reason: 'no-one-enrolled' | 'below-threshold' | 'ambiguous' | 'person-already-in-photo';
      readonly best?: PersonScore;
    }
  | { readonly kind: 'unusable'; readonly reason: UnusableReason };

/**
 * Every person's score for one embedding, best first. A person's score is the similarity of
 * their closest sample: several samples cover poses and ages that an average would blur.
 */
export function scorePeople(embedding: Embedding, gallery: readonly GalleryPerson[]): PersonScore[] {
  const scores: PersonScore[] = [];
  for (const person of gallery) {
    let best = -Infinity;
    for (const sample of person.samples) best = Math.max(best, similarity(embedding, sample));
    if (best > -Infinity) scores.push({ personId: person.id, similarity: best });
  }
  return scores.sort((a, b) => b.similarity - a.similarity);
}

/** Names one face on its own, without looking at the other faces of the photo. */
export function matchFace(embedding: Embedding, gallery: readonly GalleryPerson[], policy: MatchPolicy): FaceMatch {
  return decide(scorePeople(embedding, gallery), policy);
}

/** The verdict on a face from its scores, best first (`scorePeople`). */
function decide(scores: readonly PersonScore[], policy: MatchPolicy): FaceMatch {
  const [best, runnerUp] = scores;
  if (!best) return { kind: 'unknown', reason: 'no-one-enrolled' };
  if (best.similarity < policy.threshold) return { kind: 'unknown', reason: 'below-threshold', best };
  if (runnerUp && runnerUp.similarity >= policy.threshold && best.similarity - runnerUp.similarity < policy.margin) {
    return { kind: 'unknown', reason: 'ambiguous', best };
  }
  return { kind: 'person', personId: best.personId, similarity: best.similarity };
}

/**
 * Names the faces of one photo. A person appears at most once in a photo, so when two faces claim
 * the same person the closer one keeps the name and the other stays unknown.
 */
export function matchFaces(
  faces: readonly Pick<DetectedFace, 'embedding' | 'unusable'>[],
  gallery: readonly GalleryPerson[],
  policy: MatchPolicy,
): FaceMatch[] {
  return matchScored(faces, scoreFaces(faces, gallery), policy);
}

/** Every face's scores, best first (`scorePeople`); undefined for a face without an embedding. */
export function scoreFaces(faces: readonly Pick<DetectedFace, 'embedding'>[], gallery: readonly GalleryPerson[]): (PersonScore[] | undefined)[] {
  return faces.map((face) => (face.embedding ? scorePeople(face.embedding, gallery) : undefined));
}

/** `matchFaces` on scores already computed (`scoreFaces`), for a caller that also shows them. */
export function matchScored(
  faces: readonly Pick<DetectedFace, 'unusable'>[],
  scores: readonly (readonly PersonScore[] | undefined)[],
  policy: MatchPolicy,
): FaceMatch[] {
  const matches: FaceMatch[] = faces.map((face, i) => {
    const scored = scores[i];
    return scored ? decide(scored, policy) : { kind: 'unusable', reason: face.unusable ?? 'too-small' };
  });
  const order = matches
    .map((match, index) => ({ match, index }))
    .filter((entry) => entry.match.kind === 'person')
    .sort((a, b) => similarityOf(b.match) - similarityOf(a.match));
  const claimed = new Set<string>();
  for (const { match, index } of order) {
    if (match.kind !== 'person') continue;
    if (claimed.has(match.personId)) {
      matches[index] = {
        kind: 'unknown',
        reason: 'person-already-in-photo',
        best: { personId: match.personId, similarity: match.similarity },
      };
    } else {
      claimed.add(match.personId);
    }
  }
  return matches;
}

function similarityOf(match: FaceMatch): number {
  return match.kind === 'person' ? match.similarity : -Infinity;
}

/** The distinct people named in a photo, in the order of their faces. */
export function peopleIn(matches: readonly FaceMatch[]): string[] {
  const ids: string[] = [];
  for (const match of matches) if (match.kind === 'person' && !ids.includes(match.personId)) ids.push(match.personId);
  return ids;
}

/** A face that was named: its embedding and who it was named as. */
export interface NamedFace {
  readonly embedding: Embedding;
  readonly personId: string;
}

/**
 * The two histograms of a threshold plot. Same-person: pairs of one person's samples, and each
 * named face against its person's closest sample. Different-person: each sample and each named
 * face against every other person's closest sample. A face that is itself a sample (a perfect 1.0)
 * is left out. Shared by the bots' `/threshold report` and `facefile ui`'s slider.
 */
export function similarityDistributions(gallery: readonly GalleryPerson[], named: Iterable<NamedFace>): { same: number[]; different: number[] } {
  const same: number[] = [],
    different: number[] = [];
  const people = gallery.filter((p) => p.samples.length > 0);
  const closest = (e: Embedding, p: GalleryPerson): number => p.samples.reduce((best, s) => Math.max(best, similarity(e, s)), -1);
  for (const person of people) {
    person.samples.forEach((a, i) => {
      for (const b of person.samples.slice(i + 1)) same.push(similarity(a, b));
    });
    for (const other of people) if (other !== person) for (const s of person.samples) different.push(closest(s, other));
  }
  for (const face of named) {
    const owner = people.find((p) => p.id === face.personId);
    if (!owner) continue;
    const own = owner.samples.map((s) => similarity(face.embedding, s)).filter((v) => v < 0.9999);
    if (own.length > 0) same.push(Math.max(...own));
    for (const other of people) if (other !== owner) different.push(closest(face.embedding, other));
  }
  return { same, different };
}
