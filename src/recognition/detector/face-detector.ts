import type { Box } from '../../core/index.ts';
import { EngineError } from '../../core/index.ts';
import { DETECTOR_SIZE, decodeDetections, type DetectorSettings, type FaceCandidate } from './blazeface.ts';
import { MESH_POINTS, MESH_SIZE, meshCrop, meshFaceBox, meshToImage } from './face-mesh.ts';
import type { FaceModels } from './model-runner.ts';
import { cropFace, resizeBilinear, type RgbImage, type Window } from './pixels.ts';

/** A face as Human reports it: box, score and 468-point mesh, in image pixels. */
export interface MeshFace {
  readonly box: Box;
  /** The mesh model's confidence that this is a face, to two decimals (Human's `score`). */
  readonly score: number;
  /** The detector's confidence, to two decimals (Human's `boxScore`). */
  readonly boxScore: number;
  /** x and y in whole image pixels, z (depth) truncated as Human does. */
  readonly mesh: readonly (readonly [number, number, number])[];
}

export interface FaceDetectorSettings extends DetectorSettings {
  /** Whether a leaning face is turned upright before its mesh is found. */
  readonly rotation: boolean;
}

/** The settings facefile ran Human with (test/helpers/human-reference.ts), which this detector reproduces. */
export const DEFAULT_DETECTOR_SETTINGS: FaceDetectorSettings = { minConfidence: 0.35, iouThreshold: 0.3, maxDetected: 100, scale: 1.4, rotation: true };

/**
 * Human's face pipeline (BlazeFace, then FaceMesh on each detection) with the tensor work around
 * the two models done in plain JavaScript, so that the models can run on any `ModelRunner`. It
 * finds the faces Human finds on the same image.
 */
export class FaceDetector {
  constructor(
    private readonly models: FaceModels,
    private readonly settings: FaceDetectorSettings = DEFAULT_DETECTOR_SETTINGS,
  ) {}

  /** The faces in an RGB image, in the detector's order (best detection first). */
  async detect(image: RgbImage): Promise<MeshFace[]> {
    const faces: MeshFace[] = [];
    for (const candidate of await this.candidates(image)) {
      const face = await this.mesh(image, candidate);
      if (face) faces.push(face);
    }
    return faces;
  }

  /**
   * BlazeFace alone: where faces may be, best first, in `image`'s pixels, or of only a `window` of
   * it (a tile), in the window's pixels, as if it had been cut out.
   */
  async candidates(image: RgbImage, window?: Window): Promise<FaceCandidate[]> {
    const { width, height } = window ?? image;
    if (width < 1 || height < 1) return [];
    // The image resized to 256x256 and scaled to -1..1.
    const input = resizeBilinear(image, DETECTOR_SIZE, DETECTOR_SIZE, window, true);
    const detections = await this.models.detector.run(input, [1, DETECTOR_SIZE, DETECTOR_SIZE, 3]);
    return decodeDetections(detections, width, height, this.settings);
  }

  /**
   * FaceMesh on one candidate, which may come from a view of `image` (shifted into its pixels):
   * the face, or undefined where the mesh model finds none.
   */
  async mesh(image: RgbImage, candidate: FaceCandidate): Promise<MeshFace | undefined> {
    const crop = meshCrop(candidate, this.settings.rotation);
    const outputs = await this.models.mesh.run(cropFace(image, crop, MESH_SIZE), [1, MESH_SIZE, MESH_SIZE, 3]);
    const flag = outputs.find((o) => o.length === 1),
      points = outputs.find((o) => o.length === MESH_POINTS * 3);
    if (!flag || !points) throw new EngineError(`the face mesh model's outputs have unexpected sizes: ${outputs.map((o) => o.length).join(', ')}`);
    // Human rounds the mesh confidence before comparing it, and keeps only scores above the bar.
    const score = Math.round(100 * flag[0]!) / 100;
    if (score <= this.settings.minConfidence) return undefined;
    const mesh = meshToImage(points, crop);
    return { box: meshFaceBox(mesh, candidate, image.width, image.height), score, boxScore: Math.round(100 * candidate.confidence) / 100, mesh };
  }
}
