/** Work that outlives an update: the durable queue of posted photos. */
export { PhotoQueue, type PhotoJobHandler, type PhotoJobMeta, type PhotoJobResult } from './photo-queue.ts';
