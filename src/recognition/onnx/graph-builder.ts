import { DataType, encodeModel, type OnnxAttribute, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto.ts';

/** Conv padding: TF's SAME (extra padding at the end), none, or [top, left, bottom, right]. */
export type ConvPadding =
  { readonly kind: 'same' } | { readonly kind: 'valid' } | { readonly kind: 'explicit'; readonly pads: readonly [number, number, number, number] };

export interface ConvSpec {
  /** OIHW, with I = input channels / group. */
  readonly weight: Float32Array;
  readonly weightDims: readonly [number, number, number, number];
  readonly bias?: Float32Array;
  readonly strides: readonly [number, number];
  readonly dilations?: readonly [number, number];
  readonly group?: number;
  readonly padding: ConvPadding;
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

export const attr = {
  int: (value: number): OnnxAttribute => ({ type: 'int', value }),
  float: (value: number): OnnxAttribute => ({ type: 'float', value }),
  ints: (value: readonly number[]): OnnxAttribute => ({ type: 'ints', value }),
  string: (value: string): OnnxAttribute => ({ type: 'string', value }),
};

/** Collects nodes and initializers under unique names, and encodes them as one ONNX model. */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>();

  constructor(private readonly name: string) {}

  /** A fresh tensor name starting with `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a single-output node; its output is `output` (reserved by the caller) or a fresh name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, output?: string): string {
    const out = output ?? this.unique(`${inputs[0] ?? 'const'}/${opType}`);
    this.nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  }

  floats(base: string, dims: readonly number[], values: Float32Array): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, raw: bytesOf(values) });
    return name;
  }

  int64s(base: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, dataType: DataType.INT64, raw: bytesOf(BigInt64Array.from(values, (v) => BigInt(v))) });
    return name;
  }

  toNchw(x: string): string {
    return this.op('Transpose', [x], { perm: attr.ints(TO_NCHW) });
  }

  toNhwc(x: string, output?: string): string {
    return this.op('Transpose', [x], { perm: attr.ints(TO_NHWC) }, output);
  }

  /** An NCHW convolution; TF's SAME is ONNX's SAME_UPPER (the odd pixel of padding goes last). */
  conv(x: string, spec: ConvSpec, output?: string): string {
    const [, , kh, kw] = spec.weightDims;
    const base = output ?? x;
    const inputs = [x, this.floats(`${base}/weight`, spec.weightDims, spec.weight)];
    if (spec.bias) inputs.push(this.floats(`${base}/bias`, [spec.bias.length], spec.bias));
    return this.op(
      'Conv',
      inputs,
      {
        kernel_shape: attr.ints([kh, kw]),
        strides: attr.ints(spec.strides),
        dilations: attr.ints(spec.dilations ?? [1, 1]),
        group: attr.int(spec.group ?? 1),
        ...paddingAttributes(spec.padding),
      },
      output,
    );
  }

  maxPool(x: string, kernel: readonly [number, number], strides: readonly [number, number], padding: ConvPadding, output?: string): string {
    return this.op('MaxPool', [x], { kernel_shape: attr.ints(kernel), strides: attr.ints(strides), ...paddingAttributes(padding) }, output);
  }

  encode(inputs: readonly OnnxValueInfo[], outputs: readonly OnnxValueInfo[]): Uint8Array {
    return encodeModel({ name: this.name, nodes: this.nodes, initializers: this.initializers, inputs, outputs });
  }
}

function paddingAttributes(padding: ConvPadding): Record<string, OnnxAttribute> {
  switch (padding.kind) {
    case 'same':
      return { auto_pad: attr.string('SAME_UPPER') };
    case 'valid':
      return {};
    case 'explicit': {
      const [top, left, bottom, right] = padding.pads;
      return { pads: attr.ints([top, left, bottom, right]) };
    }
  }
}

function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  // ONNX raw_data is little-endian, as are the machines onnxruntime-node ships for.
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}
