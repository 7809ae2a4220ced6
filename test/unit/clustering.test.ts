import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterFaces, inProcessClusterer, type Cluster, type ClusterInput } from '../../src/core/index.ts';
import { normalize, similarity } from '../../src/core/index.ts';
import { WorkerFaceClusterer } from '../../src/clustering/index.ts';
import { denseClusterFaces } from '../helpers/dense-clustering.ts';
import { around, pairwiseScore, random, syntheticFaces, type SyntheticFace } from '../helpers/synthetic-faces.ts';

const T = 0.93;

/** Each cluster as its face numbers, nearest the centre first. */
function shape(clusters: readonly Cluster<SyntheticFace>[]): number[][] {
  return clusters.map((c) => c.central.map((m) => m.key.face));
}

/** Each cluster as its face numbers in input order: near-ties to the centre may order differently. */
function memberships(clusters: readonly Cluster<SyntheticFace>[]): number[][] {
  return clusters.map((c) => c.members.map((m) => m.key.face).sort((x, y) => x - y));
}

/** `people` identities, far apart, each seen in `photos` photos of their own. */
function separated(people: number, photos: number, seed = 1): ClusterInput<SyntheticFace>[] {
  const next = random(seed);
  const faces: ClusterInput<SyntheticFace>[] = [];
  for (let identity = 0; identity < people; identity++) {
    const centre = around(new Float32Array(128), 1, next);
    for (let p = 0; p < photos; p++) faces.push({ key: { identity, face: faces.length }, photo: `${identity}-${p}`, embedding: around(centre, 0.015, next) });
  }
  return faces;
}

describe('clusterFaces', () => {
  it('GIVEN well separated people THEN each is one cluster of exactly their faces, the largest first', () => {
    const faces = [...separated(6, 4, 1), ...separated(1, 7, 2).map((f) => ({ ...f, key: { identity: 6, face: 100 + f.key.face } }))];
    const clusters = clusterFaces(faces, T, 3);
    assert.equal(clusters.length, 7);
    assert.equal(clusters[0]!.members.length, 7);
    for (const c of clusters) assert.equal(new Set(c.members.map((m) => m.key.identity)).size, 1);
    assert.deepEqual(pairwiseScore(faces, clusters), { precision: 1, recall: 1 });
  });

  it('GIVEN one face twice in one photo THEN the two never share a cluster', () => {
    const next = random(3);
    const centre = around(new Float32Array(128), 1, next);
    const faces = ['a', 'a', 'b', 'c'].map((photo, face) => ({ key: { identity: 0, face }, photo, embedding: around(centre, 0.01, next) }));
    const clusters = clusterFaces(faces, T, 1);
    for (const c of clusters) assert.equal(new Set(c.members.map((m) => m.photo)).size, c.members.length);
    assert.deepEqual(
      clusters.map((c) => c.members.length),
      [3, 1],
    );
  });

  it('GIVEN a face seen in two photos THEN it is dropped below minPhotos 3 and kept at 2', () => {
    const faces = separated(1, 2);
    assert.deepEqual(clusterFaces(faces, T, 3), []);
    assert.equal(clusterFaces(faces, T, 2).length, 1);
  });

  it('GIVEN look-alikes A ~ B ~ C with A and C far apart THEN A and C never share a cluster', () => {
    const next = random(4);
    const [a, c] = [around(new Float32Array(128), 1, next), around(new Float32Array(128), 1, next)];
    const mix = (u: Float32Array, v: Float32Array): Float32Array => normalize(u.map((x, i) => x + v[i]!));
    const b = mix(a, c);
    // Five steps from A to C, each about 0.92 like the next: single linkage would chain all five.
    const steps = [a, mix(a, b), b, mix(b, c), c];
    for (let i = 1; i < steps.length; i++) assert.ok(similarity(steps[i - 1]!, steps[i]!) > 0.9);
    assert.ok(similarity(a, c) < 0.5);
    const faces = steps.flatMap((centre, identity) =>
      [0, 1, 2].map((p) => ({ key: { identity, face: identity * 3 + p }, photo: `${identity}-${p}`, embedding: around(centre, 0.005, next) })),
    );
    const clusters = clusterFaces(faces, 0.9, 1);
    for (const cluster of clusters) {
      const ids = new Set(cluster.members.map((m) => m.key.identity));
      assert.ok(!(ids.has(0) && ids.has(4)), `A and C together in ${[...ids].join(',')}`);
    }
  });

  it('GIVEN 700 faces of many people THEN the very clusters of the dense average linkage, in its order', () => {
    for (const seed of [11, 12, 13]) {
      const faces = syntheticFaces({ faces: 700, identities: 80, singletons: 0.3, seed });
      assert.deepEqual(memberships(clusterFaces(faces, T, 3)), memberships(denseClusterFaces(faces, T, 3)), `seed ${seed}`);
    }
  });

  it('GIVEN one person in 300 photos, more than a face keeps links to THEN still one cluster', () => {
    const faces = separated(1, 300, 5);
    const clusters = clusterFaces(faces, T, 3);
    assert.deepEqual(
      clusters.map((c) => c.members.length),
      [300],
    );
  });

  it('GIVEN a cluster THEN its first face is the one nearest its centre', () => {
    const [first] = clusterFaces(separated(1, 9, 6), T, 3);
    const centre = normalize(first!.members.reduce((sum, m) => sum.map((x, i) => x + m.embedding[i]!), new Float32Array(128)));
    const sims = first!.central.map((m) => similarity(m.embedding, centre));
    assert.deepEqual(
      sims,
      [...sims].sort((x, y) => y - x),
    );
  });

  it('GIVEN no faces THEN no clusters', async () => {
    assert.deepEqual(clusterFaces([], T, 3), []);
    assert.deepEqual(await inProcessClusterer.cluster([], T, 3), []);
  });
});

describe('WorkerFaceClusterer', () => {
  const clusterer = new WorkerFaceClusterer({ threads: 2 });
  after(() => clusterer.close());

  it('GIVEN the same faces THEN the same clusters as in process, big people included', async () => {
    const faces = syntheticFaces({ faces: 3000, identities: 60, singletons: 0.3, seed: 21 });
    const inProcess = clusterFaces(faces, T, 3);
    const inWorker = await clusterer.cluster(faces, T, 3);
    assert.deepEqual(shape(inWorker), shape(inProcess));
    assert.ok(
      inWorker.every((c, i) => c.members.every((m, j) => m === inProcess[i]!.members[j])),
      "the callers' own inputs come back",
    );
  });

  it('GIVEN 5,000 faces clustering in the worker THEN the event loop keeps ticking', async () => {
    const faces = syntheticFaces({ faces: 5000, identities: 200, singletons: 0.3, seed: 22 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    try {
      const clusters = await clusterer.cluster(faces, T, 3);
      assert.ok(clusters.length > 0);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 1, `only ${ticks} ticks`);
  });
});
