/** Average-linkage clustering of faces: which unknown faces look like one person (the library's /unknown, the archiver's report). */
import type { Embedding } from './faces.ts';

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
 * Groups faces that look like one person, as `clusterFaces` does. The library's port for it: run in
 * process (`inProcessClusterer`) or, for a bot whose event loop must keep answering, in a worker.
 */
export interface FaceClusterer {
  cluster<K>(inputs: readonly ClusterInput<K>[], threshold: number, minPhotos: number): Promise<Cluster<K>[]>;
}

/** `clusterFaces` on the caller's thread: for tools, tests, and libraries of a few thousand faces. */
export const inProcessClusterer: FaceClusterer = {
  cluster: (inputs, threshold, minPhotos) => Promise.resolve(clusterFaces(inputs, threshold, minPhotos)),
};

/** Faces as plain numbers, ready to be shared with (or moved to) a worker thread. */
export interface PackedFaces {
  readonly count: number;
  readonly dim: number;
  /** `count` rows of `dim` numbers. */
  readonly vectors: Float32Array;
  /** Each face's photo as a number: faces with one number never share a cluster. */
  readonly photos: Int32Array;
}

/**
 * For each face, its strongest links at or above the threshold, at most `degree` of them, as a
 * min-heap per face (`ids`/`links` rows of `degree`). `overflow` marks the faces that had more.
 */
export interface NeighbourLists {
  readonly degree: number;
  readonly ids: Int32Array;
  readonly links: Float32Array;
  readonly counts: Int32Array;
  readonly overflow: Uint8Array;
}

/**
 * Links kept per face by the similarity pass. A face of a person seen hundreds of times links to
 * only this many of their faces; the merges that this leaves out are found by the next pass, over
 * the clusters' centres. Bounds memory at count x 64 x 8 bytes per pass.
 */
export const NEIGHBOURS_PER_FACE = 64;

/** Packs the faces; `shared` puts the numbers in shared memory, for several workers to read at once. */
export function packFaces(inputs: readonly ClusterInput<unknown>[], shared = false): PackedFaces {
  const count = inputs.length;
  const dim = inputs[0]?.embedding.length ?? 0;
  const buffer = (bytes: number): ArrayBuffer | SharedArrayBuffer => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const vectors = new Float32Array(buffer(count * dim * 4));
  const photos = new Int32Array(buffer(count * 4));
  const photoIds = new Map<string, number>();
  inputs.forEach((input, i) => {
    if (input.embedding.length !== dim) throw new RangeError(`embedding lengths differ: ${input.embedding.length} vs ${dim}`);
    vectors.set(input.embedding, i * dim);
    let id = photoIds.get(input.photo);
    if (id === undefined) photoIds.set(input.photo, (id = photoIds.size));
    photos[i] = id;
  });
  return { count, dim, vectors, photos };
}

/**
 * The similarity pass: every pair of rows whose dot product reaches `threshold` is offered to both
 * rows' lists, except rows of one photo (when `photos` is given). `part` of `parts` takes every
 * `parts`-th block of four rows, so that workers can split it and `agglomerate` unite their lists;
 * `shared` answers them in shared memory, for a worker to hand back without a copy.
 * The rows are compared four against two at a time: V8 keeps the eight sums in registers, which
 * measured 3x faster than one dot product at a time.
 */
export function neighbourLists(
  rows: { readonly count: number; readonly dim: number; readonly vectors: Float32Array; readonly photos?: Int32Array },
  threshold: number,
  options: { readonly degree?: number; readonly part?: number; readonly parts?: number; readonly shared?: boolean } = {},
): NeighbourLists {
  const { degree = NEIGHBOURS_PER_FACE, part = 0, parts = 1, shared = false } = options;
  const { count: n, dim: d, vectors: v, photos } = rows;
  const buffer = (bytes: number): ArrayBuffer | SharedArrayBuffer => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const lists: NeighbourLists = {
    degree,
    ids: new Int32Array(buffer(n * degree * 4)),
    links: new Float32Array(buffer(n * degree * 4)),
    counts: new Int32Array(buffer(n * 4)),
    overflow: new Uint8Array(buffer(n)),
  };
  const pair = (i: number, j: number, link: number): void => {
    if (link < threshold || (photos && photos[i] === photos[j])) return;
    offer(lists, i, j, link);
    offer(lists, j, i, link);
  };
  const single = (i: number, j: number): void => {
    const oi = i * d,
      oj = j * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += v[oi + k]! * v[oj + k]!;
    pair(i, j, s);
  };
  for (let i = part * 4; i < n; i += parts * 4) {
    if (i + 4 > n) {
      for (let a = i; a < n; a++) for (let b = a + 1; b < n; b++) single(a, b);
      continue;
    }
    for (let a = i; a < i + 4; a++) for (let b = a + 1; b < i + 4; b++) single(a, b);
    const o0 = i * d,
      o1 = o0 + d,
      o2 = o1 + d,
      o3 = o2 + d;
    let j = i + 4;
    for (; j + 2 <= n; j += 2) {
      const p = j * d,
        q = p + d;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0,
        t0 = 0,
        t1 = 0,
        t2 = 0,
        t3 = 0;
      for (let k = 0; k < d; k++) {
        const x = v[p + k]!,
          y = v[q + k]!;
        const r0 = v[o0 + k]!,
          r1 = v[o1 + k]!,
          r2 = v[o2 + k]!,
          r3 = v[o3 + k]!;
        s0 += r0 * x;
        s1 += r1 * x;
        s2 += r2 * x;
        s3 += r3 * x;
        t0 += r0 * y;
        t1 += r1 * y;
        t2 += r2 * y;
        t3 += r3 * y;
      }
      // Most pairs are strangers: one test skips all eight.
      if (Math.max(s0, s1, s2, s3, t0, t1, t2, t3) < threshold) continue;
      pair(i, j, s0);
      pair(i + 1, j, s1);
      pair(i + 2, j, s2);
      pair(i + 3, j, s3);
      pair(i, j + 1, t0);
      pair(i + 1, j + 1, t1);
      pair(i + 2, j + 1, t2);
      pair(i + 3, j + 1, t3);
    }
    for (; j < n; j++) for (let a = i; a < i + 4; a++) single(a, j);
  }
  return lists;
}

/** Offers `other` to `row`'s list, a min-heap of its strongest links: the weakest is replaced first. */
function offer(lists: NeighbourLists, row: number, other: number, link: number): void {
  const { degree, ids, links, counts } = lists;
  const base = row * degree;
  const count = counts[row]!;
  let pos: number;
  if (count < degree) {
    counts[row] = count + 1;
    pos = count;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (links[base + parent]! <= link) break;
      links[base + pos] = links[base + parent]!;
      ids[base + pos] = ids[base + parent]!;
      pos = parent;
    }
  } else {
    lists.overflow[row] = 1;
    if (link <= links[base]!) return;
    pos = 0;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= degree) break;
      if (child + 1 < degree && links[base + child + 1]! < links[base + child]!) child++;
      if (links[base + child]! >= link) break;
      links[base + pos] = links[base + child]!;
      ids[base + pos] = ids[base + child]!;
      pos = child;
    }
  }
  links[base + pos] = link;
  ids[base + pos] = other;
}

/**
 * Average-linkage agglomerative clustering over the links of `neighbourLists` (the lists of all
 * parts): merges the two closest clusters while their mean similarity reaches `threshold` and they
 * share no photo, as the dense algorithm did, and answers each kept cluster as face indices, nearest
 * the centre first, largest cluster first.
 *
 * Exact without a similarity matrix: for unit vectors the mean of all pairwise dot products of A
 * and B is the dot product of their sums over |A||B|, so a cluster is its sum and size; and a mean
 * that reaches the threshold needs one pair that does, so only clusters joined by a listed link are
 * candidates. A link is left out only when both faces' lists overflowed, so passes over the centres
 * of the clusters that hold such faces (a few big ones, not every cluster) add what was left out.
 */
export function agglomerate(faces: PackedFaces, threshold: number, minPhotos: number, lists: readonly NeighbourLists[]): number[][] {
  const { count: n, dim: d } = faces;
  const sums = Float64Array.from(faces.vectors);
  const sizes = new Int32Array(n).fill(1);
  const versions = new Int32Array(n);
  const members: number[][] = Array.from({ length: n }, (_, i) => [i]);
  const photos: Set<number>[] = Array.from(faces.photos, (p) => new Set([p]));
  const near: Set<number>[] = Array.from({ length: n }, () => new Set());
  const alive = new Uint8Array(n).fill(1);
  // Clusters holding a face (or, after a pass, a centre) whose list overflowed.
  const overflowing = new Uint8Array(n);
  const heap = new LinkHeap();
  const link = (a: number, b: number): number => {
    let s = 0;
    for (let k = 0, oa = a * d, ob = b * d; k < d; k++) s += sums[oa + k]! * sums[ob + k]!;
    return s / (sizes[a]! * sizes[b]!);
  };
  const join = (a: number, b: number): boolean => {
    if (a === b || near[a]!.has(b)) return false;
    near[a]!.add(b);
    near[b]!.add(a);
    const value = link(a, b);
    if (value >= threshold) heap.push(value, a, b, versions[a]!, versions[b]!);
    return true;
  };
  const joinLists = (found: NeighbourLists, cluster: (row: number) => number): number => {
    let added = 0;
    for (let row = 0; row < found.counts.length; row++) {
      for (let e = 0; e < found.counts[row]!; e++) if (join(cluster(row), cluster(found.ids[row * found.degree + e]!))) added++;
    }
    return added;
  };
  const shareAPhoto = (a: number, b: number): boolean => {
    const [small, large] = photos[a]!.size < photos[b]!.size ? [photos[a]!, photos[b]!] : [photos[b]!, photos[a]!];
    for (const p of small) if (large.has(p)) return true;
    return false;
  };
  const merge = (a: number, b: number): void => {
    // The larger cluster absorbs the smaller, each container swapped so the smaller one is copied.
    const [s, o] = members[a]!.length >= members[b]!.length ? [a, b] : [b, a];
    for (let k = 0, os = s * d, oo = o * d; k < d; k++) sums[os + k] = sums[os + k]! + sums[oo + k]!;
    sizes[s] = sizes[s]! + sizes[o]!;
    overflowing[s] = overflowing[s]! | overflowing[o]!;
    members[s]!.push(...members[o]!);
    members[o] = [];
    if (photos[o]!.size > photos[s]!.size) [photos[s], photos[o]] = [photos[o]!, photos[s]!];
    for (const p of photos[o]!) photos[s]!.add(p);
    for (const x of near[o]!) {
      near[x]!.delete(o);
      if (x !== s) near[x]!.add(s);
    }
    if (near[o]!.size > near[s]!.size) [near[s], near[o]] = [near[o]!, near[s]!];
    for (const x of near[o]!) near[s]!.add(x);
    near[s]!.delete(s);
    near[s]!.delete(o);
    near[o] = new Set();
    alive[o] = 0;
    versions[s]!++;
    versions[o]!++;
    for (const x of near[s]!) {
      const value = link(s, x);
      if (value >= threshold) heap.push(value, s, x, versions[s]!, versions[x]!);
    }
  };
  const mergeAll = (): number => {
    let merged = 0;
    for (let top = heap.pop(); top; top = heap.pop()) {
      const { a, b } = top;
      if (versions[a] !== top.versionA || versions[b] !== top.versionB || shareAPhoto(a, b)) continue;
      merge(a, b);
      merged++;
    }
    return merged;
  };

  const united = unite(lists);
  overflowing.set(united.overflow);
  joinLists(united, (row) => row);
  for (let pass = 0; ; pass++) {
    const merged = mergeAll();
    if (!overflowing.includes(1) || (pass > 0 && merged === 0)) break;
    const ids: number[] = [];
    alive.forEach((on, c) => on && overflowing[c] && ids.push(c));
    const centres = new Float32Array(ids.length * d);
    ids.forEach((c, row) => {
      for (let k = 0; k < d; k++) centres[row * d + k] = sums[c * d + k]! / sizes[c]!;
    });
    const found = neighbourLists({ count: ids.length, dim: d, vectors: centres }, threshold);
    overflowing.fill(0);
    ids.forEach((c, row) => (overflowing[c] = found.overflow[row]!));
    if (joinLists(found, (row) => ids[row]!) === 0) break;
  }

  const kept: { faces: number[]; first: number }[] = [];
  for (let c = 0; c < n; c++) {
    if (!alive[c] || photos[c]!.size < minPhotos) continue;
    const towardsCentre = (i: number): number => {
      let s = 0;
      for (let k = 0, oi = i * d, oc = c * d; k < d; k++) s += faces.vectors[oi + k]! * sums[oc + k]!;
      return s;
    };
    const scored = members[c]!.map((i) => ({ i, s: towardsCentre(i) }));
    scored.sort((x, y) => y.s - x.s || x.i - y.i);
    kept.push({ faces: scored.map((m) => m.i), first: members[c]!.reduce((x, y) => Math.min(x, y)) });
  }
  return kept.sort((x, y) => y.faces.length - x.faces.length || x.first - y.first).map((c) => c.faces);
}

/** The strongest links of each row over all parts: the lists one pass over every pair would give. */
function unite(lists: readonly NeighbourLists[]): NeighbourLists {
  const [first, ...rest] = lists;
  if (!first) throw new RangeError('no neighbour lists');
  if (rest.length === 0) return first;
  const { degree } = first;
  const rows = first.counts.length;
  const united: NeighbourLists = {
    degree,
    ids: new Int32Array(rows * degree),
    links: new Float32Array(rows * degree),
    counts: new Int32Array(rows),
    overflow: new Uint8Array(rows),
  };
  for (const part of lists) {
    for (let row = 0; row < rows; row++) {
      if (part.overflow[row]) united.overflow[row] = 1;
      for (let e = row * degree; e < row * degree + part.counts[row]!; e++) offer(united, row, part.ids[e]!, part.links[e]!);
    }
  }
  return united;
}

/** The clusters, in `agglomerate`'s order, as the inputs they hold. */
export function clustersOf<K>(inputs: readonly ClusterInput<K>[], groups: readonly (readonly number[])[]): Cluster<K>[] {
  return groups.map((group) => {
    const central = group.map((i) => inputs[i]!);
    return { members: [...group].sort((x, y) => x - y).map((i) => inputs[i]!), central };
  });
}

/**
 * Groups unknown faces that look like one person: average-linkage agglomerative clustering, merging
 * the two closest clusters while their mean similarity reaches `threshold` (the group's naming
 * threshold, so a cluster is what the matcher would call one person). Average linkage does not
 * chain look-alikes together as single linkage (connected components) does. Clusters seen in fewer
 * than `minPhotos` distinct photos are dropped. Quadratic time in the number of faces, linear
 * memory: 20,000 faces take seconds, so a bot runs it in a worker (`FaceClusterer`).
 */
export function clusterFaces<K>(inputs: readonly ClusterInput<K>[], threshold: number, minPhotos: number): Cluster<K>[] {
  const faces = packFaces(inputs);
  return clustersOf(inputs, agglomerate(faces, threshold, minPhotos, [neighbourLists(faces, threshold)]));
}

/** A max-heap of candidate merges; an entry is stale once either cluster has changed since. */
class LinkHeap {
  private values = new Float64Array(1024);
  private pairs = new Int32Array(4096);
  private size = 0;

  push(value: number, a: number, b: number, versionA: number, versionB: number): void {
    if (this.size === this.values.length) {
      const values = new Float64Array(this.size * 2);
      values.set(this.values);
      this.values = values;
      const pairs = new Int32Array(this.size * 8);
      pairs.set(this.pairs);
      this.pairs = pairs;
    }
    let pos = this.size++;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (this.values[parent]! >= value) break;
      this.move(parent, pos);
      pos = parent;
    }
    this.values[pos] = value;
    const at = pos * 4;
    this.pairs[at] = a;
    this.pairs[at + 1] = b;
    this.pairs[at + 2] = versionA;
    this.pairs[at + 3] = versionB;
  }

  pop(): { a: number; b: number; versionA: number; versionB: number } | undefined {
    if (this.size === 0) return undefined;
    const top = { a: this.pairs[0]!, b: this.pairs[1]!, versionA: this.pairs[2]!, versionB: this.pairs[3]! };
    const last = --this.size;
    const value = this.values[last]!;
    let pos = 0;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= last) break;
      if (child + 1 < last && this.values[child + 1]! > this.values[child]!) child++;
      if (this.values[child]! <= value) break;
      this.move(child, pos);
      pos = child;
    }
    this.move(last, pos);
    return top;
  }

  private move(from: number, to: number): void {
    const { values, pairs } = this;
    values[to] = values[from]!;
    for (let k = 0; k < 4; k++) pairs[to * 4 + k] = pairs[from * 4 + k]!;
  }
}
