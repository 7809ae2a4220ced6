import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attr, GraphBuilder } from '../../src/recognition/onnx/graph-builder.ts';
import { loadOrt } from '../../src/recognition/onnx/index.ts';
import { DataType } from '../../src/recognition/onnx/onnx-proto.ts';

const loaded = await loadOrt();
const skip = 'reason' in loaded ? loaded.reason : false;

async function run(
  model: Uint8Array,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  if (!('ort' in loaded)) throw new Error('unreachable: skipped');
  const { ort } = loaded;
  const session = await ort.InferenceSession.create(model);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, { data, dims }]) => [name, new ort.Tensor('float32', data, dims)]));
  const results = await session.run(inputs);
  await session.release();
  return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, { data: tensor.data as Float32Array, dims: tensor.dims }]));
}

describe('ONNX protobuf writer', { skip }, () => {
  it('GIVEN float, int, negative ints and string attributes, float and int64 initializers and a dynamic batch THEN onnxruntime runs it as written', async () => {
    const g = new GraphBuilder('attributes');
    const leaky = g.op('LeakyRelu', ['x'], { alpha: attr.float(0.5) });
    const scaled = g.op('Mul', [leaky, g.floats('w', [3], Float32Array.of(1, 2, 3))]);
    g.op('ReduceMean', [scaled], { axes: attr.ints([-1]), keepdims: attr.int(0) }, 'mean');
    g.op('Pad', ['x', g.int64s('pads', [4], [0, 1, 0, 2])], { mode: attr.string('edge') }, 'padded');
    const model = g.encode(
      [{ name: 'x', dataType: DataType.FLOAT, shape: ['batch', 3] }],
      [
        { name: 'mean', dataType: DataType.FLOAT },
        { name: 'padded', dataType: DataType.FLOAT },
      ],
    );
    const out = await run(model, { x: { data: Float32Array.of(-2, 4, 1, 6, -8, 0), dims: [2, 3] } });
    // Row 1: leaky [-1, 4, 1] * [1, 2, 3] = [-1, 8, 3], mean 10/3; row 2: [6, -4, 0] * w = [6, -8, 0], mean -2/3.
    assert.deepEqual(
      Array.from(out.mean!.data, (v) => Math.round(v * 1e5) / 1e5),
      [3.33333, -0.66667],
    );
    assert.deepEqual(out.padded!.dims, [2, 6]);
    assert.deepEqual(Array.from(out.padded!.data), [-2, -2, 4, 1, 1, 1, 6, 6, -8, 0, 0, 0]);

    const single = await run(model, { x: { data: Float32Array.of(2, 2, 2), dims: [1, 3] } });
    assert.deepEqual(Array.from(single.mean!.data), [4]);
  });
});
