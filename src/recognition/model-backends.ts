import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs-core';
import { EngineError, describeError } from '../core/index.ts';
import { loadTfjsFaceModels, type FaceModels, type ModelRunner } from './detector/index.ts';
import { MODEL_CACHE_DIR, ModelFiles } from './models.ts';
import { ONNX_MODELS, OnnxModels, loadOrt, type OnnxModelName, type OnnxSession, type OrtModule } from './onnx/index.ts';
import { loadRuntime, type Runtime } from './runtime.ts';

/** Where the models may run: `auto` takes onnxruntime-node if it loads, else tfjs-node, else WASM. */
export type BackendPreference = 'auto' | 'onnx' | 'wasm' | 'tensorflow';
export type EngineBackend = 'onnx' | 'wasm' | 'tensorflow';

/** The face descriptor: aligned square chips (NHWC, RGB 0..255) in, one raw vector per chip out. */
export interface ChipDescriber {
  readonly dimensions: number;
  describe(chips: Float32Array, count: number, size: number): Promise<Float32Array>;
}

/** The descriptor models an engine can use. */
export type DescriberName = 'dlib' | 'mobilefacenet';

/** The engine's models on one backend. */
export interface LoadedModels {
  readonly backend: EngineBackend;
  readonly face: FaceModels;
  readonly describers: Partial<Record<DescriberName, ChipDescriber>>;
  /** Why each describer asked for and absent is absent. */
  readonly unavailable: Partial<Record<DescriberName, string>>;
  close(): Promise<void>;
}

const DESCRIPTOR_DIMENSIONS = 128;
const MOBILEFACENET_DIMENSIONS = 192;
/** Chips per descriptor run: larger batches gain little on one thread and hold more memory. */
const DESCRIBE_BATCH = 16;

/**
 * Loads the detector, the mesh and the descriptors `describers` names. onnxruntime-node runs them
 * natively (about 5x the speed of WASM here); it is an optional dependency, so where it does not
 * load `auto` falls back to tfjs, which computes the same numbers for what it runs
 * (test/integration/onnx-models.test.ts) but offers dlib alone. `unavailable` says why a
 * descriptor asked for is missing.
 */
export async function loadModels(preference: BackendPreference, modelsDir: string | undefined, describers: readonly DescriberName[]): Promise<LoadedModels> {
  const files = new ModelFiles(modelsDir);
  if (preference === 'auto' || preference === 'onnx') {
    const loaded = await loadOrt();
    if ('ort' in loaded) return loadOnnx(loaded.ort, files, describers);
    if (preference === 'onnx') throw new EngineError(`RECOGNITION_BACKEND=onnx, but ${loaded.reason}`);
    process.emitWarning(`${loaded.reason}; face models run on tfjs instead (slower)`);
  }
  // MobileFaceNet as packaged is broken and only its repaired ONNX conversion describes faces, so
  // tfjs offers dlib alone; the engine says what that means for the embedder.
  const models = await loadTfjs(loadRuntime(preference === 'auto' ? 'auto' : preference), files);
  return describers.includes('mobilefacenet') ? { ...models, unavailable: { mobilefacenet: 'MobileFaceNet runs only on onnxruntime-node' } } : models;
}

async function loadOnnx(ort: OrtModule, files: ModelFiles, describers: readonly DescriberName[]): Promise<LoadedModels> {
  const models = new OnnxModels(ort, (file) => files.readAny(file), path.join(MODEL_CACHE_DIR, 'onnx'));
  try {
    const [detector, mesh] = await Promise.all([models.session('blazeface'), models.session('facemesh')]);
    const unavailable: Partial<Record<DescriberName, string>> = {};
    // dlib comes with a dependency and always loads: it is the fallback too. MobileFaceNet's files
    // come from the registry at install, which may have been offline.
    const loaded: Partial<Record<DescriberName, ChipDescriber>> = {
      dlib: new OrtDescriber(ort, await models.session('face_recognition'), 'face_recognition', DESCRIPTOR_DIMENSIONS),
    };
    if (describers.includes('mobilefacenet')) {
      try {
        // The repaired graph wants RGB (x - 127.5) / 128 (src/recognition/onnx, repairPrelu).
        loaded.mobilefacenet = new OrtDescriber(
          ort,
          await models.session('mobilefacenet'),
          'mobilefacenet',
          MOBILEFACENET_DIMENSIONS,
          (v) => (v - 127.5) / 128,
        );
      } catch (error) {
        if (!(error instanceof EngineError)) throw error;
        unavailable.mobilefacenet = error.message;
      }
    }
    return {
      backend: 'onnx',
      face: { detector: new OrtRunner(ort, detector, 'blazeface'), mesh: new OrtRunner(ort, mesh, 'facemesh') },
      describers: loaded,
      unavailable,
      close: () => models.close(),
    };
  } catch (error) {
    await models.close();
    throw error;
  }
}

class OrtRunner implements ModelRunner {
  private readonly input: string;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: OnnxSession,
    name: OnnxModelName,
  ) {
    this.input = ONNX_MODELS[name].input;
  }

  async run(input: Float32Array, shape: readonly number[]): Promise<Float32Array[]> {
    const outputs = await this.session.run({ [this.input]: new this.ort.Tensor('float32', input, [...shape]) });
    return this.session.outputNames.map((name) => outputs[name]!.data as Float32Array);
  }
}

class OrtDescriber implements ChipDescriber {
  constructor(
    private readonly ort: OrtModule,
    private readonly session: OnnxSession,
    private readonly model: OnnxModelName,
    readonly dimensions: number,
    private readonly scale?: (value: number) => number,
  ) {}

  async describe(chips: Float32Array, count: number, size: number): Promise<Float32Array> {
    const out = new Float32Array(count * this.dimensions);
    const chipValues = size * size * 3;
    const { input, outputs } = ONNX_MODELS[this.model];
    for (let start = 0; start < count; start += DESCRIBE_BATCH) {
      const n = Math.min(DESCRIBE_BATCH, count - start);
      let batch = chips.subarray(start * chipValues, (start + n) * chipValues);
      if (this.scale) batch = batch.map(this.scale);
      const result = await this.session.run({ [input]: new this.ort.Tensor('float32', batch, [n, size, size, 3]) });
      out.set(result[outputs[0]!]!.data as Float32Array, start * this.dimensions);
    }
    return out;
  }
}

async function loadTfjs(runtime: Runtime, files: ModelFiles): Promise<LoadedModels> {
  try {
    const face = await loadTfjsFaceModels(runtime, files);
    const descriptor = runtime.faceapi.nets.faceRecognitionNet;
    if (!descriptor.isLoaded) {
      descriptor.loadFromWeightMap(await files.loadWeightMap(runtime.tf, 'face_recognition', 'face_recognition_model-weights_manifest.json'));
    }
    const { tf } = runtime;
    return {
      backend: runtime.backend,
      face,
      describers: {
        dlib: {
          dimensions: DESCRIPTOR_DIMENSIONS,
          async describe(chips, count, size) {
            const output = tf.tidy(() => {
              const batch = tf.tensor4d(chips, [count, size, size, 3]);
              return descriptor.forwardInput({ toBatchTensor: () => batch });
            }) as tfjs.Tensor;
            try {
              return Float32Array.from(await output.data());
            } finally {
              output.dispose();
            }
          },
        },
      },
      unavailable: {},
      close: () => Promise.resolve(),
    };
  } catch (cause) {
    if (cause instanceof EngineError) throw cause;
    throw new EngineError(`the face models could not be loaded on tfjs: ${describeError(cause)}`, { cause });
  }
}
