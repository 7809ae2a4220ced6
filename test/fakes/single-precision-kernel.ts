import type { SimilarityKernel } from '../../src/core/index.ts';

/**
 * A `SimilarityKernel` that computes as onnxruntime's SGEMM does, in single precision, and then
 * lowers each value by `bias` (a little below the double-precision value is the worst case for a
 * face exactly on a minimum). `calls` counts the products asked for.
 */
export function singlePrecisionKernel(bias = 0): SimilarityKernel & { readonly calls: number } {
  let calls = 0;
  const similarities = (rows: Float32Array, probes: Float32Array, d: number): Float32Array => {
    calls++;
    const n = probes.length / d,
      count = rows.length / d;
    const out = new Float32Array(count * n);
    for (let r = 0; r < count; r++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < d; k++) sum = Math.fround(sum + Math.fround(rows[r * d + k]! * probes[j * d + k]!));
        out[r * n + j] = sum - bias;
      }
    return out;
  };
  return {
    get calls() {
      return calls;
    },
    similarities: (rows, probes, d) => Promise.resolve(similarities(rows, probes, d)),
    closest: (rows, probes, d, run) => {
      const scores = similarities(rows, probes, d);
      const n = probes.length / d,
        runs = n / run;
      const out = new Float32Array((rows.length / d) * runs).fill(-Infinity);
      for (let r = 0; r < rows.length / d; r++)
        for (let j = 0; j < n; j++) out[r * runs + Math.floor(j / run)] = Math.max(out[r * runs + Math.floor(j / run)]!, scores[r * n + j]!);
      return Promise.resolve(out);
    },
  };
}
