import type * as tfjs from '@tensorflow/tfjs-core';
import type { Human, Config as HumanConfig, FaceResult } from '@vladmandic/human';
import type { Box, DecodedImage, DetectedFace, EngineInfo, FaceEngine } from '../core/index.ts';
import { EngineError, SerialQueue, normalize } from '../core/index.ts';
import { DLIB_TEMPLATE, EYE_CORNERS, eyeCentre, fitSimilarity, shrinkRgb, warpChip, type Point } from './align.ts';
import { MODEL_SCHEME, ModelFiles } from './models.ts';
import { loadRuntime, wasmBinariesDir, type BackendPreference, type DescriptorNet, type Runtime, type Tf } from './runtime.ts';
import { cutByRegion, detectionRegions, mergeDetections, type Region } from './tiling.ts';

export interface EngineOptions {
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
 * measurable (README, "Recognition quality"):
 * - `dlib-*`: face-api's port of dlib's ResNet (128-d) on a 150-pixel chip aligned to dlib's mean
 *   face by a similarity fit on 7 points (eye corners, nose base, mouth corners) or 19 points (with
 *   the eyelids, nose bridge and lips); `-flip` averages the chip with its mirror image.
 * - `faceres`: Human's own HSE-FaceRes (1024-d) on Human's rotated face crop.
 */
export const EMBEDDERS = ['dlib-7-flip', 'dlib-19-flip', 'dlib-7', 'faceres'] as const;
export type EmbedderName = (typeof EMBEDDERS)[number];

/** The name stored beside every embedding of the shipped embedder; a change means re-enrolling. */
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
/** Detections below this are dropped outright: lower ones are mostly not faces at all. */
const DETECTOR_MIN_CONFIDENCE = 0.35;

interface RawFace {
  readonly box: Box;
  readonly score: number;
  readonly mesh: readonly (readonly number[])[];
  /** Human's own descriptor, only with the `faceres` embedder. */
  readonly faceres?: readonly number[];
}

/**
 * The recognition core on one thread: Human finds faces and their 468-point meshes (blazeface +
 * facemesh); each face is aligned to dlib's template and described by face-api's port of dlib's
 * ResNet (128-d), averaged with its mirror image. Calls are serialised: a Human instance is not
 * re-entrant. For several cores, run one per worker thread (`PooledFaceEngine`).
 */
export class HumanFaceEngine implements FaceEngine {
  private readonly queue = new SerialQueue();
  readonly info: EngineInfo;

  private constructor(
    private readonly runtime: Runtime,
    private readonly human: Human,
    private readonly descriptor: DescriptorNet,
    private readonly options: EngineOptions,
  ) {
    const embedder = options.embedder ?? 'dlib-7-flip';
    this.info = { backend: runtime.backend, embedder: embedderId(embedder), dimensions: embedder === 'faceres' ? 1024 : 128, workers: 1 };
  }

  static async create(options: EngineOptions): Promise<HumanFaceEngine> {
    const runtime = loadRuntime(options.backend);
    const models = new ModelFiles(options.modelsDir);
    models.registerLoadRouter(runtime.tf);
    const human = runtime.createHuman(humanConfig(runtime.backend, options.embedder === 'faceres'));
    try {
      await human.init();
      await human.load();
      // Human logs a model that fails to load and carries on; an engine without one is useless.
      const missing = ['blazeface', 'facemesh'].filter((name) => !human.models.loaded().some((loaded) => loaded.toLowerCase().includes(name)));
      if (missing.length > 0) throw new EngineError(`face models failed to load: ${missing.join(', ')} (see the log above)`);
      const descriptor = runtime.faceapi.nets.faceRecognitionNet;
      if (!descriptor.isLoaded) {
        descriptor.loadFromWeightMap(await models.loadWeightMap(runtime.tf, 'face_recognition', 'face_recognition_model-weights_manifest.json'));
      }
      return new HumanFaceEngine(runtime, human, descriptor, options);
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
  }

  private async detectNow(image: DecodedImage): Promise<DetectedFace[]> {
    const { tf } = this.runtime;
    // Faces are found on a copy at most DETECT_MAX_SIDE wide; they are described from the full
    // pixels. A 12 MP photo then takes about 13 detector passes instead of about 50.
    const factor = Math.max(1, Math.max(image.width, image.height) / DETECT_MAX_SIDE);
    const width = Math.round(image.width / factor), height = Math.round(image.height / factor);
    // Shrunk in JavaScript, not as tensors: a full 12 MP int32 tensor alone is 150 MB of WASM heap,
    // which never shrinks again.
    const pixels = factor === 1 ? image.pixels : shrinkRgb(image.pixels, image.width, image.height, width, height);
    const tensor = tf.tensor3d(pixels, [height, width, 3], 'int32');
    try {
      let raw = await this.findFaces(tensor, width, height);
      if (raw.length === 0) raw = await this.findFacesPadded(tensor, width, height);
      return await this.describe(image, factor === 1 ? raw : raw.map((face) => scale(face, factor)));
    } finally {
      tensor.dispose();
    }
  }

  /** Runs the detector on the whole photo and, for large photos, on overlapping tiles. */
  private async findFaces(tensor: tfjs.Tensor3D, width: number, height: number): Promise<RawFace[]> {
    const found: RawFace[] = [];
    for (const region of detectionRegions(width, height, this.options.tileSize ?? 768)) {
      for (const face of await this.detectRegion(tensor, region)) {
        if (Math.max(face.box.width, face.box.height) >= region.minFace && !cutByRegion(face.box, region, width, height)) found.push(face);
      }
    }
    return mergeDetections(found);
  }

  /**
   * Tight face crops (a profile picture, a passport-style reference) leave the detector no margin
   * and it finds nothing; surrounded by a plain border the same face is found.
   */
  private async findFacesPadded(tensor: tfjs.Tensor3D, width: number, height: number): Promise<RawFace[]> {
    const { tf } = this.runtime;
    const pad = Math.round(Math.max(width, height) * 0.4);
    const padded = tf.pad(tensor, [[pad, pad], [pad, pad], [0, 0]], 128);
    try {
      const faces = await this.detectRegion(padded, { x: 0, y: 0, width: width + 2 * pad, height: height + 2 * pad, whole: true, minFace: 0 });
      return faces.map((face) => shift(face, -pad, -pad));
    } finally {
      padded.dispose();
    }
  }

  private async detectRegion(tensor: tfjs.Tensor3D, region: Region): Promise<RawFace[]> {
    const { tf } = this.runtime;
    const view = region.whole ? tensor : tf.slice(tensor, [region.y, region.x, 0], [region.height, region.width, 3]);
    const batch = tf.expandDims(view, 0);
    try {
      const result = await this.human.detect(batch);
      if ('error' in result && result.error) throw new EngineError(`face detection failed: ${result.error}`);
      return result.face.filter(hasMesh).map((face) => shift(toRawFace(face), region.x, region.y));
    } finally {
      batch.dispose();
      if (view !== tensor) view.dispose();
    }
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
    const embeddings =
      usable.length === 0 ? []
      : this.options.embedder === 'faceres' ? usable.map((f) => normalize(Float32Array.from(f.face.faceres ?? [])))
      : await this.embed(image, usable.map((f) => f.face.mesh));
    let next = 0;
    return faces.map(({ face, eyeDistance, unusable }) => ({
      box: roundBox(face.box),
      score: face.score,
      eyeDistance,
      ...(unusable ? { unusable } : { embedding: embeddings[next++]! }),
    }));
  }

  /** Aligned chips of every face and their mirror images, described in one batch. */
  private async embed(image: DecodedImage, meshes: readonly (readonly (readonly number[])[])[]): Promise<Float32Array[]> {
    const { tf } = this.runtime;
    const count = meshes.length;
    const chips = new Float32Array(count * CHIP_SIZE * CHIP_SIZE * 3);
    const embedder = this.options.embedder ?? 'dlib-7-flip';
    const points = embedder === 'dlib-19-flip' ? DLIB_TEMPLATE : SEVEN_POINTS;
    const flip = embedder !== 'dlib-7';
    meshes.forEach((mesh, i) => {
      const transform = alignTransform(mesh, points);
      chips.set(warpChip(image.pixels, image.width, image.height, transform, CHIP_SIZE), i * CHIP_SIZE * CHIP_SIZE * 3);
    });
    const output = tf.tidy(() => {
      const batch = tf.tensor4d(chips, [count, CHIP_SIZE, CHIP_SIZE, 3]);
      const input = flip ? tf.concat([batch, tf.reverse(batch, 2)], 0) : batch;
      return this.descriptor.forwardInput({ toBatchTensor: () => input });
    });
    const values = await output.data();
    output.dispose();
    const dims = values.length / ((flip ? 2 : 1) * count);
    return meshes.map((_, i) => {
      const v = new Float32Array(dims);
      for (let d = 0; d < dims; d++) v[d] = values[i * dims + d]! + (flip ? values[(count + i) * dims + d]! : 0);
      return normalize(v);
    });
  }
}

function alignTransform(mesh: readonly (readonly number[])[], points: typeof DLIB_TEMPLATE) {
  const from: Point[] = [];
  const to: Point[] = [];
  for (const { chip, mesh: index } of points) {
    from.push([((CHIP_PADDING + chip[0]) / (1 + 2 * CHIP_PADDING)) * CHIP_SIZE, ((CHIP_PADDING + chip[1]) / (1 + 2 * CHIP_PADDING)) * CHIP_SIZE]);
    to.push([mesh[index]![0]!, mesh[index]![1]!]);
  }
  return fitSimilarity(from, to);
}

/** The Human settings the engine runs with; the project's own face detector is checked against them. */
export function humanConfig(backend: Runtime['backend'], faceres: boolean): Partial<HumanConfig> {
  return {
    backend,
    wasmPath: wasmBinariesDir(),
    modelBasePath: MODEL_SCHEME,
    debug: false,
    async: true,
    warmup: 'none',
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: true,
      detector: {
        modelPath: 'blazeface.json',
        rotation: true,
        maxDetected: 100,
        minConfidence: DETECTOR_MIN_CONFIDENCE,
        iouThreshold: 0.3,
        skipFrames: 0,
        skipTime: 0,
        return: false,
      },
      mesh: { enabled: true, modelPath: 'facemesh.json', keepInvalid: false },
      iris: { enabled: false },
      description: { enabled: faceres, modelPath: 'faceres.json', skipFrames: 0, skipTime: 0 },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
      attention: { enabled: false },
      gear: { enabled: false },
    },
  };
}

function hasMesh(face: FaceResult): boolean {
  return Array.isArray(face.mesh) && face.mesh.length >= 468;
}

function toRawFace(face: FaceResult): RawFace {
  const [x, y, width, height] = face.box;
  return {
    box: { x, y, width, height },
    score: face.score,
    mesh: face.mesh as unknown as number[][],
    ...(face.embedding && face.embedding.length > 0 ? { faceres: face.embedding } : {}),
  };
}

function shift(face: RawFace, dx: number, dy: number): RawFace {
  if (dx === 0 && dy === 0) return face;
  return {
    box: { ...face.box, x: face.box.x + dx, y: face.box.y + dy },
    score: face.score,
    mesh: face.mesh.map((p) => [p[0]! + dx, p[1]! + dy, p[2] ?? 0]),
    ...(face.faceres ? { faceres: face.faceres } : {}),
  };
}

function scale(face: RawFace, factor: number): RawFace {
  return {
    box: { x: face.box.x * factor, y: face.box.y * factor, width: face.box.width * factor, height: face.box.height * factor },
    score: face.score,
    mesh: face.mesh.map((p) => [p[0]! * factor, p[1]! * factor, (p[2] ?? 0) * factor]),
    ...(face.faceres ? { faceres: face.faceres } : {}),
  };
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

function roundBox(box: Box): Box {
  return { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
}

export type { Tf };
