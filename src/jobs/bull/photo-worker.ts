import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Log } from '../../core/index.ts';
import type { PhotoLibrary } from '../../core/library/index.ts';
import { retryDelay, type PhotoJobEvent, type PhotoJobResult, type RetryPolicy } from '../photo-jobs.ts';
import { PhotoProcessor, type PhotoJobRef, type PhotoJobStore } from '../photo-processor.ts';
import { backlogKey, bullConnection } from './bull-photo-jobs.ts';
import { ANSWERS_QUEUE, IncomingPhotos, PHOTOS_QUEUE, type AnswerJobData, type PhotoJobData } from './photo-files.ts';
import { redisConnection, type RedisPlace } from './redis.ts';

export interface PhotoWorkerOptions {
  readonly place: RedisPlace;
  readonly dataDir: string;
  /** Only `ingest` is used. */
  readonly library: Pick<PhotoLibrary, 'ingest'>;
  readonly log: Log;
  /** Photo jobs run at once by this process; the library still files one group's photos one at a time. */
  readonly concurrency: number;
  readonly retry?: RetryPolicy;
  /** How long a job stays this worker's without a sign of life before another may take it. */
  readonly lockDurationMs?: number;
  readonly onJob?: (event: PhotoJobEvent) => void;
}

/**
 * `facefile worker`'s loop: takes photo jobs from BullMQ, files each through the library (decode,
 * detect, embed outside the group's lock; match and store inside it, a lock the database holds
 * across processes), and queues the answer for the bots.
 *
 * Nothing is lost or filed twice when a worker dies: its job's lock expires and BullMQ hands the
 * job to another worker; the library recognises a photo it already filed by its content, and the
 * answer's job id is the photo job's, so the group hears once.
 */
export class PhotoWorker {
  private readonly worker: Worker<PhotoJobData, PhotoJobResult['kind']>;
  private readonly answers: Queue<AnswerJobData>;
  private readonly photos: Queue<PhotoJobData>;
  private readonly redis: Redis;
  private readonly incoming: IncomingPhotos;
  private readonly processor: PhotoProcessor;
  private readonly store: PhotoJobStore;

  constructor(private readonly options: PhotoWorkerOptions) {
    const connection = bullConnection(options.place);
    this.incoming = new IncomingPhotos(options.dataDir);
    this.processor = new PhotoProcessor({
      library: options.library,
      log: options.log,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.onJob ? { onJob: options.onJob } : {}),
      answer: (job, result) => this.answer(job, result),
    });
    // A job that ends leaves its group's backlog, which sets the fair priority of the next.
    const backlogDone = (job: PhotoJobRef) => this.redis.decr(backlogKey(options.place, job.meta.group));
    this.store = {
      done: async (job) => {
        await this.incoming.remove(job.id);
        await backlogDone(job);
      },
      setAside: async (job, folder, why) => {
        await this.incoming.setAside(job.id, why, folder);
        await backlogDone(job);
      },
    };
    this.answers = new Queue(ANSWERS_QUEUE, { connection, prefix: options.place.prefix });
    this.photos = new Queue(PHOTOS_QUEUE, { connection, prefix: options.place.prefix });
    for (const queue of [this.answers, this.photos]) queue.on('error', (error) => options.log.warn({ err: error }, 'a BullMQ queue lost Redis'));
    this.redis = redisConnection(options.place, 'worker');
    this.redis.on('error', (error) => options.log.warn({ err: error }, 'the worker lost Redis'));
    this.worker = new Worker<PhotoJobData, PhotoJobResult['kind']>(PHOTOS_QUEUE, (job) => this.process(job), {
      connection,
      prefix: options.place.prefix,
      concurrency: options.concurrency,
      autorun: false,
      lockDuration: options.lockDurationMs ?? 30_000,
      // A job whose worker died twice is not a worker's fault: it gets its ordinary attempts.
      maxStalledCount: 3,
      settings: { backoffStrategy: (attemptsMade) => retryDelay(this.processor.retry, attemptsMade) },
    });
    this.worker.on('error', (error) => options.log.warn({ err: error }, 'the photo worker lost Redis'));
    // A job that failed without the processor deciding so (its workers kept dying): set aside too.
    this.worker.on('failed', (job, error) => {
      if (!job || error instanceof SetAside) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled more than/i.test(error.message);
      if (!final) return;
      void this.processor
        .abandoned({ id: job.id!, meta: job.data.meta }, this.store, error)
        .catch((e: unknown) => options.log.error({ err: e, job: job.id }, 'could not set a failed photo aside'));
    });
  }

  /** Starts taking jobs; resolves once the worker runs. */
  start(): void {
    void this.worker.run().catch((error: unknown) => this.options.log.error({ err: error }, 'the photo worker stopped'));
  }

  /** The photo queue's jobs by state, for /metrics (every worker sees the same queue). */
  depth(): Promise<Record<string, number>> {
    return this.photos.getJobCounts();
  }

  /** Lets running jobs finish (whatever has not started stays queued for another worker). */
  async close(): Promise<void> {
    await this.worker.close();
    await this.answers.close();
    await this.photos.close();
    this.redis.disconnect();
  }

  /** Whether the worker is taking jobs (for readiness). */
  get running(): boolean {
    return this.worker.isRunning();
  }

  /** One try, by the one photo processor; BullMQ retries (with the policy's pauses) what it says to. */
  private async process(job: Job<PhotoJobData, PhotoJobResult['kind']>): Promise<PhotoJobResult['kind']> {
    const id = job.id!;
    const outcome = await this.processor.attempt(
      { id, meta: job.data.meta, tries: job.attemptsMade, acceptedAt: job.timestamp, read: () => this.incoming.read(id) },
      this.store,
    );
    switch (outcome.kind) {
      case 'filed':
        return outcome.result.kind;
      case 'retry':
        throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
      case 'set-aside':
        // Already set aside and answered: into the failed set (the dead-letter queue), with no retry.
        throw new SetAside(outcome.why);
    }
  }

  /** Queues the answer for the bots; its id is the photo job's, so a job run again after a crash answers once. */
  private async answer(job: PhotoJobRef, result: PhotoJobResult): Promise<void> {
    await this.answers.add('answer', { meta: job.meta, result }, { jobId: `a-${job.id}`, removeOnComplete: { age: 3_600 }, removeOnFail: { age: 86_400 } });
  }
}

/** A job the processor set aside and answered: BullMQ only records it as failed. */
class SetAside extends UnrecoverableError {
  override name = 'UnrecoverableError';
}
