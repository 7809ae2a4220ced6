import type { Box, DecodedImage, Embedding, GalleryPerson } from './faces.ts';
import { scorePeople } from './matcher.ts';

/**
 * Below this many pixels between the eyes a face still gives a sample, but a poor one: chat photos
 * of groups put faces there, and a closer photo matches them better. (The engine refuses faces under
 * `MIN_EYE_DISTANCE`, 12 by default; LFW's portraits sit at 35-45.)
 */
export const SMALL_FACE_EYE_DISTANCE = 24;

/**
 * Below this sharpness (`faceSharpness`) a face is blurred. Measured 2026-12-05 on 100 LFW portraits
 * and 39 five-celebs photos: the sharp ones' 5th percentile is 0.110 (LFW) and 0.104 (celebs); the
 * same LFW photos blurred with a Gaussian of sigma 2 have a median of 0.073, of sigma 4 a 95th
 * percentile under 0.03. 0.07 takes in the clearly soft and none of the sharp.
 */
export const BLURRED_FACE_SHARPNESS = 0.07;

/** What a new sample's photo could do better; the sample is taken all the same. */
export type SampleAdvice =
  | { readonly kind: 'small'; readonly eyeDistance: number }
  | { readonly kind: 'blurred' }
  /** It matches none of the person's other samples (two or more) at the threshold. */
  | { readonly kind: 'unlike-own' }
  /** It is as close to (or closer to) someone else as to the person's own samples. */
  | { readonly kind: 'like-other'; readonly name: string };

/**
 * How sharp a face is, whatever its size: the face's box averaged down to 64 x 64 grey levels, the
 * variance of its Laplacian over the variance of the grey levels (so that a dim or flat photo is not
 * taken for a soft one). About 0.2 for a sharp portrait, under 0.05 for a blurred one.
 */
export function faceSharpness(image: DecodedImage, box: Box, size = 64): number {
  const channels = Math.max(1, Math.round(image.pixels.length / (image.width * image.height)));
  const grey = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    const top = Math.max(0, Math.floor(box.y + (y / size) * box.height));
    const bottom = Math.min(image.height, Math.max(top + 1, Math.ceil(box.y + ((y + 1) / size) * box.height)));
    for (let x = 0; x < size; x++) {
      const left = Math.max(0, Math.floor(box.x + (x / size) * box.width));
      const right = Math.min(image.width, Math.max(left + 1, Math.ceil(box.x + ((x + 1) / size) * box.width)));
      let sum = 0;
      let n = 0;
      for (let yy = top; yy < bottom; yy++) {
        for (let xx = left; xx < right; xx++) {
          const i = (yy * image.width + xx) * channels;
          sum += channels >= 3 ? 0.299 * image.pixels[i]! + 0.587 * image.pixels[i + 1]! + 0.114 * image.pixels[i + 2]! : image.pixels[i]!;
          n++;
        }
      }
      grey[y * size + x] = n > 0 ? sum / n : 0;
    }
  }
  const greyVariance = variance(grey);
  const laplacian = new Float64Array((size - 2) * (size - 2));
  let k = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const at = y * size + x;
      laplacian[k++] = grey[at - size]! + grey[at + size]! + grey[at - 1]! + grey[at + 1]! - 4 * grey[at]!;
    }
  }
  return variance(laplacian) / Math.max(greyVariance, 1);
}

function variance(values: Float64Array): number {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let sum = 0;
  for (const v of values) sum += (v - mean) ** 2;
  return sum / values.length;
}

/**
 * What to tell whoever adds this face as a person's sample: a small or blurred face, one that
 * matches none of the person's other samples, or one that is as close to someone else. `sharpness`
 * is `faceSharpness` where the photo's pixels are at hand (left out, blur is not judged).
 */
export function adviseSample(input: {
  readonly face: { readonly eyeDistance: number; readonly embedding: Embedding };
  readonly sharpness?: number;
  readonly own: readonly Embedding[];
  /** The other known people, as the matcher takes them. */
  readonly others: readonly GalleryPerson[];
  readonly threshold: number;
  /** How far under the threshold another person still counts as a look-alike: the matcher's margin. */
  readonly margin: number;
}): SampleAdvice[] {
  const advice: SampleAdvice[] = [];
  if (input.face.eyeDistance < SMALL_FACE_EYE_DISTANCE) advice.push({ kind: 'small', eyeDistance: Math.round(input.face.eyeDistance) });
  if (input.sharpness !== undefined && input.sharpness < BLURRED_FACE_SHARPNESS) advice.push({ kind: 'blurred' });
  // Scored as the matcher scores a person: the similarity of their closest sample.
  const own = scorePeople(input.face.embedding, [{ id: '', name: '', samples: input.own }])[0]?.similarity;
  const [closest] = scorePeople(input.face.embedding, input.others);
  const lookalike = closest && input.others.find((p) => p.id === closest.personId);
  if (closest && lookalike && closest.similarity >= input.threshold - input.margin && (own === undefined || closest.similarity >= own))
    advice.push({ kind: 'like-other', name: lookalike.name });
  // Unlike one other sample says nothing about which of the two is off; unlike two or more does.
  else if (own !== undefined && input.own.length >= 2 && own < input.threshold) advice.push({ kind: 'unlike-own' });
  return advice;
}

/** One plain sentence for each piece of advice about a sample of `name`. */
export function describeAdvice(advice: SampleAdvice, name: string): string {
  switch (advice.kind) {
    case 'small':
      return `The face is small in this photo (${advice.eyeDistance} px between the eyes); a closer photo of ${name} would match better.`;
    case 'blurred':
      return `The face is blurred; a sharper photo of ${name} would match better.`;
    case 'unlike-own':
      return `This face matches none of ${name}'s other samples: check that it is ${name}; a clearer photo would match better.`;
    case 'like-other':
      return `This face looks as much like ${advice.name} as like ${name}; a clearer photo keeps the two apart.`;
  }
}
