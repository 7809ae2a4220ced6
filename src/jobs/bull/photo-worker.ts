import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeError, type Log } from '../../core/index.ts';
import type { PhotoLibrary } from '../../core/library/index.ts';
import { DEFAULT_RETRY, retryDelay, type RetryPolicy } from '../photo-queue.ts';
import { incomingPhoto, type PhotoJobEvent, type PhotoJobResult } from '../photo-jobs.ts';
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
  private readonly retry: RetryPolicy;

  constructor(private readonly options: PhotoWorkerOptions) {
    const connection = bullConnection(options.place);
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.incoming = new IncomingPhotos(options.dataDir);
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
      settings: { backoffStrategy: (attemptsMade) => retryDelay(this.retry, attemptsMade) },
    });
    this.worker.on('error', (error) => options.log.warn({ err: error }, 'the photo worker lost Redis'));
    this.worker.on(
      'completed',
      (job) => void this.completed(job).catch((error: unknown) => options.log.warn({ err: error, job: job.id }, 'could not tidy a filed photo')),
    );
    this.worker.on(
      'failed',
      (job, error) =>
        void (job && this.failed(job, error).catch((e: unknown) => options.log.error({ err: e, job: job.id }, 'could not set a failed photo aside'))),
    );
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

  private async process(job: Job<PhotoJobData, PhotoJobResult['kind']>): Promise<PhotoJobResult['kind']> {
    const started = Date.now();
    const { meta } = job.data;
    let bytes: Buffer;
    try {
      bytes = await this.incoming.read(job.id!);
    } catch (error) {
      // Not a passing failure: no attempt can find it. The answer says so.
      throw new UnrecoverableError(`the photo is not on the shared volume (${describeError(error)}): is DATA_DIR the same volume on every process?`);
    }
    const result = await this.options.library.ingest(meta.group, incomingPhoto(bytes, meta));
    await this.answer(job, result);
    this.options.onJob?.({
      outcome: result.kind,
      waitSeconds: ((job.processedOn ?? started) - job.timestamp) / 1000,
      runSeconds: (Date.now() - started) / 1000,
    });
    return result.kind;
  }

  private async completed(job: Job<PhotoJobData>): Promise<void> {
    await this.incoming.remove(job.id!);
    await this.redis.decr(backlogKey(this.options.place, job.data.meta.group));
  }

  private async failed(job: Job<PhotoJobData>, error: Error): Promise<void> {
    const { meta } = job.data;
    const unrecoverable = error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
    const final = unrecoverable || job.attemptsMade >= (job.opts.attempts ?? 1);
    const runSeconds = job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : 0;
    const waitSeconds = job.processedOn ? (job.processedOn - job.timestamp) / 1000 : 0;
    if (!final) {
      this.options.log.warn(
        { err: error, job: job.id, group: meta.group, tries: job.attemptsMade },
        'filing a photo failed; it stays queued and is tried again',
      );
      this.options.onJob?.({ outcome: 'retried', waitSeconds, runSeconds });
      return;
    }
    this.options.log.error(
      { err: error, job: job.id, group: meta.group, tries: job.attemptsMade },
      'filing a photo kept failing; it is set aside in incoming/dead-letter/',
    );
    this.options.onJob?.({ outcome: unrecoverable ? 'failed' : 'dead_letter', waitSeconds, runSeconds });
    await this.incoming.setAside(job.id!, describeError(error));
    await this.redis.decr(backlogKey(this.options.place, meta.group));
    await this.answer(job, { kind: 'failed' });
  }

  /** Queues the answer for the bots; its id is the photo job's, so a job run again after a crash answers once. */
  private async answer(job: Job<PhotoJobData>, result: PhotoJobResult): Promise<void> {
    await this.answers.add(
      'answer',
      { meta: job.data.meta, result },
      { jobId: `a-${job.id!}`, removeOnComplete: { age: 3_600 }, removeOnFail: { age: 86_400 } },
    );
  }
}
