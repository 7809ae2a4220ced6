/** Work that outlives an update: posted photos waiting to be filed. */
export { PhotoQueue, type PhotoQueueOptions } from './photo-queue.ts';
export { QueueFullError, type QueueLimits } from './queue-bounds.ts';
export { DEFAULT_RETRY, retryDelay, type RetryPolicy } from './photo-jobs.ts';
export { PhotoProcessor, type AttemptOutcome, type PhotoJobAttempt, type PhotoJobStore, type PhotoProcessorOptions } from './photo-processor.ts';
export type { PhotoJobHandler, PhotoJobMeta, PhotoJobResult, PhotoJobs } from './photo-jobs.ts';
export type { PhotoJobEvent } from './photo-jobs.ts';
