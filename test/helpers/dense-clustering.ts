import type { Cluster, ClusterInput } from '../../src/core/linkage.ts';
import { normalize, similarity } from '../../src/core/index.ts';

/**
 * The clustering `/unknown` ran until issue 11: average linkage over a dense n x n matrix, cubic
 * time. Kept as the reference the scalable `clusterFaces` must agree with, in tests and the bench.
 */
export function denseClusterFaces<K>(inputs: readonly ClusterInput<K>[], threshold: number, minPhotos: number): Cluster<K>[] {
  const n = inputs.length;
  const link: Float64Array[] = inputs.map((a) => Float64Array.from(inputs, (b) => similarity(a.embedding, b.embedding)));
  const apart: Uint8Array[] = inputs.map((a) => Uint8Array.from(inputs, (b) => (a.photo === b.photo ? 1 : 0)));
  const members: (number[] | undefined)[] = inputs.map((_, i) => [i]);
  for (;;) {
    let best = -Infinity,
      a = -1,
      b = -1;
    for (let i = 0; i < n; i++) {
      if (!members[i]) continue;
      for (let j = i + 1; j < n; j++) {
        if (!members[j] || apart[i]![j]) continue;
        if (link[i]![j]! > best) {
          best = link[i]![j]!;
          a = i;
          b = j;
        }
      }
    }
    if (a < 0 || best < threshold) break;
    const ma = members[a]!,
      mb = members[b]!;
    for (let k = 0; k < n; k++) {
      if (!members[k] || k === a || k === b) continue;
      const value = (ma.length * link[a]![k]! + mb.length * link[b]![k]!) / (ma.length + mb.length);
      link[a]![k] = link[k]![a] = value;
      apart[a]![k] = apart[k]![a] = apart[a]![k]! | apart[b]![k]!;
    }
    members[a] = [...ma, ...mb];
    members[b] = undefined;
  }
  return members
    .filter((c): c is number[] => c !== undefined && new Set(c.map((i) => inputs[i]!.photo)).size >= minPhotos)
    .map((c) => {
      const centre = new Float32Array(inputs[c[0]!]!.embedding.length);
      for (const i of c) inputs[i]!.embedding.forEach((x, d) => (centre[d] = centre[d]! + x));
      normalize(centre);
      const group = c.map((i) => inputs[i]!);
      const central = [...group].sort((x, y) => similarity(y.embedding, centre) - similarity(x.embedding, centre));
      return { members: group, central };
    })
    .sort((x, y) => y.members.length - x.members.length);
}
