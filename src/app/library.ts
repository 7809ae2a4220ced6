import type { Config } from '../config.ts';
import type { FaceEngine, ImportCursors, Log } from '../core/index.ts';
import type { PhotoLibrary } from '../core/library/index.ts';
import type { RedisPlace } from '../jobs/bull/index.ts';
import type { Metrics } from '../observability/index.ts';
import { lockDataDir } from '../storage/index.ts';
import { SqlImportCursors, verifyPostgres, type LibraryDatabase } from '../storage/sql/index.ts';
import { joinDeployment, reachDeployment } from './deployment.ts';
import { createLibrary, type LibraryParts } from './parts.ts';
import { untilReachable } from './until-reachable.ts';

export interface OpenLibraryOptions {
  /** Who opens it, in its start-up line and its errors: `bot`, `worker`, `import`. */
  readonly role: string;
  readonly log: Log;
  /** Builds the engine; called once the data is claimed and `beforeEngine` passed, so the models load last. */
  readonly engine: () => Promise<FaceEngine>;
  /** Fast checks between claiming the data and loading the models (a bot checks its tokens here). */
  readonly beforeEngine?: () => Promise<void>;
  /** Told when this process loses its lock on the data folder (single process): it must stop writing. */
  readonly onLockLost?: (error: unknown) => void;
  readonly metrics?: Metrics;
  /** Tests: other decoder or renderer; progress of an import from an earlier release. */
  readonly parts?: Pick<LibraryParts, 'decoder' | 'renderer' | 'onImport'>;
}

export interface OpenedLibrary {
  readonly library: PhotoLibrary;
  readonly database: LibraryDatabase;
  readonly engine: FaceEngine;
  /** Where history imports keep their progress, which /stats reads in every process. */
  readonly importCursors: ImportCursors;
  /** Scale-out: where the deployment's Redis is (BullMQ jobs, shared claims); absent in a single process. */
  readonly redis?: RedisPlace;
  /** One line on where the library is, for the log. */
  readonly summary: string;
  /** Closes everything this opened, the engine included, in reverse order. */
  close(): Promise<void>;
}

/**
 * Opens the group photo library the way every entry point (bot, worker, importer) must, in order:
 * 1. claim the data: a single process takes the data folder's lock (one writer); with REDIS_URL,
 *    scale-out, the deployment's Redis is checked instead (many processes share the volume);
 * 2. `beforeEngine`, then the engine (the models load only after the fast checks);
 * 3. open the database and bring its schema up to date, import an earlier release's records;
 *    scale-out joins the deployment (PostgreSQL group locks, the shared-volume check);
 * 4. the consistency check, which repairs what an interrupted run left.
 * A failure at any step closes what the steps before opened, and throws.
 */
export async function openLibrary(config: Config, options: OpenLibraryOptions): Promise<OpenedLibrary> {
  const { log, role } = options;
  const opened: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const step of opened.splice(0).reverse()) await step();
  };
  // Services down for a moment (a boot, a restart of the database) are waited for, within limits.
  const reachable = <T>(check: () => Promise<T>) => untilReachable(check, { windowMs: config.startupRetryMs, log });
  try {
    const reached = config.redisUrl ? await reachable(() => reachDeployment(config, role)) : undefined;
    if (!reached) {
      const lock = await lockDataDir(config.dataDir, (error) => {
        log.error({ err: error }, 'the lock on the data folder was lost');
        options.onLockLost?.(error);
      });
      opened.push(() => lock.release());
    }
    const { databaseUrl } = config;
    if (databaseUrl) await reachable(() => verifyPostgres(databaseUrl));
    const { beforeEngine } = options;
    if (beforeEngine) await reachable(beforeEngine);
    const engine = await options.engine();
    opened.push(() => engine.close());
    const metrics = options.metrics ? { metrics: options.metrics } : {};
    let library: PhotoLibrary, database: LibraryDatabase, summary: string;
    if (reached) {
      const deployment = await joinDeployment(config, reached, engine, log, role, options.metrics);
      opened.push(() => deployment.close());
      ({ library, database, summary } = deployment);
    } else {
      const parts = await createLibrary(config, engine, log, { ...options.parts, ...metrics });
      opened.push(() => parts.close());
      ({ library, database } = parts);
      summary = `library on ${database.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} at ${database.location}`;
    }
    for (const [group, report] of await library.checkConsistency()) {
      const touched =
        report.temporaryFilesRemoved +
        report.orphanOriginalsRemoved +
        report.albumLinksRestored +
        report.strayAlbumFilesRemoved +
        report.recordsWithoutOriginal.length;
      if (touched > 0) log.warn({ group, ...report }, 'repaired what an interrupted run left');
    }
    return { library, database, engine, importCursors: new SqlImportCursors(database.db), ...(reached ? { redis: reached.place } : {}), summary, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
