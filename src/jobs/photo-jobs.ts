import type { GroupId } from '../core/index.ts';
import type { IncomingPhoto, IngestResult } from '../core/library/index.ts';

/** What a platform needs to find its way back to the message when the photo is done. */
export interface PhotoJobMeta {
  readonly platform: string;
  readonly group: GroupId;
  readonly postedBy?: string;
  readonly postedAt: string;
  /** When the bot queued it (ISO); jobs queued by an older version have none. */
  readonly queuedAt?: string;
  readonly originalName?: string;
  /** Platform ids (chat, message, file, ...), for the reply or reaction and the record. */
  readonly source: Readonly<Record<string, string>>;
  /**
   * Brought in from the chat's history (a backfill), not posted just now: filed after every live
   * photo waiting, and nobody in the chat is answered for it.
   */
  readonly imported?: boolean;
}

/** The photo of a job as the library takes it: the bytes, and where and when they were posted. */
export function incomingPhoto(bytes: Uint8Array, meta: PhotoJobMeta): IncomingPhoto {
  return {
    bytes,
    postedAt: new Date(meta.postedAt),
    // A job from before queuedAt was kept was queued when it was posted, give or take a retry.
    queuedAt: new Date(meta.queuedAt ?? meta.postedAt),
    source: meta.source,
    ...(meta.postedBy ? { postedBy: meta.postedBy } : {}),
    ...(meta.originalName ? { originalName: meta.originalName } : {}),
  };
}

/**
 * How often a job whose filing throws (a full disk, a broken store) is tried, and how far apart:
 * one policy, declared here, that both queues honour (the folder queue with its own timers,
 * BullMQ through `attempts` and a backoff strategy of this delay).
 */
export interface RetryPolicy {
  /** Tries in all, the first included; then the job is set aside in its dead-letter folder. */
  readonly attempts: number;
  readonly firstDelayMs: number;
  /** Each wait is this many times the one before, up to `maxDelayMs`. */
  readonly factor: number;
  readonly maxDelayMs: number;
}

/** About 45 minutes of tries: long enough for an operator to free a full disk. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, firstDelayMs: 2_000, factor: 3, maxDelayMs: 15 * 60_000 };

/** The pause after the `tries`-th failed try: the first delay, growing by the factor, up to the cap. */
export function retryDelay(policy: RetryPolicy, tries: number): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * policy.factor ** Math.max(0, tries - 1));
}

/** How a queued photo ended: the library's answer, or `failed` when filing threw. */
export type PhotoJobResult = IngestResult | { readonly kind: 'failed' };

export type PhotoJobHandler = (meta: PhotoJobMeta, result: PhotoJobResult) => Promise<void>;

/** What a queue tells its owner about each job that ends or is tried again, for metrics. */
export interface PhotoJobEvent {
  readonly outcome: 'filed' | 'duplicate' | 'undecodable' | 'failed' | 'retried' | 'dead_letter';
  /** From when the job was accepted to when this attempt started. */
  readonly waitSeconds: number;
  readonly runSeconds: number;
}

/**
 * Where the bot puts posted photos to be filed, and hears back when each is done. Two kinds: the
 * durable folder queue of a single process (`PhotoQueue`), and BullMQ jobs on Redis that
 * `facefile worker` processes file (`BullPhotoJobs`). The bot and the adapters see only this.
 */
export interface PhotoJobs {
  /** Registers what to do when a platform's photo has been filed (react, reply). */
  onDone(platform: string, handler: PhotoJobHandler): void;
  /** Starts handing out and answering jobs (those an earlier run left too); after every `onDone`. */
  start(): Promise<number>;
  /** Accepts a photo: once this resolves, it will be filed even if this process stops. */
  add(bytes: Uint8Array, meta: PhotoJobMeta): Promise<void>;
  /** The photos of a group that could not be filed after every try. */
  deadLetters(group: GroupId): Promise<number>;
  /**
   * Deletes the group's set-aside photos (never filed, so nobody knows whom they show): those
   * posted by `postedBy`, or every one of the group without it. Part of a forget; returns how many.
   */
  forgetSetAside(group: GroupId, postedBy?: string): Promise<number>;
  /**
   * Resolves true when the jobs accepted so far are done, or false after `timeoutMs`: a forgetting
   * waits for this, so that a photo posted just before is filed first and then forgotten.
   */
  settled(timeoutMs?: number): Promise<boolean>;
  /** How many jobs are in each state now (waiting, active, delayed, ...), for /metrics. */
  depth(): Promise<Record<string, number>>;
  /** Resolves when every accepted job is done (tests, tools). */
  idle(): Promise<void>;
  /**
   * Starts no more jobs in this process; photos are still accepted and stay queued. The first step
   * of a stop, taken before the adapters finish their last downloads, so that a stop does not begin
   * photos it would then wait for.
   */
  pause(): void;
  /** Stops taking jobs; what has not run stays queued for the next start. */
  stop(timeoutMs?: number): Promise<void>;
}
