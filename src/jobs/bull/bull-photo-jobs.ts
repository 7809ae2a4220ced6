import { randomBytes } from 'node:crypto';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { GroupId, Log } from '../../core/index.ts';
import { sha256Hex } from '../../core/hash.ts';
import { DEFAULT_RETRY, type PhotoJobHandler, type PhotoJobMeta, type PhotoJobs, type RetryPolicy } from '../photo-jobs.ts';
import { ANSWERS_QUEUE, IncomingPhotos, PHOTOS_QUEUE, photoJobId, type AnswerJobData, type PhotoJobData } from './photo-files.ts';
import { redisConnection, type RedisPlace } from './redis.ts';
import { deleteSetAside } from '../set-aside.ts';

/** BullMQ's priorities run from 1 (first) to 2^21 - 1. */
const LOWEST_PRIORITY = 2 ** 21 - 1;
/** A photo on the volume with no job for this long is given one again (see `IncomingPhotos`). */
const REQUEUE_AFTER_MS = 60_000;

export interface BullPhotoJobsOptions {
  readonly place: RedisPlace;
  readonly dataDir: string;
  readonly log: Log;
  readonly retry?: RetryPolicy;
  /** Off, jobs run first come first served across groups: only to measure what fairness does. */
  readonly fair?: boolean;
}

/** BullMQ's connection settings: workers block on Redis, so commands never give up. */
export function bullConnection(place: RedisPlace): ConnectionOptions {
  return { url: place.url, maxRetriesPerRequest: null };
}

/** The Redis key that counts a group's photos waiting or being filed: the fair priority of its next job. */
export function backlogKey(place: RedisPlace, group: GroupId): string {
  return `${place.prefix}:backlog:${group}`;
}

/**
 * The bot's side of scale-out: a posted photo is written to the shared volume and becomes a
 * BullMQ job that any `facefile worker` may take; the worker's answer comes back on a second queue
 * that every bot process serves, so whichever process is up replies or reacts.
 *
 * Fair across groups: a job's priority is its place in its group's backlog, so the first photo of
 * a quiet group goes before the 300th of a group that posted a burst (BullMQ runs equal
 * priorities oldest first). Priority orders the jobs that wait, but does not keep a held-up group
 * (a long forget holding its lock) from taking several of a worker's places: a cap on each group's
 * running jobs is BullMQ Pro's groups, which this project does not use; such a job waits at most
 * the lock's timeout, and the folder queue of a single process takes turns by group instead
 * (`GroupTurns`). Attempts and growing pauses follow the retry policy; a job whose worker
 * died is taken up by another once its lock expires (BullMQ's stalled-job check); one that fails
 * every attempt stays in BullMQ's failed set (the dead-letter queue) with its photo set aside on
 * the volume.
 */
export class BullPhotoJobs implements PhotoJobs {
  private readonly handlers = new Map<string, PhotoJobHandler>();
  private readonly photos: Queue<PhotoJobData>;
  private readonly answers: Queue<AnswerJobData>;
  private readonly redis: Redis;
  private readonly incoming: IncomingPhotos;
  private readonly retry: RetryPolicy;
  /** Jobs this process added that may not be done yet, for `settled`. */
  private readonly open = new Set<string>();
  private answering: Worker<AnswerJobData> | undefined;
  private stopping = false;

  constructor(private readonly options: BullPhotoJobsOptions) {
    const connection = bullConnection(options.place);
    this.photos = new Queue(PHOTOS_QUEUE, { connection, prefix: options.place.prefix });
    this.answers = new Queue(ANSWERS_QUEUE, { connection, prefix: options.place.prefix });
    for (const queue of [this.photos, this.answers]) queue.on('error', (error) => options.log.warn({ err: error }, 'a BullMQ queue lost Redis'));
    this.redis = redisConnection(options.place, 'bot');
    this.redis.on('error', (error) => options.log.warn({ err: error }, 'the bot lost Redis'));
    this.incoming = new IncomingPhotos(options.dataDir);
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  onDone(platform: string, handler: PhotoJobHandler): void {
    this.handlers.set(platform, handler);
  }

  /** Serves the answers queue, and gives a job again to any accepted photo whose job Redis lost. */
  async start(): Promise<number> {
    this.answering = new Worker<AnswerJobData>(ANSWERS_QUEUE, (job) => this.answer(job.data), {
      connection: bullConnection(this.options.place),
      prefix: this.options.place.prefix,
      concurrency: 8,
    });
    this.answering.on('error', (error) => this.options.log.warn({ err: error }, 'the answers worker lost Redis'));
    let requeued = 0;
    for (const { id, meta } of await this.incoming.older(REQUEUE_AFTER_MS)) {
      const state = await this.photos.getJobState(id);
      if (state === 'completed') await this.incoming.remove(id);
      else if (state === 'unknown') {
        await this.enqueue(id, meta);
        requeued++;
      }
    }
    if (requeued > 0) this.options.log.warn({ jobs: requeued }, 'photos accepted earlier had no job in Redis (was its data lost?); they are queued again');
    return requeued;
  }

  async add(bytes: Uint8Array, meta: PhotoJobMeta): Promise<void> {
    if (this.stopping) throw new Error('the photo queue is stopping');
    const id = photoJobId(meta, sha256Hex(bytes));
    // The photo is on the shared volume before the job exists: a worker never finds a job without it.
    await this.incoming.put(id, bytes, meta);
    await this.enqueue(id, meta);
    this.open.add(id);
  }

  private async enqueue(id: string, meta: PhotoJobMeta): Promise<void> {
    const key = backlogKey(this.options.place, meta.group);
    const place = await this.redis.incr(key);
    // A count left high by a process that died mid-job fades within a day.
    await this.redis.expire(key, 86_400);
    const token = randomBytes(8).toString('hex');
    try {
      const job = await this.photos.add(
        'photo',
        { meta, token },
        {
          jobId: id,
          // A photo from the history waits behind every live one, whatever its group's backlog.
          priority: meta.imported === true ? LOWEST_PRIORITY : this.options.fair === false ? 1 : Math.min(place, LOWEST_PRIORITY - 1),
          attempts: this.retry.attempts,
          backoff: { type: 'facefile' },
          removeOnComplete: { age: 86_400 },
          removeOnFail: false,
        },
      );
      // The same update twice: BullMQ kept the first job, so this one is not in the backlog.
      if (job.data.token !== token) await this.redis.decr(key);
    } catch (error) {
      await this.redis.decr(key).catch(() => undefined);
      throw error;
    }
  }

  /** The group's photos in the failed set: every attempt failed, and the photo is in `incoming/dead-letter/`. */
  async deadLetters(group: GroupId): Promise<number> {
    let count = 0;
    for (let start = 0; ; start += 500) {
      const jobs = await this.photos.getFailed(start, start + 499);
      count += jobs.filter((job) => (job.data as PhotoJobData | undefined)?.meta.group === group).length;
      if (jobs.length < 500) return count;
    }
  }

  /** The photos on the volume, and their jobs in the failed set (which carry who posted them). */
  async forgetSetAside(group: GroupId, postedBy?: string): Promise<number> {
    const deleted = new Set(await deleteSetAside(this.incoming.dir, group, postedBy));
    const failed = [];
    // Read to the end first: removing while paging would skip jobs.
    for (let start = 0; ; start += 500) {
      const jobs = await this.photos.getFailed(start, start + 499);
      failed.push(...jobs);
      if (jobs.length < 500) break;
    }
    for (const job of failed) {
      const meta = (job.data as PhotoJobData | undefined)?.meta;
      if (!job.id || meta?.group !== group || (postedBy !== undefined && meta.postedBy !== postedBy)) continue;
      await job.remove();
      deleted.add(job.id);
    }
    return deleted.size;
  }

  async settled(timeoutMs = 60_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (const id of [...this.open]) {
        const state = await this.photos.getJobState(id);
        if (state === 'completed' || state === 'failed' || state === 'unknown') this.open.delete(id);
      }
      if (this.open.size === 0) return true;
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  depth(): Promise<Record<string, number>> {
    return this.photos.getJobCounts();
  }

  /** Every job this process added is done and every answer sent (tests, tools). */
  async idle(): Promise<void> {
    await this.settled(Number.POSITIVE_INFINITY);
    for (;;) {
      const counts = await this.answers.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** This process runs no photo jobs (workers do): nothing to pause. */
  pause(): void {}

  async stop(): Promise<void> {
    this.stopping = true;
    await this.answering?.close();
    await this.photos.close();
    await this.answers.close();
    this.redis.disconnect();
  }

  private async answer(data: AnswerJobData): Promise<void> {
    const handler = this.handlers.get(data.meta.platform);
    if (!handler) {
      this.options.log.warn({ platform: data.meta.platform, group: data.meta.group }, 'an answer for a platform this bot does not run was dropped');
      return;
    }
    try {
      await handler(data.meta, data.result);
    } catch (error) {
      this.options.log.warn({ err: error, group: data.meta.group }, 'could not answer about a filed photo');
    }
  }
}
