import { EngineError } from '../../core/index.ts';
import { attr, GraphBuilder, type ConvPadding } from './graph-builder.ts';
import { DataType } from './onnx-proto.ts';
import { hwioToOihw } from './layout.ts';
import type { WeightMap } from './weights.ts';

export const DLIB_INPUT = 'input';
export const DLIB_OUTPUT = 'descriptor';
export const DLIB_SIZE = 150;
const MEAN_RGB = [122.782, 117.001, 104.298];

/**
 * face-api's FaceRecognitionNet (its port of dlib's ResNet-29) as ONNX, layer for layer as in
 * face-api's src/faceRecognitionNet: input [N, 150, 150, 3] RGB 0..255 (NHWC, as face-api takes
 * it), output [N, 128] (not normalised). face-api divides by 255 after subtracting the mean, so
 * this does too.
 */
export function buildDlibResnet(weights: WeightMap): Uint8Array {
  const g = new GraphBuilder('face_recognition');
  const mean = g.floats('mean_rgb', [1, 1, 1, 3], Float32Array.from(MEAN_RGB));
  const scale = g.floats('div_255', [], Float32Array.of(255));
  const normalised = g.op('Div', [g.op('Sub', [DLIB_INPUT, mean]), scale]);
  let size = DLIB_SIZE;
  let x = g.toNchw(normalised);
  x = convLayer(g, weights, x, 'conv32_down', 2, true);
  size = Math.floor((size - 7) / 2) + 1;
  x = g.maxPool(x, [3, 3], [2, 2], { kind: 'valid' });
  size = Math.floor((size - 3) / 2) + 1;
  const stages: readonly (readonly [string, boolean])[] = [
    ['conv32_1', false],
    ['conv32_2', false],
    ['conv32_3', false],
    ['conv64_down', true],
    ['conv64_1', false],
    ['conv64_2', false],
    ['conv64_3', false],
    ['conv128_down', true],
    ['conv128_1', false],
    ['conv128_2', false],
    ['conv256_down', true],
    ['conv256_1', false],
    ['conv256_2', false],
    ['conv256_down_out', true],
  ];
  for (const [prefix, down] of stages) {
    if (down) {
      x = residualDown(g, weights, x, prefix, size);
      size = Math.floor((size - 2) / 2) + 1;
    } else {
      x = residual(g, weights, x, prefix);
    }
  }
  const pooled = g.op('ReduceMean', [x], { axes: attr.ints([2, 3]), keepdims: attr.int(0) });
  const fc = weight(weights, 'fc');
  g.op('MatMul', [pooled, g.floats('fc', fc.shape, fc.values)], {}, DLIB_OUTPUT);
  return g.encode(
    [{ name: DLIB_INPUT, dataType: DataType.FLOAT, shape: ['batch', DLIB_SIZE, DLIB_SIZE, 3] }],
    [{ name: DLIB_OUTPUT, dataType: DataType.FLOAT, shape: ['batch', 128] }],
  );
}

/** conv + bias, then face-api's scale layer (x * w + b), folded into the convolution's weights. */
function convLayer(g: GraphBuilder, weights: WeightMap, x: string, prefix: string, stride: 1 | 2, relu: boolean): string {
  const filters = weight(weights, `${prefix}/conv/filters`);
  const bias = weight(weights, `${prefix}/conv/bias`).values;
  const w = weight(weights, `${prefix}/scale/weights`).values;
  const b = weight(weights, `${prefix}/scale/biases`).values;
  const { values, dims } = hwioToOihw(filters);
  const out = dims[0];
  const perOut = values.length / out;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < perOut; i++) values[o * perOut + i]! *= w[o]!;
  }
  const folded = Float32Array.from({ length: out }, (_, o) => bias[o]! * w[o]! + b[o]!);
  // convDown is 'valid'; the stride-1 convolutions are 3x3 'same', i.e. one pixel on every side.
  const padding: ConvPadding = stride === 2 ? { kind: 'valid' } : { kind: 'same' };
  const y = g.conv(x, { weight: values, weightDims: dims, bias: folded, strides: [stride, stride], padding });
  return relu ? g.op('Relu', [y]) : y;
}

function residual(g: GraphBuilder, weights: WeightMap, x: string, prefix: string): string {
  const out = convLayer(g, weights, convLayer(g, weights, x, `${prefix}/conv1`, 1, true), `${prefix}/conv2`, 1, false);
  return g.op('Relu', [g.op('Add', [out, x])]);
}

/**
 * face-api's residualDown: the shortcut is a 2x2 average pool, zero-padded in channels when they
 * double; where the 'valid' stride-2 branch comes out one pixel smaller than the pool, it gets a
 * row of zeros at the bottom and a column at the right.
 */
function residualDown(g: GraphBuilder, weights: WeightMap, x: string, prefix: string, size: number): string {
  let out = convLayer(g, weights, convLayer(g, weights, x, `${prefix}/conv1`, 2, true), `${prefix}/conv2`, 1, false);
  let pooled = g.op('AveragePool', [x], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  const convSize = Math.floor((size - 3) / 2) + 1;
  const poolSize = Math.floor((size - 2) / 2) + 1;
  if (convSize !== poolSize) {
    out = g.op('Pad', [out, g.int64s(`${prefix}/pad_hw`, [8], [0, 0, 0, 0, 0, 0, 1, 1])]);
  }
  const inChannels = weight(weights, `${prefix}/conv1/conv/filters`).shape[2]!;
  const outChannels = weight(weights, `${prefix}/conv2/conv/filters`).shape[3]!;
  if (inChannels !== outChannels) {
    pooled = g.op('Pad', [pooled, g.int64s(`${prefix}/pad_c`, [8], [0, 0, 0, 0, 0, outChannels - inChannels, 0, 0])]);
  }
  return g.op('Relu', [g.op('Add', [pooled, out])]);
}

function weight(weights: WeightMap, name: string): { shape: readonly number[]; values: Float32Array } {
  const found = weights.get(name);
  if (!found || !(found.values instanceof Float32Array)) throw new EngineError(`face_recognition weights lack float tensor ${name}`);
  return { shape: found.shape, values: found.values };
}
