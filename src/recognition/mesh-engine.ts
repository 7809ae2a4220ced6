import sharp from 'sharp';
import type { Box, DecodedImage, DetectedFace, EngineInfo, FaceEngine } from '../core/index.ts';
import { EngineError, SerialQueue, normalize } from '../core/index.ts';
import { DLIB_TEMPLATE, EYE_CORNERS, eyeCentre, fitSimilarity, warpChip, type Point } from './align.ts';
import { FaceDetector, type MeshFace, type RgbImage } from './detector/index.ts';
import { loadModels, type BackendPreference, type ChipDescriber, type EngineBackend } from './model-backends.ts';
import { cutByRegion, detectionRegions, mergeDetections, type Region } from './tiling.ts';

export interface EngineOptions {
  /** Where the models run: onnxruntime-node, tfjs-node or tfjs on WASM; `auto` takes the first that loads. */
  readonly backend: BackendPreference;
  readonly modelsDir: string | undefined;
  /** Faces whose eyes are closer than this many pixels are counted but not named. */
  readonly minEyeDistance: number;
  /** Faces the detector is less sure of than this are counted but not named. */
  readonly minFaceScore: number;
  /** Side of the tiles that large photos are also scanned in, for small faces. */
  readonly tileSize?: number;
  /** Which descriptor to compute; the alternatives exist so that `facefile eval` can compare them. */
  readonly embedder?: EmbedderName;
}

/**
 * The descriptors this engine can compute. `dlib-7-flip` is the one shipped; the others are kept
 * measurable (README, "Recognition quality"): face-api's port of dlib's ResNet (128-d) on a
 * 150-pixel chip aligned to dlib's mean face by a similarity fit on 7 points (eye corners, nose
 * base, mouth corners) or 19 points (with the eyelids, nose bridge and lips); `-flip` averages
 * the chip with its mirror image.
 */
export const EMBEDDERS = ['dlib-7-flip', 'dlib-19-flip', 'dlib-7'] as const;
export type EmbedderName = (typeof EMBEDDERS)[number];

/**
 * The name stored beside every embedding of the shipped embedder; a change re-describes the
 * library. The same on every backend: the converted models give the tfjs ones' numbers (to 3e-7).
 */
export const EMBEDDER = embedderId('dlib-7-flip');

function embedderId(name: EmbedderName): string {
  return `${name}@1`;
}
/**
 * The similarity from which two faces are taken for the same person: the lowest threshold with at
 * most 0.1% false accepts on LFW DevTrain (0.929; README, "Recognition quality"). A stranger filed
 * into someone's album is worse than a missed photo, so this sits above the accuracy-optimal 0.916.
 * Embedder-specific: it moves with `EMBEDDER`.
 */
export const DEFAULT_THRESHOLD = 0.93;
const CHIP_SIZE = 150;
const CHIP_PADDING = 0.25;
/** Eye corners, base of the nose and mouth corners: the 7-point fit. */
const SEVEN_POINTS = [0, 3, 6, 9, 14, 15, 16].map((i) => DLIB_TEMPLATE[i]!);
/**
 * The long side of the copy faces are looked for in. With 768-pixel tiles this still finds faces
 * whose eyes are about 16 pixels apart at this size (so about 32 in a 4096-pixel photo).
 */
const DETECT_MAX_SIDE = 2048;
/** Grey of the border around a photo the detector found nothing in (see `findFacesPadded`). */
const PAD_GREY = 128;

type RawFace = Pick<MeshFace, 'box' | 'score' | 'mesh'>;

/**
 * The recognition core on one thread: BlazeFace finds faces, FaceMesh their 468 points (Human's
 * pipeline, in `detector/`), each face is aligned to dlib's template and described by the dlib
 * ResNet (128-d), averaged with its mirror image. The models run on onnxruntime-node where it
 * loads, else on tfjs (`model-backends.ts`). Calls are serialised; for several cores, run one per
 * worker thread (`PooledFaceEngine`).
 */
export class MeshFaceEngine implements FaceEngine {
  private readonly queue = new SerialQueue();
  readonly info: EngineInfo;

  private constructor(
    private readonly detector: FaceDetector,
    private readonly describer: ChipDescriber,
    private readonly release: () => Promise<void>,
    backend: EngineBackend,
    private readonly options: EngineOptions,
  ) {
    this.info = { backend, embedder: embedderId(options.embedder ?? 'dlib-7-flip'), dimensions: describer.dimensions, workers: 1 };
  }

  static async create(options: EngineOptions): Promise<MeshFaceEngine> {
    try {
      const models = await loadModels(options.backend, options.modelsDir);
      return new MeshFaceEngine(new FaceDetector(models.face), models.describer, () => models.close(), models.backend, options);
    } catch (cause) {
      if (cause instanceof EngineError) throw cause;
      throw new EngineError(`the face models could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  detect(image: DecodedImage): Promise<DetectedFace[]> {
    return this.queue.run(() => this.detectNow(image));
  }

  async close(): Promise<void> {
    await this.queue.idle();
    await this.release();
  }

  private async detectNow(image: DecodedImage): Promise<DetectedFace[]> {
    // Faces are found on a copy at most DETECT_MAX_SIDE wide; they are described from the full
    // pixels. A 12 MP photo then takes about 13 detector passes instead of about 50.
    const factor = Math.max(1, Math.max(image.width, image.height) / DETECT_MAX_SIDE);
    const width = Math.round(image.width / factor), height = Math.round(image.height / factor);
    const copy: RgbImage = factor === 1 ? image : { pixels: await shrink(image, width, height), width, height };
    let raw = await this.findFaces(copy);
    if (raw.length === 0) raw = await this.findFacesPadded(copy);
    return this.describe(image, factor === 1 ? raw : raw.map((face) => scale(face, factor)));
  }

  /** Runs the detector on the whole photo and, for large photos, on overlapping tiles. */
  private async findFaces(image: RgbImage): Promise<RawFace[]> {
    const found: RawFace[] = [];
    for (const region of detectionRegions(image.width, image.height, this.options.tileSize ?? 768)) {
      const view = region.whole ? image : cropRegion(image, region);
      for (const face of (await this.detector.detect(view)).map((f) => shift(f, region.x, region.y))) {
        if (Math.max(face.box.width, face.box.height) >= region.minFace && !cutByRegion(face.box, region, image.width, image.height)) found.push(face);
      }
    }
    return mergeDetections(found);
  }

  /**
   * Tight face crops (a profile picture, a passport-style reference) leave the detector no margin
   * and it finds nothing; surrounded by a plain border the same face is found.
   */
  private async findFacesPadded(image: RgbImage): Promise<RawFace[]> {
    const pad = Math.round(Math.max(image.width, image.height) * 0.4);
    const faces = await this.detector.detect(padImage(image, pad));
    return faces.map((face) => shift(face, -pad, -pad));
  }

  private async describe(image: DecodedImage, raw: readonly RawFace[]): Promise<DetectedFace[]> {
    const faces = raw.map((face) => {
      const eyeDistance = distance(eyeCentre(face.mesh, EYE_CORNERS.right), eyeCentre(face.mesh, EYE_CORNERS.left));
      const unusable =
        eyeDistance < this.options.minEyeDistance ? ('too-small' as const)
        : face.score < this.options.minFaceScore ? ('low-confidence' as const)
        : undefined;
      return { face, eyeDistance, unusable };
    });
    const usable = faces.filter((f) => !f.unusable);
    const embeddings = usable.length === 0 ? [] : await this.embed(image, usable.map((f) => f.face.mesh));
    let next = 0;
    return faces.map(({ face, eyeDistance, unusable }) => ({
      box: roundBox(face.box),
      score: face.score,
      eyeDistance,
      ...(unusable ? { unusable } : { embedding: embeddings[next++]! }),
    }));
  }

  /** Aligned chips of every face and their mirror images, described in one batch. */
  private async embed(image: DecodedImage, meshes: readonly RawFace['mesh'][]): Promise<Float32Array[]> {
    const count = meshes.length;
    const embedder = this.options.embedder ?? 'dlib-7-flip';
    const points = embedder === 'dlib-19-flip' ? DLIB_TEMPLATE : SEVEN_POINTS;
    const flip = embedder !== 'dlib-7';
    const chipValues = CHIP_SIZE * CHIP_SIZE * 3;
    const chips = new Float32Array((flip ? 2 : 1) * count * chipValues);
    meshes.forEach((mesh, i) => {
      const chip = warpChip(image.pixels, image.width, image.height, alignTransform(mesh, points), CHIP_SIZE);
      chips.set(chip, i * chipValues);
      if (flip) mirrorInto(chip, chips, (count + i) * chipValues);
    });
    const values = await this.describer.describe(chips, (flip ? 2 : 1) * count, CHIP_SIZE);
    const dims = this.describer.dimensions;
    return meshes.map((_, i) => {
      const v = new Float32Array(dims);
      for (let d = 0; d < dims; d++) v[d] = values[i * dims + d]! + (flip ? values[(count + i) * dims + d]! : 0);
      return normalize(v);
    });
  }
}

/** Writes the left-right mirror image of a square RGB chip into `out` at `offset`. */
function mirrorInto(chip: Float32Array, out: Float32Array, offset: number): void {
  for (let y = 0; y < CHIP_SIZE; y++) {
    for (let x = 0; x < CHIP_SIZE; x++) {
      const from = (y * CHIP_SIZE + x) * 3, to = offset + (y * CHIP_SIZE + (CHIP_SIZE - 1 - x)) * 3;
      out[to] = chip[from]!;
      out[to + 1] = chip[from + 1]!;
      out[to + 2] = chip[from + 2]!;
    }
  }
}

/**
 * A smaller copy for the detector, made by libvips (an antialiasing reduce, off the JavaScript
 * thread): done in JavaScript it was half of a 12 MP photo's time on onnxruntime.
 */
async function shrink(image: DecodedImage, width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function cropRegion(image: RgbImage, region: Region): RgbImage {
  const pixels = new Uint8Array(region.width * region.height * 3);
  const rowBytes = region.width * 3;
  for (let y = 0; y < region.height; y++) {
    const start = ((region.y + y) * image.width + region.x) * 3;
    pixels.set(image.pixels.subarray(start, start + rowBytes), y * rowBytes);
  }
  return { pixels, width: region.width, height: region.height };
}

function padImage(image: RgbImage, pad: number): RgbImage {
  const width = image.width + 2 * pad, height = image.height + 2 * pad;
  const pixels = new Uint8Array(width * height * 3).fill(PAD_GREY);
  const rowBytes = image.width * 3;
  for (let y = 0; y < image.height; y++) {
    pixels.set(image.pixels.subarray(y * rowBytes, (y + 1) * rowBytes), ((y + pad) * width + pad) * 3);
  }
  return { pixels, width, height };
}

function alignTransform(mesh: RawFace['mesh'], points: typeof DLIB_TEMPLATE) {
  const from: Point[] = [];
  const to: Point[] = [];
  for (const { chip, mesh: index } of points) {
    from.push([((CHIP_PADDING + chip[0]) / (1 + 2 * CHIP_PADDING)) * CHIP_SIZE, ((CHIP_PADDING + chip[1]) / (1 + 2 * CHIP_PADDING)) * CHIP_SIZE]);
    to.push([mesh[index]![0], mesh[index]![1]]);
  }
  return fitSimilarity(from, to);
}

function shift(face: RawFace, dx: number, dy: number): RawFace {
  if (dx === 0 && dy === 0) return face;
  return {
    box: { ...face.box, x: face.box.x + dx, y: face.box.y + dy },
    score: face.score,
    mesh: face.mesh.map((p) => [p[0] + dx, p[1] + dy, p[2]] as const),
  };
}

function scale(face: RawFace, factor: number): RawFace {
  return {
    box: { x: face.box.x * factor, y: face.box.y * factor, width: face.box.width * factor, height: face.box.height * factor },
    score: face.score,
    mesh: face.mesh.map((p) => [p[0] * factor, p[1] * factor, p[2] * factor] as const),
  };
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

function roundBox(box: Box): Box {
  return { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
}
