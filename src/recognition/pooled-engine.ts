import { Piscina } from 'piscina';
import type { DecodedImage, DetectedFace, EngineInfo, FaceEngine } from '../core/index.ts';
import { EngineError } from '../core/index.ts';
import type { DetectAnswer, DetectTask } from './engine-worker.ts';
import type { EngineOptions } from './mesh-engine.ts';

/**
 * The recognition core spread over worker threads, one `MeshFaceEngine` each, so that a batch keeps
 * every core busy and the caller's event loop (a bot answering commands) never waits on inference.
 */
export class PooledFaceEngine implements FaceEngine {
  private inferenceMs = 0;
  private images = 0;

  private constructor(
    private readonly pool: Piscina,
    readonly info: EngineInfo,
  ) {}

  private closing = false;
  private readonly running = new Set<Promise<DetectAnswer>>();

  static async create(options: EngineOptions & { readonly workers: number }): Promise<PooledFaceEngine> {
    const { workers, ...engineOptions } = options;
    const pool = new Piscina({
      filename: new URL(`./engine-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: engineOptions,
      execArgv: workerExecArgv(),
    });
    try {
      // Every worker loads its models now, so that a broken install fails here and not on a photo.
      const infos = await Promise.all(Array.from({ length: workers }, () => pool.run('info') as Promise<EngineInfo>));
      return new PooledFaceEngine(pool, { ...infos[0]!, workers });
    } catch (cause) {
      await pool.destroy();
      if (cause instanceof EngineError) throw cause;
      throw new EngineError(`the recognition workers could not start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  async detect(image: DecodedImage): Promise<DetectedFace[]> {
    if (this.closing) throw new EngineError('the recognition engine is closing');
    // Pixels in shared memory (the process decoder's) are read by the worker where they are; others
    // are copied and the copy moved, so that the caller keeps its own and only one copy crosses.
    const shared = image.pixels.buffer instanceof SharedArrayBuffer;
    const pixels = shared ? image.pixels : image.pixels.slice();
    const task: DetectTask = { width: image.width, height: image.height, format: image.format, pixels };
    const run = this.pool.run(task, shared ? {} : { transferList: [pixels.buffer as ArrayBuffer] }) as Promise<DetectAnswer>;
    this.running.add(run);
    try {
      const answer = await run;
      this.inferenceMs += answer.ms;
      this.images++;
      return answer.faces;
    } finally {
      this.running.delete(run);
    }
  }

  /** Worker time spent on images so far, for the benchmark's busy-cores figure. */
  get stats(): { readonly images: number; readonly inferenceMs: number } {
    return { images: this.images, inferenceMs: this.inferenceMs };
  }

  /** How many images wait for a worker: the back-pressure signal for producers. */
  get queued(): number {
    return this.pool.queueSize;
  }

  /**
   * Lets the photos already handed to the workers finish, then stops the workers. Piscina would
   * terminate a worker in the middle of a task, and onnxruntime-node then aborts the whole process
   * (a native callback finds its thread gone).
   */
  async close(): Promise<void> {
    this.closing = true;
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.pool.close();
  }
}

/**
 * Worker threads inherit the parent's execArgv, which carries tsx's loader when run with
 * `node --import tsx` or `tsx`. The `facefile` bin registers tsx in-process instead, so the loader
 * is added explicitly for the workers.
 */
function workerExecArgv(): string[] {
  if (!import.meta.url.endsWith('.ts') || process.execArgv.some((arg) => arg.includes('tsx'))) return process.execArgv;
  return [...process.execArgv, '--import', import.meta.resolve('tsx')];
}
