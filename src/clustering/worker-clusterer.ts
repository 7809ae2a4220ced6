import os from 'node:os';
import { Piscina } from 'piscina';
import { clustersOf, packFaces, type Cluster, type ClusterInput, type FaceClusterer, type NeighbourLists } from '../core/index.ts';
import type { LinkTask, MergeTask } from './cluster-worker.ts';

export interface WorkerClustererOptions {
  /** Threads that split the similarity pass; the merge runs on one. Defaults to the cores, at most 2. */
  readonly threads?: number;
  /** An idle thread ends after this long: clustering is a command, run now and then. */
  readonly idleTimeoutMs?: number;
}

/**
 * `clusterFaces` in worker threads, so that a bot's event loop (both chat platforms, every group)
 * keeps answering while 20,000 faces are clustered. The similarity pass, nearly all of the time, is
 * split over the threads; the faces are shared with them, never copied, and only face indices come
 * back, so the keys never leave this thread.
 */
export class WorkerFaceClusterer implements FaceClusterer {
  private readonly pool: Piscina;
  private readonly threads: number;

  constructor(options: WorkerClustererOptions = {}) {
    this.threads = options.threads ?? Math.min(2, os.availableParallelism());
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new RangeError(`threads must be a positive integer, not ${this.threads}`);
    this.pool = new Piscina({
      filename: new URL(`./cluster-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: options.idleTimeoutMs ?? 60_000,
      execArgv: workerExecArgv(),
    });
  }

  async cluster<K>(inputs: readonly ClusterInput<K>[], threshold: number, minPhotos: number): Promise<Cluster<K>[]> {
    if (inputs.length === 0) return [];
    const faces = packFaces(inputs, true);
    const parts = Math.min(this.threads, Math.ceil(faces.count / 4));
    const links = Array.from(
      { length: parts },
      (_, part) => this.pool.run({ kind: 'links', faces, threshold, part, parts } satisfies LinkTask) as Promise<NeighbourLists>,
    );
    const lists = await Promise.all(links);
    const groups = (await this.pool.run({ kind: 'merge', faces, threshold, minPhotos, lists } satisfies MergeTask)) as number[][];
    return clustersOf(inputs, groups);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** As `PooledFaceEngine`'s workers: tsx's loader is added when the parent registered it in-process. */
function workerExecArgv(): string[] {
  if (!import.meta.url.endsWith('.ts') || process.execArgv.some((arg) => arg.includes('tsx'))) return process.execArgv;
  return [...process.execArgv, '--import', import.meta.resolve('tsx')];
}
