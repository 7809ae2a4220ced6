/** Work that outlives an update: the durable queue of posted photos. */
export { DEFAULT_RETRY, PhotoQueue, type PhotoJobHandler, type PhotoJobMeta, type PhotoJobResult, type PhotoQueueOptions, type RetryPolicy } from './photo-queue.ts';
