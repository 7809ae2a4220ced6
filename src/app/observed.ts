import { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { FaceEngine, Log } from '../core/index.ts';
import { createEngine } from './parts.ts';
import type { RedisPlace } from '../jobs/bull/index.ts';
import { Metrics, depthFromJobCounts, serveObservability, type ReadinessCheck } from '../observability/index.ts';
import type { PhotoJobs } from '../jobs/index.ts';

/** A long-running process's metrics, and the readiness checks its parts add as they start. */
export interface Observed {
  readonly metrics: Metrics;
  /** Named checks behind /readyz; each part adds its own once it is up. */
  addCheck(name: string, check: ReadinessCheck): void;
  /** The start is over: /readyz now answers from the checks alone. */
  started(): void;
  close(): Promise<void>;
}

/**
 * Starts /metrics, /healthz and /readyz on METRICS_PORT (when set) before the slow part of a start
 * (the models), so that a supervisor sees the process alive while it loads and not ready until
 * every part is up. Without the port, the metrics are still counted, and nothing is served.
 */
export async function observe(config: Config, log: Log): Promise<Observed> {
  const metrics = new Metrics({ log });
  const checks: Record<string, ReadinessCheck> = { started: () => Promise.reject(new Error('still starting')) };
  const server = config.metricsPort === undefined ? undefined : await serveObservability({ port: config.metricsPort, metrics, checks, log });
  return {
    metrics,
    addCheck: (name, check) => (checks[name] = check),
    started: () => delete checks['started'],
    close: async () => {
      await server?.close();
    },
  };
}

/**
 * The engine of a long-running service, timed for /metrics, saying in words which backend runs it.
 */
export async function observedEngine(config: Config, log: Log, metrics: Metrics): Promise<FaceEngine> {
  const engine = await createEngine(config, undefined, metrics);
  log.info({ engine: engine.info }, `recognition on ${engine.info.backend} with ${engine.info.workers} workers`);
  return engine;
}

/** Readiness of the library's database: one round trip. */
export function databaseCheck<DB>(db: Kysely<DB>): ReadinessCheck {
  return async () => {
    await sql`select 1`.execute(db);
  };
}

/**
 * Readiness of Redis, on a client of its own that fails at once while the server is away (BullMQ's
 * connections wait for it forever, as workers should). Returns the check and its closer.
 */
export function redisCheck(place: RedisPlace): { check: ReadinessCheck; close: () => Promise<void> } {
  const client = new Redis(place.url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectionName: 'facefile-readiness',
    retryStrategy: (times) => Math.min(times * 500, 5_000),
  });
  client.on('error', () => undefined);
  return {
    check: async () => {
      if (client.status !== 'ready') throw new Error(`Redis connection is ${client.status}`);
      await client.ping();
    },
    close: () => Promise.resolve(client.disconnect()),
  };
}

/** The photo queue's depth by state, read at each scrape. */
export function watchQueue(metrics: Metrics, queue: Pick<PhotoJobs, 'depth'>): void {
  metrics.onQueueDepth(async () => depthFromJobCounts('photos', await queue.depth()));
}
