import type * as Ort from 'onnxruntime-node';
import type { SimilarityKernel } from '../../core/index.ts';
import { DataType, encodeModel } from './onnx-proto.ts';
import { loadOrt } from './onnx-models.ts';

/** One matrix product, rows x probesᵀ: both inputs of any length, of the same width. */
function similarityModel(): Uint8Array {
  return encodeModel({
    name: 'similarities',
    nodes: [{ opType: 'Gemm', name: 'scores', inputs: ['rows', 'probes'], outputs: ['scores'], attributes: { transB: { type: 'int', value: 1 } } }],
    initializers: [],
    inputs: [
      { name: 'rows', dataType: DataType.FLOAT, shape: [null, null] },
      { name: 'probes', dataType: DataType.FLOAT, shape: [null, null] },
    ],
    outputs: [{ name: 'scores', dataType: DataType.FLOAT, shape: [null, null] }],
  });
}

/**
 * The same product, then each row's greatest value over each run of `run` consecutive probes:
 * rows x (probes / run). The runs' width comes in `shape` ([0, -1, run]), so one model serves any.
 */
function closestModel(): Uint8Array {
  return encodeModel({
    name: 'closest',
    nodes: [
      { opType: 'Gemm', name: 'scores', inputs: ['rows', 'probes'], outputs: ['scores'], attributes: { transB: { type: 'int', value: 1 } } },
      { opType: 'Reshape', name: 'runs', inputs: ['scores', 'shape'], outputs: ['runs'] },
      {
        opType: 'ReduceMax',
        name: 'closest',
        inputs: ['runs'],
        outputs: ['closest'],
        attributes: { axes: { type: 'ints', value: [2] }, keepdims: { type: 'int', value: 0 } },
      },
    ],
    initializers: [],
    inputs: [
      { name: 'rows', dataType: DataType.FLOAT, shape: [null, null] },
      { name: 'probes', dataType: DataType.FLOAT, shape: [null, null] },
      { name: 'shape', dataType: DataType.INT64, shape: [3] },
    ],
    outputs: [{ name: 'closest', dataType: DataType.FLOAT, shape: [null, null] }],
  });
}

/**
 * The face matrices' scan as onnxruntime's matrix product (SGEMM with the CPU's vector units):
 * a threshold change compares every stored face with every sample, 300k x 123 at 100k photos,
 * and this does it about ten times faster than JavaScript's loop. One thread, like each engine's.
 */
export class OnnxSimilarityKernel implements SimilarityKernel {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly closestSession: Ort.InferenceSession,
  ) {}

  /** The kernel, or undefined where onnxruntime-node does not load (the matrix's own loop is used). */
  static async create(): Promise<OnnxSimilarityKernel | undefined> {
    const loaded = await loadOrt();
    if (!('ort' in loaded)) return undefined;
    const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } as const;
    const [session, closestSession] = await Promise.all([
      loaded.ort.InferenceSession.create(similarityModel(), options),
      loaded.ort.InferenceSession.create(closestModel(), options),
    ]);
    return new OnnxSimilarityKernel(loaded.ort, session, closestSession);
  }

  async similarities(rows: Float32Array, probes: Float32Array, dimensions: number): Promise<Float32Array> {
    const { Tensor } = this.ort;
    const out = await this.session.run({
      rows: new Tensor('float32', rows, [rows.length / dimensions, dimensions]),
      probes: new Tensor('float32', probes, [probes.length / dimensions, dimensions]),
    });
    return out['scores']!.data as Float32Array;
  }

  async closest(rows: Float32Array, probes: Float32Array, dimensions: number, run: number): Promise<Float32Array> {
    const { Tensor } = this.ort;
    const out = await this.closestSession.run({
      rows: new Tensor('float32', rows, [rows.length / dimensions, dimensions]),
      probes: new Tensor('float32', probes, [probes.length / dimensions, dimensions]),
      shape: new Tensor('int64', BigInt64Array.from([0n, -1n, BigInt(run)]), [3]),
    });
    return out['closest']!.data as Float32Array;
  }

  async close(): Promise<void> {
    await Promise.all([this.session.release(), this.closestSession.release()]);
  }
}
