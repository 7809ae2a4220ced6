import type { Embedding } from '../types.ts';
import { normalize, similarity } from '../vector.ts';

export interface ClusterInput<K> {
  readonly key: K;
  /** Faces of one photo never join one cluster twice: one person appears once per photo. */
  readonly photo: string;
  readonly embedding: Embedding;
}

export interface Cluster<K> {
  readonly members: readonly ClusterInput<K>[];
  /** Members nearest the centre first: the best examples and samples. */
  readonly central: readonly ClusterInput<K>[];
}

/**
 * Groups unknown faces that look like one person: average-linkage agglomerative clustering, merging
 * the two closest clusters while their mean similarity reaches `threshold` (the group's naming
 * threshold, so a cluster is what the matcher would call one person). Average linkage does not
 * chain look-alikes together as single linkage does. Clusters seen in fewer than `minPhotos`
 * distinct photos are dropped. Cubic in the number of faces at worst: callers cap the input (the
 * most recent unknown faces) to keep it to a fraction of a second.
 */
export function clusterFaces<K>(inputs: readonly ClusterInput<K>[], threshold: number, minPhotos: number): Cluster<K>[] {
  const n = inputs.length;
  // Average linkage kept up to date by the Lance-Williams update, so a merge costs O(n), not a
  // recomputation over all member pairs; faces of one photo are kept apart by `apart`.
  const link: Float64Array[] = inputs.map((a) => Float64Array.from(inputs, (b) => similarity(a.embedding, b.embedding)));
  const apart: Uint8Array[] = inputs.map((a) => Uint8Array.from(inputs, (b) => (a.photo === b.photo ? 1 : 0)));
  const members: (number[] | undefined)[] = inputs.map((_, i) => [i]);
  for (;;) {
    let best = -Infinity, a = -1, b = -1;
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
    const ma = members[a]!, mb = members[b]!;
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
