import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs-core';
import type { Human, Config as HumanConfig } from '@vladmandic/human';
import { EngineError, describeError } from '../core/index.ts';

const require = createRequire(import.meta.url);

/** Which TensorFlow.js backend the fallback runs on (the engine's own choice, BackendPreference, adds onnx). */
export type TfjsBackendPreference = 'auto' | 'wasm' | 'tensorflow';
export type Tf = typeof tfjs;

/** The face-api piece we use: its port of dlib's ResNet face descriptor. */
export interface DescriptorNet {
  loadFromWeightMap(weightMap: tfjs.NamedTensorMap): void;
  forwardInput(input: unknown): tfjs.Tensor2D;
  readonly isLoaded: boolean;
}

interface FaceApiModule {
  readonly nets: { readonly faceRecognitionNet: DescriptorNet };
  readonly NetInput: new (inputs: tfjs.Tensor3D[]) => unknown;
}

interface HumanModule {
  readonly Human: new (config?: Partial<HumanConfig>) => Human;
}

/** TensorFlow.js with one backend chosen, plus the Human and face-api builds that match it. */
export interface Runtime {
  readonly backend: 'tensorflow' | 'wasm';
  readonly tf: Tf;
  readonly createHuman: (config: Partial<HumanConfig>) => Human;
  readonly faceapi: FaceApiModule;
}

/**
 * Loads TensorFlow.js: the native tfjs-node backend when it is installed and loads (it is an
 * optional dependency whose install downloads libtensorflow), otherwise WASM with SIMD.
 * Human's and face-api's `exports` maps lack "./" prefixes, so their per-backend builds are
 * loaded by absolute path beside each package's main file.
 */
export function loadRuntime(preference: TfjsBackendPreference): Runtime {
  const native = preference === 'wasm' ? undefined : tryNative();
  if (preference === 'tensorflow' && !native) {
    throw new EngineError('RECOGNITION_BACKEND=tensorflow, but @tensorflow/tfjs-node is not installed or does not load on this machine');
  }
  const build = native ? 'node' : 'node-wasm';
  const humanDir = path.dirname(require.resolve('@vladmandic/human'));
  const faceApiDir = path.dirname(require.resolve('@vladmandic/face-api'));
  const faceapi = require(path.join(faceApiDir, `face-api.${build}.js`)) as FaceApiModule;
  const tf = require('@tensorflow/tfjs-core') as Tf;
  return {
    backend: native ? 'tensorflow' : 'wasm',
    tf,
    // Loaded on demand: the engine no longer runs Human (tests compare against it).
    createHuman: (config) => new (require(path.join(humanDir, `human.${build}.js`)) as HumanModule).Human(config),
    faceapi,
  };
}

function tryNative(): boolean {
  try {
    require('@tensorflow/tfjs-node');
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'MODULE_NOT_FOUND') process.emitWarning(`@tensorflow/tfjs-node is installed but does not load: ${describeError(error)}`);
    return false;
  }
}

/** The folder holding tfjs-backend-wasm's .wasm binaries, as Human's `wasmPath` wants it. */
export function wasmBinariesDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}
