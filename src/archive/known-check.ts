import type { DetectedFace, Embedding } from '../core/index.ts';
import { similarity } from '../core/index.ts';

/** Why a photo in a known person's folder is not used as a sample of them. */
export type KnownProblemKind = 'unreadable' | 'no-face' | 'unclear-face' | 'several-faces' | 'other-person';

/** A known photo that is not used, and why; `sheet` is the contact sheet that shows its faces. */
export interface KnownProblem {
  readonly file: string;
  readonly kind: KnownProblemKind;
  readonly reason: string;
  /** The contact sheet written for it (absolute path), when it has faces to show. */
  readonly sheet?: string;
}

/** One usable face from a known person's photo, before the cross-check. */
export interface Candidate {
  readonly person: string;
  readonly file: string;
  readonly face: DetectedFace & { readonly embedding: Embedding };
}

/** A candidate that looks more like someone else: its best other person and both scores. */
export interface Doubt {
  readonly candidate: Candidate;
  readonly other: string;
  readonly otherScore: number;
  /** Its closest other photo of its own person; absent when it is their only photo. */
  readonly ownScore: number | undefined;
}

/**
 * The candidates whose face matches another known person at the threshold, better than it matches
 * the rest of its own person's photos: a photo filed under the wrong name. The worst one goes
 * first and the rest are scored again without it, so that one wrong photo in Anna's folder does
 * not also cast doubt on the real photos of the person it shows.
 */
export function findDoubts(candidates: readonly Candidate[], threshold: number): Doubt[] {
  const doubts: Doubt[] = [];
  let remaining = [...candidates];
  for (;;) {
    let worst: (Doubt & { lead: number }) | undefined;
    for (const candidate of remaining) {
      let ownScore: number | undefined;
      let other: { person: string; score: number } | undefined;
      for (const peer of remaining) {
        if (peer === candidate) continue;
        const score = similarity(candidate.face.embedding, peer.face.embedding);
        if (peer.person === candidate.person) ownScore = Math.max(ownScore ?? -Infinity, score);
        else if (!other || score > other.score) other = { person: peer.person, score };
      }
      if (!other || other.score < threshold || (ownScore !== undefined && ownScore >= other.score)) continue;
      const lead = other.score - (ownScore ?? -1);
      if (!worst || lead > worst.lead) worst = { candidate, other: other.person, otherScore: other.score, ownScore, lead };
    }
    if (!worst) return doubts;
    const { lead: _lead, ...doubt } = worst;
    doubts.push(doubt);
    remaining = remaining.filter((c) => c !== worst.candidate);
  }
}

/** The words for a doubtful photo. */
export function describeDoubt(doubt: Doubt): string {
  const own = doubt.ownScore === undefined ? 'it is their only usable photo' : `${doubt.ownScore.toFixed(3)} with their other photos`;
  return `the face looks more like ${doubt.other} (${doubt.otherScore.toFixed(3)}) than like ${doubt.candidate.person} (${own}): not used`;
}
