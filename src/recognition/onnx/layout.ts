/** TF filter layouts to ONNX's OIHW. */

export interface Filter {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** A Conv2D filter [kh, kw, in, out] as [out, in, kh, kw]. */
export function hwioToOihw(filter: Filter): { values: Float32Array; dims: [number, number, number, number] } {
  const [kh = 0, kw = 0, ci = 0, co = 0] = filter.shape;
  const values = new Float32Array(filter.values.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) values[((o * ci + i) * kh + h) * kw + w] = filter.values[((h * kw + w) * ci + i) * co + o]!;
      }
    }
  }
  return { values, dims: [co, ci, kh, kw] };
}

/**
 * A depthwise filter [kh, kw, in, multiplier] as a grouped convolution's [in * multiplier, 1, kh, kw]:
 * TF puts output channel c * multiplier + m after input channel c, and so does ONNX with group = in.
 */
export function depthwiseToOihw(filter: Filter): { values: Float32Array; dims: [number, number, number, number]; group: number } {
  const [kh = 0, kw = 0, ci = 0, multiplier = 0] = filter.shape;
  const reshaped = hwioToOihw({ shape: [kh, kw, 1, ci * multiplier], values: filter.values });
  return { values: reshaped.values, dims: reshaped.dims, group: ci };
}
