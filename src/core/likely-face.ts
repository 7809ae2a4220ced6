import type { Box, Embedding } from './faces.ts';
import { similarity } from './vector.ts';

/**
 * How much bigger (by area) the biggest face must be than the next for a photo of several faces to
 * be taken as a photo of that one: 2.25 is 1.5 times the width. A portrait with a friend at the
 * edge clears it easily; two people side by side at one distance never do.
 */
export const DOMINANT_AREA_RATIO = 2.25;

/** The face of a photo that a person would pick as the one meant, and why. */
export interface LikelyFace {
  readonly index: number;
  /** `agrees`: it alone matches the person's other photos; `dominant`: it is clearly the biggest. */
  readonly why: 'agrees' | 'dominant';
}

/**
 * Which of a photo's faces is the person's, the way someone looking at it would choose:
 * - the face that agrees with the person's other photos (`own`: their samples, or the faces taken
 *   from their other photos), when it alone reaches the threshold or leads the next by `margin`;
 * - else, when no face agrees, the clearly biggest face (`DOMINANT_AREA_RATIO`);
 * - else none: two faces alike in size with nothing to tell them apart, or two that both agree.
 * A face that agrees is never overruled by size: a small face that matches beats a big stranger.
 */
export function likelyFace(
  faces: readonly { readonly box: Box; readonly embedding: Embedding }[],
  own: readonly Embedding[],
  policy: { readonly threshold: number; readonly margin: number },
): LikelyFace | undefined {
  if (faces.length === 0) return undefined;
  if (faces.length === 1) return { index: 0, why: 'dominant' };
  if (own.length > 0) {
    const scores = faces.map((face, index) => ({ index, score: Math.max(...own.map((sample) => similarity(face.embedding, sample))) }));
    const [best, next] = scores.sort((a, b) => b.score - a.score);
    if (best!.score >= policy.threshold) {
      const clear = next!.score < policy.threshold || best!.score - next!.score >= policy.margin;
      return clear ? { index: best!.index, why: 'agrees' } : undefined;
    }
  }
  const areas = faces.map((face, index) => ({ index, area: face.box.width * face.box.height }));
  const [biggest, second] = areas.sort((a, b) => b.area - a.area);
  return biggest!.area >= DOMINANT_AREA_RATIO * second!.area ? { index: biggest!.index, why: 'dominant' } : undefined;
}
