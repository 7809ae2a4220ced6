/**
 * A minimal ONNX protobuf writer: just the messages and fields a converted inference graph needs
 * (field numbers from onnx/onnx.proto). Hand-written because an encoder for a fixed, write-only
 * schema is about a hundred lines, and protobufjs would pull in a schema loader we never use.
 */

export const OPSET = 17;
export const IR_VERSION = 8;

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: DataType;
  /** Little-endian element bytes (raw_data). */
  readonly raw: Uint8Array;
}

export type OnnxAttribute =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] };

export interface OnnxNode {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

/** A graph input or output: float32 or int64, with `null` (or a string) for a dynamic dimension. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly dataType: DataType;
  readonly shape?: readonly (number | string | null)[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;
const WIRE_VARINT = 0,
  WIRE_FIXED32 = 5,
  WIRE_BYTES = 2;

/** Appends protobuf fields; nested messages are encoded first and added as bytes. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private readonly scratch: number[] = [];

  varint(field: number, value: number | bigint): this {
    this.key(field, WIRE_VARINT);
    this.rawVarint(value);
    return this.flush();
  }

  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    this.flush();
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.chunks.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_BYTES);
    this.rawVarint(value.length);
    this.flush();
    this.chunks.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  packedVarints(field: number, values: readonly number[]): this {
    const inner = new Writer();
    for (const value of values) inner.rawVarint(value);
    return this.bytes(field, inner.flush().finish());
  }

  packedFloats(field: number, values: readonly number[]): this {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((value, i) => view.setFloat32(i * 4, value, true));
    return this.bytes(field, bytes);
  }

  finish(): Uint8Array {
    this.flush();
    const total = this.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private key(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  /** Negative int64s are ten bytes of two's complement, as protobuf wants them. */
  private rawVarint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private flush(): this {
    if (this.scratch.length > 0) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.scratch.length = 0;
    }
    return this;
  }
}

function tensorProto(tensor: OnnxTensor): Uint8Array {
  const w = new Writer().packedVarints(1, tensor.dims).varint(2, tensor.dataType).string(8, tensor.name);
  return w.bytes(9, tensor.raw).finish();
}

function attributeProto(name: string, attribute: OnnxAttribute): Uint8Array {
  const w = new Writer().string(1, name).varint(20, ATTRIBUTE_TYPE[attribute.type]);
  switch (attribute.type) {
    case 'float':
      return w.float(2, attribute.value).finish();
    case 'int':
      return w.varint(3, attribute.value).finish();
    case 'string':
      return w.string(4, attribute.value).finish();
    case 'floats':
      return w.packedFloats(7, attribute.value).finish();
    case 'ints':
      return w.packedVarints(8, attribute.value).finish();
  }
}

function nodeProto(node: OnnxNode): Uint8Array {
  const w = new Writer();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const [name, attribute] of Object.entries(node.attributes ?? {})) w.bytes(5, attributeProto(name, attribute));
  return w.finish();
}

function valueInfoProto(info: OnnxValueInfo): Uint8Array {
  const tensorType = new Writer().varint(1, info.dataType);
  if (info.shape) {
    const shape = new Writer();
    for (const dim of info.shape) {
      const dimension = new Writer();
      if (typeof dim === 'number') dimension.varint(1, dim);
      else if (typeof dim === 'string') dimension.string(2, dim);
      shape.bytes(1, dimension.finish());
    }
    tensorType.bytes(2, shape.finish());
  }
  const type = new Writer().bytes(1, tensorType.finish()).finish();
  return new Writer().string(1, info.name).bytes(2, type).finish();
}

/** The bytes of an ONNX ModelProto (ir_version 8, default-domain opset 17) holding `graph`. */
export function encodeModel(graph: OnnxGraph, producer = 'facefile'): Uint8Array {
  const g = new Writer();
  for (const node of graph.nodes) g.bytes(1, nodeProto(node));
  g.string(2, graph.name);
  for (const tensor of graph.initializers) g.bytes(5, tensorProto(tensor));
  for (const input of graph.inputs) g.bytes(11, valueInfoProto(input));
  for (const output of graph.outputs) g.bytes(12, valueInfoProto(output));
  const opset = new Writer().string(1, '').varint(2, OPSET).finish();
  return new Writer().varint(1, IR_VERSION).string(2, producer).bytes(7, g.finish()).bytes(8, opset).finish();
}
