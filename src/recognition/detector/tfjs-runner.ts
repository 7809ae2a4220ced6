import { createRequire } from 'node:module';
import type * as tfjs from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { EngineError, describeError } from '../../core/index.ts';
import { MODEL_SCHEME, type ModelFiles } from '../models.ts';
import { wasmBinariesDir, type Runtime } from '../runtime.ts';
import type { FaceModels, ModelRunner } from './model-runner.ts';

const require = createRequire(import.meta.url);

interface ConverterModule {
  readonly loadGraphModel: (url: string) => Promise<GraphModel>;
}

interface WasmBackendModule {
  readonly setWasmPaths: (prefix: string) => void;
}

/** A tfjs graph model behind the `ModelRunner` interface. */
export class TfjsModelRunner implements ModelRunner {
  private constructor(
    private readonly tf: Runtime['tf'],
    private readonly model: GraphModel,
  ) {}

  /** Loads `<name>.json` through the model files' load router (which `models` must have registered). */
  static async load(runtime: Runtime, name: 'blazeface' | 'facemesh'): Promise<TfjsModelRunner> {
    // The CommonJS build, as Human loads it: the ESM one would bring a second tfjs-core.
    const converter = require('@tensorflow/tfjs-converter') as ConverterModule;
    try {
      return new TfjsModelRunner(runtime.tf, await converter.loadGraphModel(`${MODEL_SCHEME}${name}.json`));
    } catch (cause) {
      throw new EngineError(`the ${name} model could not be loaded: ${describeError(cause)}`, { cause });
    }
  }

  async run(input: Float32Array, shape: readonly number[]): Promise<Float32Array[]> {
    const { tf } = this;
    const tensor = tf.tensor(input, [...shape], 'float32');
    let outputs: tfjs.Tensor[] = [];
    try {
      const result = this.model.execute(tensor);
      outputs = Array.isArray(result) ? result : [result];
      return await Promise.all(outputs.map(async (output) => Float32Array.from(await output.data())));
    } finally {
      tensor.dispose();
      for (const output of outputs) output.dispose();
    }
  }
}

/**
 * The detector's two models on tfjs, with the runtime's backend made current (Human does that
 * for itself; a process without Human needs it here).
 */
export async function loadTfjsFaceModels(runtime: Runtime, models: ModelFiles): Promise<FaceModels> {
  const { tf } = runtime;
  if (tf.getBackend() !== runtime.backend) {
    if (runtime.backend === 'wasm') (require('@tensorflow/tfjs-backend-wasm') as WasmBackendModule).setWasmPaths(wasmBinariesDir());
    if (!(await tf.setBackend(runtime.backend))) throw new EngineError(`the tfjs backend ${runtime.backend} could not be started`);
    await tf.ready();
  }
  // A second router for the same URLs would make tfjs refuse to choose (Human may have one).
  if (tf.io.getLoadHandlers(`${MODEL_SCHEME}blazeface.json`).length === 0) models.registerLoadRouter(tf);
  return { detector: await TfjsModelRunner.load(runtime, 'blazeface'), mesh: await TfjsModelRunner.load(runtime, 'facemesh') };
}
