/** Scale-out: photo jobs on BullMQ (Redis), filed by `facefile worker` processes. */
export { BullPhotoJobs, backlogKey, bullConnection, type BullPhotoJobsOptions } from './bull-photo-jobs.ts';
export { PhotoWorker, type PhotoWorkerOptions } from './photo-worker.ts';
export { IncomingPhotos, photoJobId, PHOTOS_QUEUE, ANSWERS_QUEUE } from './photo-files.ts';
export { redisConnection, verifyRedis, type RedisPlace } from './redis.ts';
