import type { DecodedImage, DetectedFace, EngineInfo, FaceEngine } from '../../src/core/index.ts';
import { normalize } from '../../src/core/index.ts';

// Synthetic photos for tests that must not wait for the face models. A "face" is a solid block of
// colour: red and green pick one of 64 identities on a grid of 32, blue says how much this face
// looks like its owner (see LOOKS). Anything else (greys, white, blurred noise, photographs) is
// background. Grid steps of 32 and a tolerance of 6 let a block survive resizing and compositing.

const GRID = 32;
const GRID_OFFSET = 16;
const TOLERANCE = 6;
const DIMENSIONS = 128;
/** Like the real engine (ENGINE_OPTIONS): faces whose eyes are closer than this are not named. */
const MIN_EYE_DISTANCE = 12;
/** A face's eyes are this fraction of its width apart. */
const EYE_SPAN = 0.4;
/** Blocks smaller than this are specks, not faces: keeps noise from ever becoming one. */
const MIN_PIXELS = 16;
const MIN_SCORE = 0.5;

/** How much a face looks like its owner: the blue of its block, and its noise's weight. */
export const LOOKS = {
  /** Similarity about 0.99 to another clear face of the same person. */
  clear: { blue: 240, noise: 0.1 },
  /** About 0.91 to a clear face of the same person: between the thresholds an admin may set. */
  changed: { blue: 208, noise: 0.45 },
  /** About 0.80 to a clear face of the same person: below every threshold. */
  far: { blue: 176, noise: 0.75 },
} as const;
export type Look = keyof typeof LOOKS;
const LOOK_NAMES = Object.keys(LOOKS) as Look[];

/** How many identities the colours can tell apart. */
export const IDENTITIES = 64;

/** One face to draw: `identity` 0..63, its block at (x, y), `size` wide and 1.25 × as tall. */
export interface FakeFace {
  readonly identity: number;
  readonly x: number;
  readonly y: number;
  readonly size: number;
  readonly look?: Look;
}

export interface FakePhotoSpec {
  readonly width?: number;
  readonly height?: number;
  /** Grey level of the background (not 170-182, 202-214 or 234-246: those greys are faces): two photos of the same faces differ by it. */
  readonly background?: number;
  readonly faces: readonly FakeFace[];
}

function colourOf(identity: number, look: Look): [number, number, number] {
  if (!Number.isInteger(identity) || identity < 0 || identity >= IDENTITIES) throw new RangeError(`identity must be 0..${IDENTITIES - 1}: ${identity}`);
  return [GRID_OFFSET + GRID * Math.floor(identity / 8), GRID_OFFSET + GRID * (identity % 8), LOOKS[look].blue];
}

/** Per channel value: the grid step (red, green) or look (blue) it encodes, or -1. Tables keep detection fast. */
const GRID_STEP = Int8Array.from({ length: 256 }, (_, v) => {
  const i = Math.round((v - GRID_OFFSET) / GRID);
  return i >= 0 && i <= 7 && Math.abs(v - GRID_OFFSET - GRID * i) <= TOLERANCE ? i : -1;
});
const LOOK_OF_BLUE = Int8Array.from({ length: 256 }, (_, v) => LOOK_NAMES.findIndex((name) => Math.abs(v - LOOKS[name].blue) <= TOLERANCE));

/** The identity and look a pixel's colour encodes, as `identity * 3 + look`, or -1 for background. */
function classify(r: number, g: number, b: number): number {
  const i = GRID_STEP[r]!,
    j = GRID_STEP[g]!,
    look = LOOK_OF_BLUE[b]!;
  return i < 0 || j < 0 || look < 0 ? -1 : (i * 8 + j) * LOOK_NAMES.length + look;
}

/** The photo's pixels, drawn directly: what a decoder would give for `fakePhoto(spec)`. */
export function drawFakeImage(spec: FakePhotoSpec): DecodedImage {
  const width = spec.width ?? 320,
    height = spec.height ?? 240;
  const background = spec.background ?? 154;
  if (classify(background, background, background) >= 0) throw new RangeError(`grey ${background} is a face colour: pick another background`);
  const pixels = new Uint8Array(width * height * 3).fill(background);
  for (const face of spec.faces) {
    const colour = colourOf(face.identity, face.look ?? 'clear');
    const bottom = Math.min(height, face.y + Math.round(face.size * 1.25)),
      right = Math.min(width, face.x + face.size);
    for (let y = Math.max(0, face.y); y < bottom; y++) {
      for (let x = Math.max(0, face.x); x < right; x++) pixels.set(colour, (y * width + x) * 3);
    }
  }
  return { width, height, pixels, format: 'raw' };
}

/** The photo as PNG bytes, as a chat would deliver it. */
export async function fakePhoto(spec: FakePhotoSpec): Promise<Buffer> {
  // Loaded on first use: rule tests that never need a PNG start faster without sharp.
  const { default: sharp } = await import('sharp');
  const image = drawFakeImage(spec);
  return sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/** A small, fast, seeded generator (mulberry32): the same seed gives the same numbers everywhere. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussianVector(seed: number): Float32Array {
  const next = random(seed);
  const v = new Float32Array(DIMENSIONS);
  for (let d = 0; d < DIMENSIONS; d++) v[d] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return v;
}

/** The identity's own direction: every face of it lies near this unit vector. */
export function identityEmbedding(identity: number): Float32Array {
  return normalize(gaussianVector(0x9e3779b9 ^ (identity * 2654435761)));
}

/**
 * The identity's direction plus noise that depends on where the face is and how it looks: a unit
 * vector at an exact angle from the identity's (cosine 1/√(1 + noise²)), so tests can rely on it.
 */
function embeddingOf(identity: number, look: Look, x: number, y: number): Float32Array {
  const base = identityEmbedding(identity);
  const noise = gaussianVector((identity * 73856093) ^ (x * 19349663) ^ (y * 83492791) ^ (LOOK_NAMES.indexOf(look) * 2971215073));
  let along = 0;
  for (let d = 0; d < DIMENSIONS; d++) along += noise[d]! * base[d]!;
  for (let d = 0; d < DIMENSIONS; d++) noise[d] = noise[d]! - along * base[d]!;
  normalize(noise);
  const weight = LOOKS[look].noise;
  return normalize(base.map((b, d) => b + weight * noise[d]!));
}

/**
 * A `FaceEngine` for synthetic photos (see `fakePhoto`): finds each block of a face colour, boxes
 * it, scores it by how solid it is, and embeds it from its identity. Deterministic, and fast enough
 * for rule tests: no models, no workers.
 */
export class FakeFaceEngine implements FaceEngine {
  readonly info: EngineInfo = { backend: 'fake', embedder: 'fake-blocks-1', dimensions: DIMENSIONS, workers: 0 };
  /** How many images were looked at: lets a test see that a duplicate is never detected again. */
  detections = 0;

  async detect(image: DecodedImage): Promise<DetectedFace[]> {
    this.detections++;
    // A real engine reads the pixels on another thread, after the call returns: so does this one.
    await Promise.resolve();
    const { width, height, pixels } = image;
    const keys = new Int16Array(width * height);
    for (let p = 0; p < keys.length; p++) keys[p] = classify(pixels[3 * p]!, pixels[3 * p + 1]!, pixels[3 * p + 2]!);
    const faces: DetectedFace[] = [];
    const stack: number[] = [];
    for (let start = 0; start < keys.length; start++) {
      const key = keys[start]!;
      if (key < 0) continue;
      // Flood fill of the block, marking it done as it goes.
      let count = 0,
        left = width,
        top = height,
        right = -1,
        bottom = -1;
      keys[start] = -1;
      stack.push(start);
      while (stack.length > 0) {
        const p = stack.pop()!;
        const x = p % width,
          y = (p - x) / width;
        count++;
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        for (const [nx, ny] of [
          [x - 1, y],
          [x + 1, y],
          [x, y - 1],
          [x, y + 1],
        ] as const) {
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (keys[q] !== key) continue;
          keys[q] = -1;
          stack.push(q);
        }
      }
      if (count < MIN_PIXELS) continue;
      const box = { x: left, y: top, width: right - left + 1, height: bottom - top + 1 };
      faces.push(this.describe(Math.floor(key / LOOK_NAMES.length), LOOK_NAMES[key % LOOK_NAMES.length]!, box, count / (box.width * box.height)));
    }
    return faces;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private describe(identity: number, look: Look, box: DetectedFace['box'], fill: number): DetectedFace {
    const score = Math.min(0.99, fill);
    const eyeDistance = box.width * EYE_SPAN;
    if (eyeDistance < MIN_EYE_DISTANCE) return { box, score, eyeDistance, unusable: 'too-small' };
    if (score < MIN_SCORE) return { box, score, eyeDistance, unusable: 'low-confidence' };
    return { box, score, eyeDistance, embedding: embeddingOf(identity, look, box.x + (box.width >> 1), box.y + (box.height >> 1)) };
  }
}
