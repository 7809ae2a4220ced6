/**
 * One worker thread of `WorkerFaceClusterer`: the two stages of `clusterFaces`, each a plain function
 * of its task. The faces arrive in shared memory, so every stage reads them without a copy.
 */
// The one module, not the library's index: each thread then loads (and tsx compiles) a file, not
// the whole library, which took seconds per thread.
import { agglomerate, neighbourLists, type NeighbourLists, type PackedFaces } from '../core/linkage.ts';

export interface LinkTask {
  readonly kind: 'links';
  readonly faces: PackedFaces;
  readonly threshold: number;
  readonly part: number;
  readonly parts: number;
}

export interface MergeTask {
  readonly kind: 'merge';
  readonly faces: PackedFaces;
  readonly threshold: number;
  readonly minPhotos: number;
  readonly lists: readonly NeighbourLists[];
}

export default function run(task: LinkTask | MergeTask): NeighbourLists | number[][] {
  switch (task.kind) {
    case 'links':
      // In shared memory, so that the lists reach the caller without a copy.
      return neighbourLists(task.faces, task.threshold, { part: task.part, parts: task.parts, shared: true });
    case 'merge':
      return agglomerate(task.faces, task.threshold, task.minPhotos, task.lists);
  }
}
