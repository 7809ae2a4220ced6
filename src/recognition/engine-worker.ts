/**
 * One worker thread of `PooledFaceEngine`: it owns one `HumanFaceEngine`, built from the options the
 * pool passed as workerData. TensorFlow.js on WASM is single-threaded in Node, so each core gets a
 * worker of its own.
 */
import { workerData } from 'node:worker_threads';
import type { DetectedFace } from '../core/index.ts';
import { HumanFaceEngine, type EngineOptions } from './human-engine.ts';

export interface DetectTask {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly pixels: Uint8Array;
}

const ready = HumanFaceEngine.create(workerData as EngineOptions);
// Nobody awaits `ready` until the first task; keep a load failure from being an unhandled rejection.
ready.catch(() => undefined);

export interface DetectAnswer {
  readonly faces: DetectedFace[];
  /** Time spent on this image inside the worker: the inference share of the pipeline. */
  readonly ms: number;
}

export default async function detect(task: DetectTask | 'info'): Promise<DetectAnswer | HumanFaceEngine['info']> {
  const engine = await ready;
  if (task === 'info') return engine.info;
  const started = performance.now();
  const faces = await engine.detect(task);
  return { faces, ms: performance.now() - started };
}
