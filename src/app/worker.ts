import type { Config } from '../config.ts';
import type { Log } from '../core/index.ts';
import { PhotoWorker } from '../jobs/bull/index.ts';
import { scaleOutPlaces } from './deployment.ts';
import { openLibrary } from './library.ts';
import { databaseCheck, observe, observedEngine, redisCheck, watchQueue } from './observed.ts';
import { startRedescription } from './parts.ts';

export interface RunningWorker {
  /** Lets the running jobs end (the rest stay queued for other workers), then closes everything. */
  stop(): Promise<void>;
}

/**
 * `facefile worker`, wired once: /metrics, /healthz and /readyz -> settings and Redis checked
 * (fast, before the models load) -> engine -> library on the shared PostgreSQL and volume ->
 * BullMQ worker. Run as many as wanted, on as many machines; each takes photo jobs until stopped.
 */
export async function startWorker(config: Config, log: Log): Promise<RunningWorker> {
  const opened: (() => Promise<void>)[] = [];
  const closeOpened = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    // A worker only ever shares the data: without REDIS_URL, openLibrary would take it alone.
    scaleOutPlaces(config, 'worker');
    const observed = await observe(config, log);
    opened.push(() => observed.close());
    const { metrics } = observed;
    const parts = await openLibrary(config, { role: 'worker', log, metrics, engine: () => observedEngine(config, log, metrics) });
    opened.push(() => parts.close());
    // After a change of embedder the workers share the re-description with the bots, group locks keeping them apart.
    const redescription = startRedescription(parts.library, log);
    opened.push(() => redescription.stop());
    log.info({ concurrency: config.workerConcurrency }, `${parts.summary}; ${config.workerConcurrency} jobs at once`);
    observed.addCheck('database', databaseCheck(parts.database.db));
    const place = parts.redis!;
    const redis = redisCheck(place);
    opened.push(redis.close);
    observed.addCheck('redis', redis.check);
    const worker = new PhotoWorker({
      place,
      dataDir: config.dataDir,
      library: parts.library,
      log,
      concurrency: config.workerConcurrency,
      onJob: (event) => metrics.jobDone('photos', event.outcome, event),
    });
    opened.push(() => worker.close());
    watchQueue(metrics, worker);
    observed.addCheck('worker', () => (worker.running ? Promise.resolve() : Promise.reject(new Error('the worker is not taking jobs'))));
    worker.start();
    observed.started();
  } catch (error) {
    await closeOpened().catch(() => undefined);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return { stop: () => (stopping ??= closeOpened()) };
}
