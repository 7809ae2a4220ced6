import type { Log } from '../core/index.ts';
import { describeError } from '../core/index.ts';
import type { IngestResult, PhotoLibrary } from '../core/library/index.ts';
import { DEFAULT_RETRY, incomingPhoto, retryDelay, type PhotoJobEvent, type PhotoJobMeta, type PhotoJobResult, type RetryPolicy } from './photo-jobs.ts';

/** A photo job: its queue's id for it, and where the photo came from. */
export interface PhotoJobRef {
  readonly id: string;
  readonly meta: PhotoJobMeta;
}

/** One try at one photo job, as a queue hands it over. */
export interface PhotoJobAttempt extends PhotoJobRef {
  /** Tries made before this one. */
  readonly tries: number;
  /** When the job was accepted, or put back after its last try (ms since the epoch): its wait. */
  readonly acceptedAt: number;
  /** The photo; throws when it cannot be read, which no later try would change. */
  read(): Promise<Uint8Array>;
}

/** Where a queue keeps its jobs: what the processor asks it to do with one. */
export interface PhotoJobStore {
  /** The photo is filed: forget the job. */
  done(job: PhotoJobRef): Promise<void>;
  /** The job cannot be filed: move it aside, with why, for the owner to look into; never delete it. */
  setAside(job: PhotoJobRef, folder: 'quarantine' | 'dead-letter', why: string): Promise<void>;
}

/** What the queue does next: nothing (the job ended), or try again after `delayMs`. */
export type AttemptOutcome =
  | { readonly kind: 'filed'; readonly result: IngestResult }
  | { readonly kind: 'retry'; readonly delayMs: number; readonly error: unknown }
  | { readonly kind: 'set-aside'; readonly why: string };

export interface PhotoProcessorOptions {
  /** Only `ingest` is used: where each photo is filed. */
  readonly library: Pick<PhotoLibrary, 'ingest'>;
  readonly log: Log;
  readonly retry?: RetryPolicy;
  /** Told about every try that ends or is tried again (metrics). */
  readonly onJob?: (event: PhotoJobEvent) => void;
  /** Tells the group how its photo ended (a reaction, a reply, or the bots' answers queue). */
  readonly answer: (job: PhotoJobRef, result: PhotoJobResult) => Promise<void>;
}

/**
 * The one photo processor, behind both queues (the folder queue of a single process and BullMQ's
 * workers): a plain function of one try, in BullMQ's sense. It files the photo through the library,
 * decides from the retry policy whether a failure is tried again or set aside, tells the metrics
 * and the group, and asks the queue's store to forget or set aside the job. The queues only keep
 * jobs and run tries; neither has retry or dead-letter rules of its own.
 */
export class PhotoProcessor {
  readonly retry: RetryPolicy;

  constructor(private readonly options: PhotoProcessorOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  async attempt(job: PhotoJobAttempt, store: PhotoJobStore): Promise<AttemptOutcome> {
    const started = Date.now();
    const told = (outcome: PhotoJobEvent['outcome']) =>
      this.options.onJob?.({ outcome, waitSeconds: Math.max(0, started - job.acceptedAt) / 1000, runSeconds: (Date.now() - started) / 1000 });
    let bytes: Uint8Array;
    try {
      bytes = await job.read();
    } catch (error) {
      // Not a passing failure: no later try would find the photo either.
      const why = `the photo could not be read (${describeError(error)})`;
      this.options.log.error({ err: error, job: job.id, group: job.meta.group }, 'a queued photo could not be read; it is set aside');
      await this.giveUp(job, store, 'quarantine', why);
      told('failed');
      return { kind: 'set-aside', why };
    }
    let result: IngestResult;
    try {
      result = await this.options.library.ingest(job.meta.group, incomingPhoto(bytes, job.meta));
    } catch (error) {
      const tries = job.tries + 1;
      if (tries >= this.retry.attempts) {
        this.options.log.error({ err: error, job: job.id, group: job.meta.group, tries }, 'filing a photo kept failing; it is set aside in dead-letter/');
        await this.giveUp(job, store, 'dead-letter', describeError(error));
        told('dead_letter');
        return { kind: 'set-aside', why: describeError(error) };
      }
      const delayMs = retryDelay(this.retry, tries);
      this.options.log.warn(
        { err: error, job: job.id, group: job.meta.group, tries, retryInMs: delayMs },
        'filing a photo failed; it stays queued and is tried again',
      );
      told('retried');
      return { kind: 'retry', delayMs, error };
    }
    told(result.kind);
    await store.done(job).catch((error: unknown) => this.options.log.warn({ err: error, job: job.id }, 'could not tidy a filed photo'));
    await this.tell(job, result);
    return { kind: 'filed', result };
  }

  /**
   * A job the queue gives up on by itself (BullMQ: a job whose workers kept dying): set aside and
   * answered as every failed job is.
   */
  async abandoned(job: PhotoJobRef, store: PhotoJobStore, error: unknown): Promise<void> {
    this.options.log.error({ err: error, job: job.id, group: job.meta.group }, 'a photo job was given up; it is set aside in dead-letter/');
    await this.giveUp(job, store, 'dead-letter', describeError(error));
  }

  private async giveUp(job: PhotoJobRef, store: PhotoJobStore, folder: 'quarantine' | 'dead-letter', why: string): Promise<void> {
    await store.setAside(job, folder, why);
    await this.tell(job, { kind: 'failed' });
  }

  private async tell(job: PhotoJobRef, result: PhotoJobResult): Promise<void> {
    try {
      await this.options.answer(job, result);
    } catch (error) {
      this.options.log.warn({ err: error, group: job.meta.group, reason: describeError(error) }, 'could not answer about a filed photo');
    }
  }
}
