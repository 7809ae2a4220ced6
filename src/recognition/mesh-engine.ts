import sharp from 'sharp';
import type { Box, DecodedImage, DetectedFace, EngineInfo, FaceEngine } from '../core/index.ts';
import { EngineError, SerialQueue, normalize } from '../core/index.ts';
import { DLIB_TEMPLATE, EYE_CORNERS, eyeCentre, fitSimilarity, unsharpMask, warpChip, type Point, type Similarity } from './align.ts';
import { DEFAULT_DETECTOR_SETTINGS, FaceDetector, boxCenter, boxSize, type FaceCandidate, type MeshFace, type RgbImage } from './detector/index.ts';
import { loadModels, type BackendPreference, type ChipDescriber, type DescriberName, type EngineBackend } from './model-backends.ts';
import type { EmbedderName } from './embedders.ts';
import { copyFactor, cutByRegion, detectionRegions, mergeDetections } from './tiling.ts';

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
  /**
   * Which descriptor to compute. Absent: `SHIPPED_EMBEDDER` where onnxruntime-node loads, else
   * `FALLBACK_EMBEDDER` (MobileFaceNet runs only as the repaired ONNX conversion).
   */
  readonly embedder?: EmbedderName | undefined;
}

/** How one descriptor model sees a face: its chip, alignment and weight in the fused vector. */
interface Part {
  readonly describer: DescriberName;
  readonly size: number;
  /** Chip point for each mesh point used in the fit. */
  readonly template: readonly { readonly chip: Point; readonly mesh: readonly number[] }[];
  readonly flip: boolean;
  /** Its share of the cosine when several parts are fused. */
  readonly weight: number;
  /** Whether a chip enlarged from a smaller face is sharpened (`ENLARGED_SHARPEN_AMOUNT`). */
  readonly sharpenEnlarged?: boolean;
}

const dlibTemplate = (points: readonly (typeof DLIB_TEMPLATE)[number][]): Part['template'] =>
  points.map(({ chip, mesh }) => ({
    chip: [((CHIP_PADDING + chip[0]) / (1 + 2 * CHIP_PADDING)) * DLIB_CHIP, ((CHIP_PADDING + chip[1]) / (1 + 2 * CHIP_PADDING)) * DLIB_CHIP],
    mesh: [mesh],
  }));
const DLIB_CHIP = 150;
const CHIP_PADDING = 0.25;
/** Eye corners, base of the nose and mouth corners: the 7-point fit. */
const SEVEN_POINTS = [0, 3, 6, 9, 14, 15, 16].map((i) => DLIB_TEMPLATE[i]!);
/** insightface's 112x112 ArcFace template: eye centres, nose tip, mouth corners (image left first). */
const ARCFACE_TEMPLATE: Part['template'] = [
  { chip: [38.2946, 51.6963], mesh: EYE_CORNERS.right },
  { chip: [73.5318, 51.5014], mesh: EYE_CORNERS.left },
  { chip: [56.0252, 71.7366], mesh: [1] },
  { chip: [41.5493, 92.3655], mesh: [61] },
  { chip: [70.7299, 92.2041], mesh: [291] },
];
const DLIB_7: Part = { describer: 'dlib', size: DLIB_CHIP, template: dlibTemplate(SEVEN_POINTS), flip: true, weight: 1 };
const MOBILEFACENET: Part = { describer: 'mobilefacenet', size: 112, template: ARCFACE_TEMPLATE, flip: true, weight: 1 };
const PARTS: Readonly<Record<EmbedderName, readonly Part[]>> = {
  'dlib-7-flip': [DLIB_7],
  'dlib-19-flip': [{ ...DLIB_7, template: dlibTemplate(DLIB_TEMPLATE) }],
  'dlib-7': [{ ...DLIB_7, flip: false }],
  'mobilefacenet-flip': [MOBILEFACENET],
  'fused-flip': [
    { ...DLIB_7, weight: 0.5 },
    { ...MOBILEFACENET, weight: 0.5 },
  ],
  fused: [
    { ...DLIB_7, flip: false, weight: 0.5, sharpenEnlarged: true },
    { ...MOBILEFACENET, flip: false, weight: 0.5, sharpenEnlarged: true },
  ],
};

/** The embedder shipped: the best open-set filing measured (docs/development.md, "Recognition quality"). */
export const SHIPPED_EMBEDDER: EmbedderName = 'fused';
/** The embedder where onnxruntime-node does not load. */
export const FALLBACK_EMBEDDER: EmbedderName = 'dlib-7-flip';

/**
 * Every embedder's cosine is mapped onto one similarity scale, so that the threshold means the
 * same wherever it is set (MATCH_THRESHOLD, --threshold, /threshold, the local page) and
 * `DEFAULT_THRESHOLD` is every embedder's operating point: similarity = 1 - b (1 - cosine).
 * The map is built into the vector (scaled by sqrt(b), plus a constant sqrt(1 - b) component), so
 * the stores and the matcher keep comparing unit vectors by their dot product.
 * b puts each embedder's chosen raw threshold at 0.93: dlib's own (its 0.1% false accepts on LFW
 * DevTrain); fused's 0.733, fused-flip's 0.735 and mobilefacenet-flip's 0.545, where
 * `npm run bench -- albums` (seeds 1 and 2) files at least 99% right while missing under 2% of the
 * members' appearances. The fused points sit at the high end of that range: the group-photos set
 * has a stranger who looks like an enrolled person at 0.729.
 */
const CALIBRATION: Readonly<Record<EmbedderName, number>> = {
  'dlib-7-flip': 1,
  'dlib-19-flip': 1,
  'dlib-7': 1,
  'mobilefacenet-flip': (1 - 0.93) / (1 - 0.545),
  'fused-flip': (1 - 0.93) / (1 - 0.735),
  fused: (1 - 0.93) / (1 - 0.733),
};

/**
 * Each embedder's revision, raised whenever the same photo would give other vectors. `fused` 2:
 * enlarged chips sharpened (`ENLARGED_SHARPEN_AMOUNT`).
 */
const REVISION: Readonly<Record<EmbedderName, number>> = {
  'dlib-7-flip': 1,
  'dlib-19-flip': 1,
  'dlib-7': 1,
  'mobilefacenet-flip': 1,
  'fused-flip': 1,
  fused: 2,
};

/** The name stored beside every embedding; a change re-describes the library (`redescribe`). */
function embedderId(name: EmbedderName): string {
  return `${name}@${REVISION[name]}`;
}
/**
 * The similarity from which two faces are taken for the same person, on the common scale (see
 * CALIBRATION). A stranger filed into someone's album is worse than a missed photo: each
 * embedder's point is chosen for precision first.
 */
export const DEFAULT_THRESHOLD = 0.93;
/**
 * The long side of the copy faces are looked for in. With 768-pixel tiles this still finds faces
 * whose eyes are about 16 pixels apart at this size (so about 32 in a 4096-pixel photo).
 */
const DETECT_MAX_SIDE = 2048;
/** Grey of the border around a photo the detector found nothing in (see `findFacesPadded`). */
const PAD_GREY = 128;

type FallbackView = { readonly kind: 'padded'; readonly fraction: number } | { readonly kind: 'enlarged'; readonly factor: number; readonly upTo: number };

/**
 * Tried in turn on a photo where the detector found no face, until one finds some. Measured on
 * five-celebs (2026-12-05): the 220x165 Elton John photo (a face with dark glasses filling it) is
 * found with a border of 0.2 or 0.5 of its side, or enlarged 1.5 or 2 times, and not with 0.4 alone.
 */
const FALLBACK_VIEWS: readonly FallbackView[] = [
  { kind: 'padded', fraction: 0.4 },
  { kind: 'padded', fraction: 0.2 },
  { kind: 'enlarged', factor: 2, upTo: 640 },
];

type RawFace = Pick<MeshFace, 'box' | 'score' | 'mesh'>;

/**
 * The recognition core on one thread: BlazeFace finds faces, FaceMesh their 468 points (Human's
 * pipeline, in `detector/`), and each face is aligned and described by the embedder's models
 * (PARTS: MobileFaceNet and dlib's ResNet for the shipped one). The models run on onnxruntime-node
 * where it loads, else on tfjs (`model-backends.ts`). Calls are serialised; for several cores, run
 * one per worker thread (`PooledFaceEngine`).
 */
export class MeshFaceEngine implements FaceEngine {
  private readonly queue = new SerialQueue();
  readonly info: EngineInfo;

  private readonly embedder: EmbedderName;
  private readonly parts: readonly (Part & { readonly run: ChipDescriber })[];

  private constructor(
    private readonly detector: FaceDetector,
    describers: Partial<Record<DescriberName, ChipDescriber>>,
    private readonly release: () => Promise<void>,
    backend: EngineBackend,
    private readonly options: EngineOptions,
  ) {
    this.embedder = options.embedder ?? (describers.mobilefacenet ? SHIPPED_EMBEDDER : FALLBACK_EMBEDDER);
    this.parts = PARTS[this.embedder].map((part) => ({ ...part, run: describers[part.describer]! }));
    const calibrated = CALIBRATION[this.embedder] === 1 ? 0 : 1;
    const dimensions = this.parts.reduce((sum, part) => sum + part.run.dimensions, calibrated);
    this.info = { backend, embedder: embedderId(this.embedder), dimensions, workers: 1 };
  }

  static async create(options: EngineOptions): Promise<MeshFaceEngine> {
    try {
      const wanted = [...new Set(PARTS[options.embedder ?? SHIPPED_EMBEDDER].map((part) => part.describer))];
      const models = await loadModels(options.backend, options.modelsDir, wanted);
      const missing = wanted.filter((name) => !models.describers[name]);
      const why = missing.map((name) => models.unavailable[name] ?? name).join('; ');
      if (missing.length > 0 && options.embedder) {
        await models.close();
        throw new EngineError(`EMBEDDER=${options.embedder} cannot run here (${why}); use EMBEDDER=${FALLBACK_EMBEDDER}`);
      }
      if (missing.length > 0) process.emitWarning(`recognition falls back to ${FALLBACK_EMBEDDER}: ${why}`);
      return new MeshFaceEngine(new FaceDetector(models.face), models.describers, () => models.close(), models.backend, options);
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
    // pixels where the copy would lose detail (`cutChip`). A 12 MP photo then takes about 13
    // detector passes instead of about 50.
    const factor = copyFactor(Math.max(image.width, image.height), DETECT_MAX_SIDE);
    const width = Math.round(image.width / factor),
      height = Math.round(image.height / factor);
    const copy: RgbImage = factor === 1 ? image : { pixels: await resizeRgb(image, width, height), width, height };
    let raw = await this.findFaces(copy);
    for (const fallback of FALLBACK_VIEWS) {
      if (raw.length > 0) break;
      raw = await this.findFacesInView(copy, fallback);
    }
    return this.describe({ full: image, copy, factor }, factor === 1 ? raw : raw.map((face) => scale(face, factor)));
  }

  /**
   * Runs BlazeFace on the whole photo and, for large photos, on overlapping tiles; merges what the
   * views found, then runs FaceMesh once per face on the whole copy. (Meshing each view's finds
   * before merging did the same face up to four times over.)
   */
  private async findFaces(image: RgbImage): Promise<RawFace[]> {
    const found: { box: Box; score: number; candidate: FaceCandidate }[] = [];
    for (const region of detectionRegions(image.width, image.height, this.options.tileSize ?? 768)) {
      for (const candidate of (await this.detector.candidates(image, region.whole ? undefined : region)).map((c) => shiftCandidate(c, region.x, region.y))) {
        const box = faceBoxOf(candidate);
        if (Math.max(box.width, box.height) >= region.minFace && !cutByRegion(box, region, image.width, image.height))
          found.push({ box, score: candidate.confidence, candidate });
      }
    }
    const faces: RawFace[] = [];
    for (const { candidate } of mergeDetections(found)) {
      const face = await this.detector.mesh(image, candidate);
      if (face) faces.push(face);
    }
    return mergeDetections(faces);
  }

  /**
   * A view of a photo where nothing was found: surrounded by a plain border (tight face crops, a
   * profile picture or a passport-style reference, leave the detector no margin; a border gives it
   * one), or a small photo enlarged (a face that fills a 220-pixel photo is found at twice the size).
   * BlazeFace's answer near its limits depends on the framing, so more than one border is tried.
   */
  private async findFacesInView(image: RgbImage, view: FallbackView): Promise<RawFace[]> {
    if (view.kind === 'padded') {
      const pad = Math.round(Math.max(image.width, image.height) * view.fraction);
      const faces = await this.detector.detect(padImage(image, pad));
      return faces.map((face) => shift(face, -pad, -pad));
    }
    if (Math.max(image.width, image.height) > view.upTo) return [];
    const width = image.width * view.factor,
      height = image.height * view.factor;
    const faces = await this.detector.detect({ pixels: await resizeRgb(image, width, height), width, height });
    return faces.map((face) => scale(face, 1 / view.factor));
  }

  private async describe(image: Sources, raw: readonly RawFace[]): Promise<DetectedFace[]> {
    const faces = raw.map((face) => {
      const eyeDistance = distance(eyeCentre(face.mesh, EYE_CORNERS.right), eyeCentre(face.mesh, EYE_CORNERS.left));
      const unusable =
        eyeDistance < this.options.minEyeDistance ? ('too-small' as const) : face.score < this.options.minFaceScore ? ('low-confidence' as const) : undefined;
      return { face, eyeDistance, unusable };
    });
    const usable = faces.filter((f) => !f.unusable);
    const embeddings =
      usable.length === 0
        ? []
        : await this.embed(
            image,
            usable.map((f) => f.face.mesh),
          );
    let next = 0;
    return faces.map(({ face, eyeDistance, unusable }) => ({
      box: roundBox(face.box),
      score: face.score,
      eyeDistance,
      ...(unusable ? { unusable } : { embedding: embeddings[next++]! }),
    }));
  }

  /**
   * Each face's unit vector: per descriptor model, its aligned chips (and their mirror images) in
   * one batch, averaged and normalised; several models are joined with the square roots of their
   * weights (which sum to 1), so that the cosine of two joined vectors is the weighted mean of the
   * models' cosines; then mapped onto the common scale (CALIBRATION).
   */
  private async embed(image: Sources, meshes: readonly RawFace['mesh'][]): Promise<Float32Array[]> {
    const vectors = meshes.map(() => new Float32Array(this.info.dimensions));
    const b = CALIBRATION[this.embedder];
    let offset = 0;
    for (const part of this.parts) {
      const described = await describePart(part, image, meshes);
      const gain = Math.sqrt((this.parts.length === 1 ? 1 : part.weight) * b);
      described.forEach((v, i) =>
        vectors[i]!.set(
          v.map((x) => x * gain),
          offset,
        ),
      );
      offset += part.run.dimensions;
    }
    if (b !== 1) for (const v of vectors) v[offset] = Math.sqrt(1 - b);
    return vectors;
  }
}

async function describePart(part: Part & { readonly run: ChipDescriber }, image: Sources, meshes: readonly RawFace['mesh'][]): Promise<Float32Array[]> {
  const count = meshes.length,
    size = part.size,
    chipValues = size * size * 3;
  const chips = new Float32Array((part.flip ? 2 : 1) * count * chipValues);
  meshes.forEach((mesh, i) => {
    const chip = cutChip(image, alignTransform(mesh, part.template), size, part.sharpenEnlarged === true);
    chips.set(chip, i * chipValues);
    if (part.flip) mirrorInto(chip, size, chips, (count + i) * chipValues);
  });
  const values = await part.run.describe(chips, (part.flip ? 2 : 1) * count, size);
  const dims = part.run.dimensions;
  return meshes.map((_, i) => {
    const v = new Float32Array(dims);
    for (let d = 0; d < dims; d++) v[d] = values[i * dims + d]! + (part.flip ? values[(count + i) * dims + d]! : 0);
    return normalize(v);
  });
}

/**
 * A face smaller than the chip it is described from (fewer photo pixels than chip pixels) is
 * enlarged by the chip's bilinear samples and comes out softer than the faces the descriptors were
 * trained on: a chat photo's small, recompressed, often slightly blurred faces most of all. For the
 * parts that ask (`fused`'s), such a chip is sharpened by an unsharp mask of one chip pixel at full
 * strength. Measured on the album benchmark (docs/development.md, "Recognition quality"): more
 * right filings and fewer wrong ones on the chat sets, the clean sets unchanged; twice the strength
 * or a wider mask cost recall on the clean sets, and on `dlib-7-flip` alone it named more strangers.
 */
const ENLARGED_SHARPEN_AMOUNT = 1;

/** The photo a face is described from, and the smaller copy the detector saw (`factor` times smaller). */
interface Sources {
  readonly full: DecodedImage;
  readonly copy: RgbImage;
  readonly factor: number;
}

/**
 * A face's chip, resampled from the smaller copy when that still holds at least a pixel for each
 * of the chip's: averaging many 12 MP pixels into each chip pixel was most of the time a large
 * photo spent outside the models, for the same chip.
 */
function cutChip(image: Sources, transform: Similarity, size: number, sharpenEnlarged: boolean): Float32Array {
  const { full, copy, factor } = image;
  const scale = Math.hypot(transform.a, transform.b);
  if (factor > 1 && scale >= factor) {
    const reduced = { a: transform.a / factor, b: transform.b / factor, tx: transform.tx / factor, ty: transform.ty / factor };
    return warpChip(copy.pixels, copy.width, copy.height, reduced, size);
  }
  const chip = warpChip(full.pixels, full.width, full.height, transform, size);
  if (sharpenEnlarged && scale < 1) unsharpMask(chip, size, ENLARGED_SHARPEN_AMOUNT);
  return chip;
}

/** Writes the left-right mirror image of a square RGB chip into `out` at `offset`. */
function mirrorInto(chip: Float32Array, size: number, out: Float32Array, offset: number): void {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * 3,
        to = offset + (y * size + (size - 1 - x)) * 3;
      out[to] = chip[from]!;
      out[to + 1] = chip[from + 1]!;
      out[to + 2] = chip[from + 2]!;
    }
  }
}

/**
 * A resized copy for the detector, made by libvips off the JavaScript thread: smaller for a big
 * photo (an antialiasing reduce; done in JavaScript it was half of a 12 MP photo's time on
 * onnxruntime), larger for a small one where nothing was found.
 */
async function resizeRgb(image: RgbImage, width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A candidate found in a view at (dx, dy), in the whole image's pixels. */
function shiftCandidate(candidate: FaceCandidate, dx: number, dy: number): FaceCandidate {
  if (dx === 0 && dy === 0) return candidate;
  const move = (p: Point): Point => [p[0] + dx, p[1] + dy];
  return { ...candidate, start: move(candidate.start), end: move(candidate.end), landmarks: candidate.landmarks.map(move) };
}

/**
 * The face inside a candidate's box, which BlazeFace's decoding enlarged (DEFAULT_DETECTOR_SETTINGS
 * scale) for the mesh crop: the tiles' size and edge rules are about faces.
 */
function faceBoxOf(candidate: FaceCandidate): Box {
  const [cx, cy] = boxCenter(candidate.start, candidate.end);
  const [enlargedWidth, enlargedHeight] = boxSize(candidate.start, candidate.end);
  const width = enlargedWidth / DEFAULT_DETECTOR_SETTINGS.scale,
    height = enlargedHeight / DEFAULT_DETECTOR_SETTINGS.scale;
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

function padImage(image: RgbImage, pad: number): RgbImage {
  const width = image.width + 2 * pad,
    height = image.height + 2 * pad;
  const pixels = new Uint8Array(width * height * 3).fill(PAD_GREY);
  const rowBytes = image.width * 3;
  for (let y = 0; y < image.height; y++) {
    pixels.set(image.pixels.subarray(y * rowBytes, (y + 1) * rowBytes), ((y + pad) * width + pad) * 3);
  }
  return { pixels, width, height };
}

function alignTransform(mesh: RawFace['mesh'], template: Part['template']) {
  const from: Point[] = [];
  const to: Point[] = [];
  for (const { chip, mesh: indices } of template) {
    from.push(chip);
    let x = 0,
      y = 0;
    for (const index of indices) {
      x += mesh[index]![0] / indices.length;
      y += mesh[index]![1] / indices.length;
    }
    to.push([x, y]);
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
