/** What both chat adapters use: bounded downloads and a paced, rate-limit-aware outbox. */
export { downloadLimited } from './download.ts';
export { Outbox, type OutboxOptions, type RetryAfter } from './outbox.ts';
export { Tracker } from './tracker.ts';
export { verifyAtStart } from './verify.ts';
