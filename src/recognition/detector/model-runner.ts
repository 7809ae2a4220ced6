/**
 * One loaded model, run on one input. The detector only needs this, so the same pipeline runs on
 * tfjs or on onnxruntime-node.
 */
export interface ModelRunner {
  /**
   * Runs the model on one NHWC float32 input. Returns every output, flattened, in any order: the
   * pipeline tells them apart by their sizes, which differ for both models.
   */
  run(input: Float32Array, shape: readonly number[]): Promise<Float32Array[]>;
}

/** The two models the face detector runs. */
export interface FaceModels {
  /** BlazeFace (front camera): 256x256 input, 896 anchors. */
  readonly detector: ModelRunner;
  /** MediaPipe FaceMesh: 192x192 input, 468 points and a face flag. */
  readonly mesh: ModelRunner;
}
