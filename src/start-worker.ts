import type { Config } from './config.ts';
import type { Log } from './core/index.ts';
import { startRedescription } from './composition.ts';
import { PhotoWorker } from './jobs/bull/index.ts';
import { databaseCheck, observedEngine, redisCheck, watchQueue } from './observe.ts';
import { joinDeployment, reachDeployment } from './scale-out.ts';

export interface RunningWorker {
  /** Lets the running jobs end (the rest stay queued for other workers), then closes everything. */
  stop(): Promise<void>;
}

/**
 * `facefile worker`, wired once: settings and Redis checked (fast, before the models load) ->
 * /metrics, /healthz, /readyz -> engine -> library on the shared PostgreSQL and volume -> BullMQ
 * worker. Run as many as wanted, on as many machines; each takes photo jobs until stopped.
 */
export async function startWorker(config: Config, log: Log): Promise<RunningWorker> {
  const reached = await reachDeployment(config, 'worker');
  const opened: (() => Promise<void>)[] = [];
  const closeOpened = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    const { observed, engine } = await observedEngine(config, log, opened);
    const { metrics } = observed;
    const deployment = await joinDeployment(config, reached, engine, log, 'worker', metrics);
    opened.push(() => deployment.close());
    // After a change of embedder the workers share the re-description with the bots, group locks keeping them apart.
    const redescription = startRedescription(deployment.library, log);
    opened.push(() => redescription.stop());
    log.info({ concurrency: config.workerConcurrency }, `${deployment.summary}; ${config.workerConcurrency} jobs at once`);
    observed.addCheck('database', databaseCheck(deployment.database.db));
    const redis = redisCheck(deployment.place);
    opened.push(redis.close);
    observed.addCheck('redis', redis.check);
    const worker = new PhotoWorker({
      place: deployment.place,
      dataDir: config.dataDir,
      library: deployment.library,
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
