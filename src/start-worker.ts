import type { Config } from './config.ts';
import type { Log } from './core/index.ts';
import { createEngine } from './composition.ts';
import { PhotoWorker } from './jobs/bull/index.ts';
import type { PhotoJobEvent } from './jobs/index.ts';
import { joinDeployment, reachDeployment } from './scale-out.ts';

export interface RunningWorker {
  stop(): Promise<void>;
}

export interface WorkerStartOptions {
  /** Told about every job that ends or is retried (metrics). */
  readonly onJob?: (event: PhotoJobEvent) => void;
}

/**
 * `facefile worker`, wired once: settings and Redis checked (fast, before the models load) ->
 * engine -> library on the shared PostgreSQL and volume -> BullMQ worker. Runs as many as wanted,
 * on as many machines; each takes photo jobs until stopped, and a stop lets its running jobs end.
 */
export async function startWorker(config: Config, log: Log, options: WorkerStartOptions = {}): Promise<RunningWorker> {
  const reached = await reachDeployment(config, 'worker');
  const engine = await createEngine(config);
  log.info({ engine: engine.info }, `recognition on ${engine.info.backend} with ${engine.info.workers} workers`);
  const deployment = await joinDeployment(config, reached, engine, log, 'worker').catch(async (error: unknown) => {
    await engine.close();
    throw error;
  });
  log.info({ concurrency: config.workerConcurrency }, deployment.summary);
  const worker = new PhotoWorker({
    place: deployment.place,
    dataDir: config.dataDir,
    library: deployment.library,
    log,
    concurrency: config.workerConcurrency,
    ...(options.onJob ? { onJob: options.onJob } : {}),
  });
  worker.start();
  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        await worker.close();
        await deployment.close();
        await engine.close();
      })()),
  };
}
