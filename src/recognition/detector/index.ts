export { FaceDetector, DEFAULT_DETECTOR_SETTINGS, type FaceDetectorSettings, type MeshFace } from './face-detector.ts';
export type { FaceModels, ModelRunner } from './model-runner.ts';
export { boxCenter, boxSize, type FaceCandidate } from './blazeface.ts';
export type { RgbImage } from './pixels.ts';
export { TfjsModelRunner, loadTfjsFaceModels } from './tfjs-runner.ts';
