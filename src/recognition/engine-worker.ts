/**
 * One worker thread of `PooledFaceEngine`: it owns one `MeshFaceEngine`, built from the options the
 * pool passed as workerData. Each model runs on one thread (onnxruntime is told so; tfjs on WASM
 * is single-threaded), so each core gets a worker of its own.
 */
import { workerData } from 'node:worker_threads';
import type { DetectedFace } from '../core/index.ts';
import { MeshFaceEngine, type EngineOptions } from './mesh-engine.ts';

export interface DetectTask {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly pixels: Uint8Array;
}

const ready = MeshFaceEngine.create(workerData as EngineOptions);
// Nobody awaits `ready` until the first task; keep a load failure from being an unhandled rejection.
ready.catch(() => undefined);

export interface DetectAnswer {
  readonly faces: DetectedFace[];
  /** Time spent on this image inside the worker: the inference share of the pipeline. */
  readonly ms: number;
}

export default async function detect(task: DetectTask | 'info'): Promise<DetectAnswer | MeshFaceEngine['info']> {
  const engine = await ready;
  if (task === 'info') return engine.info;
  const started = performance.now();
  const faces = await engine.detect(task);
  return { faces, ms: performance.now() - started };
}
