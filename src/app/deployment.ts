import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.ts';
import { ConfigError, withoutPassword, type FaceEngine, type Log } from '../core/index.ts';
import { createLibrary } from './parts.ts';
import { verifyRedis, type RedisPlace } from '../jobs/bull/index.ts';
import { PgGroupLocks, checkSharedVolume } from '../storage/sql/index.ts';
import type { Metrics } from '../observability/index.ts';

/** What a scale-out process shares with the others: Redis, the database's group locks, the volume. */
export interface Deployment {
  readonly place: RedisPlace;
  readonly library: Awaited<ReturnType<typeof createLibrary>>['library'];
  readonly database: Awaited<ReturnType<typeof createLibrary>>['database'];
  /** The one line each process says at start: what it reached, and which volume it shares. */
  readonly summary: string;
  close(): Promise<void>;
}

/** The settings scale-out needs, or a `ConfigError` naming what is missing. */
export function scaleOutPlaces(config: Config, role: string): { place: RedisPlace; databaseUrl: string } {
  const missing = [
    !config.redisUrl && `REDIS_URL is not set: \`facefile ${role}\` works with Redis (BullMQ jobs)`,
    !config.databaseUrl && 'REDIS_URL is set, so DATABASE_URL (PostgreSQL) must be too: every bot and worker shares the library',
  ];
  const problems = missing.filter((m): m is string => typeof m === 'string');
  if (problems.length > 0) throw new ConfigError(problems);
  return { place: { url: config.redisUrl!, prefix: config.redisPrefix }, databaseUrl: config.databaseUrl! };
}

/** What `reachDeployment` found: where things are, and the Redis server's facts. */
export interface Reached {
  readonly place: RedisPlace;
  readonly databaseUrl: string;
  readonly redis: { readonly version: string; readonly persistence: string };
}

/** The fast checks, before the models load: the settings are there and Redis answers. */
export async function reachDeployment(config: Config, role: string): Promise<Reached> {
  const { place, databaseUrl } = scaleOutPlaces(config, role);
  return { place, databaseUrl, redis: await verifyRedis(place) };
}

/**
 * Joins a scale-out deployment (after `reachDeployment`): opens the library on PostgreSQL with
 * group locks that hold across processes, and checks that the data folder is the volume the other
 * processes mount. Any failure is one clear `StartupError` or `ConfigError`, and what was opened is
 * closed again.
 */
export async function joinDeployment(config: Config, reached: Reached, engine: FaceEngine, log: Log, role: string, metrics?: Metrics): Promise<Deployment> {
  const { place, databaseUrl, redis } = reached;
  const locks = new PgGroupLocks(databaseUrl, log);
  // Zips of album exports are this process's alone: a folder of its own, off the shared volume.
  const exportsDir = path.join(os.tmpdir(), `facefile-exports-${process.pid}`);
  const opened = await createLibrary(config, engine, log, { shared: { locks, exportsDir }, ...(metrics ? { metrics } : {}) }).catch(async (error: unknown) => {
    await locks.close();
    throw error;
  });
  const close = async () => {
    await opened.close();
    await locks.close();
  };
  try {
    const volume = await checkSharedVolume(config.dataDir, opened.database.db);
    const persistence =
      redis.persistence === 'none'
        ? 'keeps nothing on disk: accepted photos are re-queued from the volume after a restart'
        : `persists by ${redis.persistence}`;
    const summary =
      `facefile ${role}: PostgreSQL at ${opened.database.location}; Redis ${redis.version} at ${withoutPassword(place.url)} (prefix ${place.prefix}; ${persistence}); ` +
      `photo volume ${volume.id}${volume.created ? ' (new)' : ''} at ${config.dataDir}`;
    return { place, library: opened.library, database: opened.database, summary, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
