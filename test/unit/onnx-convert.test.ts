import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { convertGraphModel, decodeWeights, loadOrt, type ConvertOptions, type GraphModelJson } from '../../src/recognition/onnx/index.ts';
import type { WeightGroup } from '../../src/recognition/onnx/weights.ts';

const loaded = await loadOrt();
const skip = 'reason' in loaded ? loaded.reason : false;

/** A deterministic spread of values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => ((i * 7919 + seed * 104729) % 2000) / 1000 - 1);
}

interface Image {
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly data: Float32Array;
}

/**
 * TF's conv2d on one NHWC image, written from TF's definition: SAME makes ceil(in / stride) outputs
 * and puts the odd pixel of padding at the end. `depthwise` filters are [kh, kw, in, multiplier].
 */
function tfConv(x: Image, filter: Float32Array, [kh, kw, ci, co]: number[], stride: number, same: boolean, depthwise: boolean): Image {
  const out = (size: number, k: number) => (same ? Math.ceil(size / stride) : Math.floor((size - k) / stride) + 1);
  const before = (size: number, k: number) => (same ? Math.floor(Math.max((out(size, k) - 1) * stride + k - size, 0) / 2) : 0);
  const oh = out(x.h, kh!),
    ow = out(x.w, kw!),
    top = before(x.h, kh!),
    left = before(x.w, kw!);
  const channels = depthwise ? ci! * co! : co!;
  const data = new Float32Array(oh * ow * channels);
  for (let y = 0; y < oh; y++) {
    for (let xx = 0; xx < ow; xx++) {
      for (let o = 0; o < channels; o++) {
        let sum = 0;
        for (let i = 0; i < kh!; i++) {
          for (let j = 0; j < kw!; j++) {
            const sy = y * stride + i - top,
              sx = xx * stride + j - left;
            if (sy < 0 || sx < 0 || sy >= x.h || sx >= x.w) continue;
            if (depthwise) {
              const c = Math.floor(o / co!),
                m = o % co!;
              sum += x.data[(sy * x.w + sx) * x.c + c]! * filter[((i * kw! + j) * ci! + c) * co! + m]!;
            } else {
              for (let c = 0; c < ci!; c++) sum += x.data[(sy * x.w + sx) * x.c + c]! * filter[((i * kw! + j) * ci! + c) * co! + o]!;
            }
          }
        }
        data[(y * ow + xx) * channels + o] = sum;
      }
    }
  }
  return { h: oh, w: ow, c: channels, data };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const list = (...numbers: number[]) => ({ list: { i: numbers.map(String) } });

/** A tfjs graph model of the given nodes whose Consts are `weights`, stored as float32. */
function graphModel(
  nodes: GraphModelJson['modelTopology']['node'],
  weights: Record<string, { shape: number[]; data: Float32Array | Int32Array }>,
): { json: GraphModelJson; bytes: Uint8Array } {
  const group: WeightGroup = {
    paths: ['model.bin'],
    weights: Object.entries(weights).map(([name, { shape, data }]) => ({ name, shape, dtype: data instanceof Int32Array ? 'int32' : 'float32' })),
  };
  const bytes = Buffer.concat(Object.values(weights).map(({ data }) => Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  const consts = Object.keys(weights).map((name) => ({ name, op: 'Const' }));
  return { json: { modelTopology: { node: [...consts, ...nodes] }, weightsManifest: [group] }, bytes };
}

async function runConverted(
  model: { json: GraphModelJson; bytes: Uint8Array },
  input: Image,
  options: ConvertOptions = {},
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  if (!('ort' in loaded)) throw new Error('unreachable: skipped');
  const session = await loaded.ort.InferenceSession.create(convertGraphModel(model.json, model.bytes, options));
  const result = await session.run({ x: new loaded.ort.Tensor('float32', input.data, [1, input.h, input.w, input.c]) });
  await session.release();
  const output = result[session.outputNames[0]!]!;
  return { data: output.data as Float32Array, dims: output.dims };
}

function assertClose(actual: Float32Array, expected: Float32Array): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-5, `element ${i}: ${actual[i]} vs ${expected[i]}`);
}

const placeholder = (h: number, w: number, c: number) => ({
  name: 'x',
  op: 'Placeholder',
  attr: { shape: { shape: { dim: [{ size: '-1' }, { size: String(h) }, { size: String(w) }, { size: String(c) }] } } },
});

describe('convertGraphModel', { skip }, () => {
  for (const [padding, size] of [
    ['SAME', 6],
    ['SAME', 7],
    ['VALID', 7],
  ] as const) {
    it(`GIVEN a stride-2 3x3 ${padding} conv on a ${size}x${size} input THEN it pads and strides as TF does`, async () => {
      const input: Image = { h: size, w: size, c: 2, data: values(size * size * 2, 1) };
      const filter = values(3 * 3 * 2 * 4, 2);
      const bias = Float32Array.of(0.5, -0.5, 0.25, 0);
      const model = graphModel(
        [
          placeholder(size, size, 2),
          {
            name: 'conv',
            op: '_FusedConv2D',
            input: ['x', 'filter', 'bias'],
            attr: {
              padding: { s: b64(padding) },
              strides: list(1, 2, 2, 1),
              fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
              data_format: { s: b64('NHWC') },
            },
          },
        ],
        { filter: { shape: [3, 3, 2, 4], data: filter }, bias: { shape: [4], data: bias } },
      );
      const expected = tfConv(input, filter, [3, 3, 2, 4], 2, padding === 'SAME', false);
      expected.data.forEach((v, i) => (expected.data[i] = Math.max(0, v + bias[i % 4]!)));
      const actual = await runConverted(model, input);
      assert.deepEqual(actual.dims, [1, expected.h, expected.w, 4]);
      assertClose(actual.data, expected.data);
    });
  }

  it('GIVEN a depthwise conv with channel multiplier 2, a SAME max pool, a channel Pad and a Sum over a scalar axis THEN every output matches TF semantics', async () => {
    const input: Image = { h: 5, w: 5, c: 3, data: values(5 * 5 * 3, 3) };
    const filter = values(3 * 3 * 3 * 2, 4);
    const model = graphModel(
      [
        placeholder(5, 5, 3),
        { name: 'dw', op: 'DepthwiseConv2dNative', input: ['x', 'filter'], attr: { padding: { s: b64('SAME') }, strides: list(1, 1, 1, 1) } },
        { name: 'pool', op: 'MaxPool', input: ['dw'], attr: { padding: { s: b64('SAME') }, strides: list(1, 2, 2, 1), ksize: list(1, 2, 2, 1) } },
        { name: 'pad', op: 'Pad', input: ['pool', 'paddings'] },
        { name: 'sum', op: 'Sum', input: ['pad', 'axis'], attr: { keep_dims: { b: false } } },
      ],
      {
        filter: { shape: [3, 3, 3, 2], data: filter },
        paddings: { shape: [4, 2], data: Int32Array.of(0, 0, 0, 0, 0, 0, 1, 2) },
        axis: { shape: [], data: Int32Array.of(2) },
      },
    );
    const dw = tfConv(input, filter, [3, 3, 3, 2], 1, true, true);
    // SAME 2x2/2 pooling of 5x5 gives 3x3; the last row and column see only one pixel.
    const pooled = new Float32Array(3 * 3 * 6).fill(-Infinity);
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 5; x++)
        for (let c = 0; c < 6; c++) {
          const at = (Math.floor(y / 2) * 3 + Math.floor(x / 2)) * 6 + c;
          pooled[at] = Math.max(pooled[at]!, dw.data[(y * 5 + x) * 6 + c]!);
        }
    // Padding channels with zeros does not change a sum over width; the padded shape is [1, 3, 9].
    const expected = new Float32Array(3 * 9);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) for (let c = 0; c < 6; c++) expected[y * 9 + 1 + c]! += pooled[(y * 3 + x) * 6 + c]!;
    const actual = await runConverted(model, input);
    assert.deepEqual(actual.dims, [1, 3, 9]);
    assertClose(actual.data, expected);
  });
});

describe('convertGraphModel on Keras PReLU patterns', { skip }, () => {
  const input: Image = { h: 2, w: 2, c: 3, data: values(12, 5) };
  const half = Float32Array.of(0.125, -0.25, 0.3);
  const keras = (p: string, x: string) => [
    { name: 'abs', op: 'Abs', input: [x] },
    { name: 'sub', op: 'Sub', input: [x, 'abs'] },
    { name: 'mul', op: 'Mul', input: ['sub', 'half'] },
    { name: 'out', op: 'AddV2', input: [p, 'mul'] },
  ];
  /** What TF computes: p + half * (x - |x|), per channel. */
  const expected = (p: (v: number) => number, x: (v: number) => number) =>
    Float32Array.from(input.data, (v, i) => p(v) + half[i % 3]! * (x(v) - Math.abs(x(v))));
  const relu = (v: number) => Math.max(0, v);

  for (const [title, nodes, reference] of [
    ['relu(x) + c * (x - |x|)', [placeholder(2, 2, 3), { name: 'r', op: 'Relu', input: ['x'] }, ...keras('r', 'x')], expected(relu, (v) => v)],
    [
      'x + c * (x - |x|)',
      [placeholder(2, 2, 3), ...keras('x', 'x')],
      expected(
        (v) => v,
        (v) => v,
      ),
    ],
    ['r + c * (r - |r|) with r = relu(x)', [placeholder(2, 2, 3), { name: 'r', op: 'Relu', input: ['x'] }, ...keras('r', 'r')], expected(relu, relu)],
  ] as const) {
    it(`GIVEN ${title} THEN the fused result equals TF's formula`, async () => {
      const actual = await runConverted(graphModel([...nodes], { half: { shape: [3], data: half } }), input);
      assertClose(actual.data, reference);
    });
  }
});

describe("convertGraphModel with repairPrelu (human-models' mobilefacenet)", { skip }, () => {
  const input: Image = { h: 3, w: 3, c: 3, data: values(27, 6) };
  const filter = values(3 * 3 * 3, 7);
  const bias = Float32Array.of(0.2, -0.3, 0.1);
  const half = Float32Array.of(0.125, -0.25, 0.3);
  const prelu = (x: number, c: number) => (x >= 0 ? x : -2 * c * x);
  const pattern = (p: string, x: string) => [
    { name: 'abs', op: 'Abs', input: [x] },
    { name: 'sub', op: 'Sub', input: [x, 'abs'] },
    { name: 'mul', op: 'Mul', input: ['sub', 'half'] },
    { name: 'out', op: 'AddV2', input: [p, 'mul'] },
  ];
  const conv = tfConv(input, filter, [3, 3, 3, 1], 1, true, true);
  const preBias = Float32Array.from(conv.data, (v, i) => v + bias[i % 3]!);
  /** The export's depthwise layer: tfjs fused the PReLU's Relu into the convolution that x - |x| also reads. */
  const brokenExport = graphModel(
    [
      placeholder(3, 3, 3),
      {
        name: 'dw',
        op: 'FusedDepthwiseConv2dNative',
        input: ['x', 'filter', 'bias'],
        attr: { padding: { s: b64('SAME') }, strides: list(1, 1, 1, 1), fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } } },
      },
      ...pattern('dw', 'dw'),
    ],
    { filter: { shape: [3, 3, 3, 1], data: filter }, bias: { shape: [3], data: bias }, half: { shape: [3], data: half } },
  );

  it("GIVEN the export's depthwise PReLU THEN without the option it is the plain relu tfjs computes", async () => {
    const actual = await runConverted(brokenExport, input);
    assertClose(
      actual.data,
      Float32Array.from(preBias, (v) => Math.max(0, v)),
    );
  });

  it("GIVEN the export's depthwise PReLU THEN with the option the Relu is gone and negative values get the slope -2c", async () => {
    const actual = await runConverted(brokenExport, input, { repairPrelu: true });
    assertClose(
      actual.data,
      Float32Array.from(preBias, (v, i) => prelu(v, half[i % 3]!)),
    );
  });

  it('GIVEN relu(x) + c * (x - |x|) THEN with the option negative values get the slope -2c', async () => {
    const model = graphModel([placeholder(3, 3, 3), { name: 'r', op: 'Relu', input: ['x'] }, ...pattern('r', 'x')], { half: { shape: [3], data: half } });
    const actual = await runConverted(model, input, { repairPrelu: true });
    assertClose(
      actual.data,
      Float32Array.from(input.data, (v, i) => prelu(v, half[i % 3]!)),
    );
  });
});

describe('decodeWeights', () => {
  it('GIVEN float16 and uint8-quantised weights THEN they decode as tfjs decodes them', () => {
    const half = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555);
    const bytes = Buffer.concat([Buffer.from(half.buffer), Buffer.from([0, 1, 255])]);
    const map = decodeWeights(
      [
        {
          paths: ['w.bin'],
          weights: [
            { name: 'half', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } },
            { name: 'byte', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
          ],
        },
      ],
      bytes,
    );
    assert.deepEqual(Array.from(map.get('half')!.values), [1, -2, 65504, 2 ** -24, Math.fround(0.333251953125)]);
    assert.deepEqual(Array.from(map.get('byte')!.values), [-1, -0.5, 126.5]);
  });

  it('GIVEN weight files longer than the manifest says THEN it refuses them', () => {
    assert.throws(
      () => decodeWeights([{ paths: ['w.bin'], weights: [{ name: 'a', shape: [1], dtype: 'float32' }] }], new Uint8Array(8)),
      /manifest describes 4/,
    );
  });
});
