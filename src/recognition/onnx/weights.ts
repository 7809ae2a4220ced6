import { EngineError } from '../../core/index.ts';

/** One entry of a tfjs weights manifest. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: { readonly dtype: string; readonly scale?: number; readonly min?: number };
}

export interface WeightGroup {
  readonly paths: readonly string[];
  readonly weights: readonly WeightSpec[];
}

export interface Weight {
  readonly shape: readonly number[];
  readonly values: Float32Array | Int32Array;
}

/** Named weights, decoded as tfjs decodes them (float32 and int32 only; quantized values expanded). */
export type WeightMap = ReadonlyMap<string, Weight>;

const BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/**
 * Decodes `bytes` (every group's files joined in manifest order) the way tf.io.decodeWeights does:
 * uint8/uint16 become `q * scale + min`, float16 becomes float32.
 */
export function decodeWeights(groups: readonly WeightGroup[], bytes: Uint8Array): WeightMap {
  const map = new Map<string, Weight>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (const spec of groups.flatMap((group) => group.weights)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const stored = spec.quantization?.dtype ?? spec.dtype;
    const size = BYTES[stored];
    if (size === undefined || (spec.dtype !== 'float32' && spec.dtype !== 'int32')) {
      throw new EngineError(`weight ${spec.name}: dtype ${spec.dtype} stored as ${stored} is not supported`);
    }
    if (offset + count * size > bytes.byteLength) throw new EngineError(`weight ${spec.name} lies beyond the end of the weight files`);
    const values = spec.dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = readValue(view, offset + i * size, stored, spec);
    map.set(spec.name, { shape: spec.shape, values });
    offset += count * size;
  }
  if (offset !== bytes.byteLength) throw new EngineError(`the weight files hold ${bytes.byteLength} bytes, the manifest describes ${offset}`);
  return map;
}

function readValue(view: DataView, at: number, stored: string, spec: WeightSpec): number {
  switch (stored) {
    case 'float32':
      return view.getFloat32(at, true);
    case 'int32':
      return view.getInt32(at, true);
    case 'float16':
      return float16(view.getUint16(at, true));
    default: {
      const q = stored === 'uint8' ? view.getUint8(at) : view.getUint16(at, true);
      return q * (spec.quantization?.scale ?? 1) + (spec.quantization?.min ?? 0);
    }
  }
}

function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
