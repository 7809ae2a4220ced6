/** Work that outlives an update: posted photos waiting to be filed. */
export { DEFAULT_RETRY, PhotoQueue, type PhotoQueueOptions, type RetryPolicy } from './photo-queue.ts';
export type { PhotoJobHandler, PhotoJobMeta, PhotoJobResult, PhotoJobs } from './photo-jobs.ts';
export type { PhotoJobEvent } from './photo-jobs.ts';
