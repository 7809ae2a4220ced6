import type { Config } from '../config.ts';
import type { FaceCache, FaceClusterer, FaceEngine, GroupLocks, ImageDecoder, Log, PhotoTagger, Renderer } from '../core/index.ts';
import type { RedescribeReport } from '../core/library/index.ts';
import { PhotoLibrary } from '../core/library/index.ts';
import { ExifToolTagger, FsAlbumStore } from '../albums/index.ts';
import { timedDecoder, timedEngine, type Metrics } from '../observability/index.ts';
import { WorkerFaceClusterer } from '../clustering/index.ts';
import { POSTED_FORMATS, ProcessImageDecoder, SharpRenderer, type PhotoFormat } from '../imaging/index.ts';
import { DEFAULT_THRESHOLD, OnnxSimilarityKernel, PooledFaceEngine, type EmbedderName } from '../recognition/index.ts';
import { importKeyvLibrary, retireKeyvFaceCache } from '../storage/legacy/index.ts';
import path from 'node:path';
import {
  MatrixSnapshots,
  SqlAuditLog,
  SqlFaceCache,
  SqlGalleryStore,
  SqlImportCursors,
  SqlPhotoStore,
  SqlSettingsStore,
  openLibraryDatabase,
  type LibraryDatabase,
} from '../storage/sql/index.ts';

/** Where the face matrices wait for the next start, in the data folder. */
const MATRICES_DIR = 'matrices';

/**
 * The parts every entry point is built from, each made from the config in one place and handed to
 * the others through constructors: decoder, engine, the library, the archiver's engine and cache.
 */
/** The decoder's largest side: the engine's face boxes are in pixels of photos scaled to fit it. */
export const DECODED_MAX_SIDE = 4096;

export function createDecoder(config: Config, formats: ReadonlySet<PhotoFormat> = POSTED_FORMATS): ProcessImageDecoder {
  return new ProcessImageDecoder({
    maxBytes: config.decoder.maxBytes,
    maxPixels: config.decoder.maxPixels,
    maxSide: DECODED_MAX_SIDE,
    timeoutSeconds: 30,
    formats,
    processes: Math.max(2, config.engine.workers),
  });
}

/** The archiver and facefile ui read the user's own files, TIFF scans among them; a chat takes what phones write. */
export const OWN_FILE_FORMATS: ReadonlySet<PhotoFormat> = new Set([...POSTED_FORMATS, 'tiff']);

/** The configured engine; with `metrics`, each detection is timed for /metrics. */
export async function createEngine(config: Config, embedder?: EmbedderName, metrics?: Metrics): Promise<FaceEngine> {
  const engine = await PooledFaceEngine.create({
    embedder: embedder ?? config.engine.embedder,
    backend: config.engine.backend,
    modelsDir: config.engine.modelsDir,
    minEyeDistance: config.engine.minEyeDistance,
    minFaceScore: config.engine.minFaceScore,
    workers: config.engine.workers,
  });
  return metrics ? timedEngine(engine, metrics) : engine;
}

/**
 * Writes the face regions and dates of the photos facefile hands out (zips, archive copies), in
 * the decoder's frame. One exiftool process: the cores belong to recognition.
 */
export function createTagger(): PhotoTagger {
  return new ExifToolTagger({ decodedMaxSide: DECODED_MAX_SIDE, processes: 1 });
}

/** What `facefile archive` and `facefile ui` run on: the engine, a decoder, and the face cache. */
export interface ArchiverParts {
  readonly engine: FaceEngine;
  readonly decoder: ImageDecoder;
  readonly cache: FaceCache;
  /** A photo file larger than this is refused from its size, never read. */
  readonly maxBytes: number;
  /** Writes the sorted copies' names and dates. */
  readonly tagger: PhotoTagger;
  close(): Promise<void>;
}

/**
 * The archiver's parts: the configured engine, and the faces it found cached in the library's
 * database in DATA_DIR (by content and embedder), so that a second run recomputes nothing.
 */
export async function createArchiverParts(config: Config, log: Log): Promise<ArchiverParts> {
  const database = await openLibraryDatabase({ dataDir: config.dataDir, url: config.databaseUrl }, { log });
  try {
    await retireKeyvFaceCache(config.dataDir, log);
    const engine = await createEngine(config);
    const decoder = createDecoder(config, OWN_FILE_FORMATS);
    const tagger = createTagger();
    return {
      engine,
      decoder,
      cache: await SqlFaceCache.open(database.db, engine.info.embedder),
      maxBytes: config.decoder.maxBytes,
      tagger,
      close: async () => {
        await tagger.close();
        await decoder.close();
        await engine.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}

/** What the library is opened with beyond the config; tests replace the decoder or renderer. */
export interface LibraryParts {
  readonly decoder?: ImageDecoder;
  readonly renderer?: Renderer;
  /** Clusters `/unknown`'s faces; in worker threads when absent. */
  readonly clusterer?: FaceClusterer;
  readonly onImport?: (done: number, total: number) => void;
  /** Counts the time of each stage of filing (decode, file) for /metrics. */
  readonly metrics?: Metrics;
  /** Scale-out: the group locks every process shares, and this process's own folder for album zips. */
  readonly shared?: { readonly locks: GroupLocks; readonly exportsDir: string };
}

/**
 * The group photo library on the configured database and data folder; `close` releases them.
 * The first start on a data folder of an earlier release imports its keyv records first, and
 * deletes the archiver's old face cache. No lock and no consistency check: `openLibrary` adds them.
 */
export async function createLibrary(
  config: Config,
  engine: FaceEngine,
  log: Log,
  parts: LibraryParts = {},
): Promise<{ library: PhotoLibrary; database: LibraryDatabase; close: () => Promise<void> }> {
  const database = await openLibraryDatabase({ dataDir: config.dataDir, url: config.databaseUrl }, { log });
  // The photos in album zips carry their names and dates; the library's close ends exiftool.
  const tagger = createTagger();
  const albums = new FsAlbumStore(config.dataDir, parts.shared?.exportsDir, tagger);
  // A threshold change compares every stored face with every sample: natively where onnxruntime loads.
  const kernel = await OnnxSimilarityKernel.create().catch((error: unknown) => {
    log.warn({ err: error }, 'the native similarity kernel did not start; face matrices are scanned in JavaScript');
    return undefined;
  });
  const stores = {
    gallery: new SqlGalleryStore(database.db),
    // The matrices kept in the data folder: the first command after a start (a clean stop or a crash)
    // reads a file and the photos written since, not every face.
    photos: new SqlPhotoStore(database.db, { kernel, snapshots: new MatrixSnapshots(path.join(config.dataDir, MATRICES_DIR)) }),
    settings: new SqlSettingsStore(database.db),
    audit: new SqlAuditLog(database.db),
  };
  let faceCache: SqlFaceCache;
  try {
    await importKeyvLibrary({
      dataDir: config.dataDir,
      keyvUrl: config.keyvUrl,
      groups: await albums.groups(),
      target: stores,
      log,
      ...(parts.onImport ? { progress: parts.onImport } : {}),
    });
    // A scale-out deployment's data folder is a shared volume that no archiver uses.
    if (!parts.shared) await retireKeyvFaceCache(config.dataDir, log);
    // Forgetting someone purges their photos from the archiver's face cache, every embedder's.
    faceCache = await SqlFaceCache.open(database.db, engine.info.embedder);
  } catch (error) {
    await kernel?.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }
  // Clustering unknown faces is seconds of CPU at 20k faces: off the event loop, in worker threads.
  const ownClusterer = parts.clusterer ? undefined : new WorkerFaceClusterer();
  const clusterer = parts.clusterer ?? ownClusterer!;
  const ownDecoder = parts.decoder ? undefined : createDecoder(config);
  const decoder = parts.decoder ?? ownDecoder!;
  const library = new PhotoLibrary({
    engine,
    clusterer,
    decoder: parts.metrics ? timedDecoder(decoder, parts.metrics) : decoder,
    ...(parts.metrics ? { stages: parts.metrics } : {}),
    ...stores,
    faceCache,
    ...(parts.shared ? { locks: parts.shared.locks } : {}),
    albums,
    renderer: parts.renderer ?? new SharpRenderer(),
    defaults: {
      threshold: config.match.threshold ?? DEFAULT_THRESHOLD,
      margin: config.match.margin,
      replyMode: config.library.replyMode,
      unknownRetentionDays: config.library.unknownRetentionDays,
      minClusterPhotos: config.library.minClusterPhotos,
    },
    compact: () => database.compact(),
    importCursors: new SqlImportCursors(database.db),
    ...(kernel ? { kernel } : {}),
    log,
  });
  // The matrices kept at the last stop, read now rather than by the first command after the start.
  const warming = Date.now();
  await stores.photos.warm().then(
    (groups) => groups.length > 0 && log.info({ groups: groups.length, ms: Date.now() - warming }, 'read the face matrices kept at the last stop'),
    (error: unknown) => log.warn({ err: error }, 'the face matrices kept at the last stop could not be read; the first command reads them'),
  );
  return {
    library,
    database,
    close: async () => {
      await ownDecoder?.close();
      await ownClusterer?.close();
      await stores.photos.saveMatrices().catch((error: unknown) => log.warn({ err: error }, 'the face matrices could not be kept for the next start'));
      await kernel?.close();
      await tagger.close();
      await database.close();
    },
  };
}

/**
 * Starts re-describing the library's samples and faces for the engine's embedder, in the background
 * (see `PhotoLibrary.redescribe`): after a change of embedder it takes hours on a large library,
 * and updates are handled meanwhile. `stop` ends it between two photos and waits for that; the
 * next start goes on from there. A failure is logged, never thrown: the next start tries again.
 */
export function startRedescription(library: PhotoLibrary, log: Log): { readonly done: Promise<RedescribeReport | undefined>; stop(): Promise<void> } {
  const controller = new AbortController();
  const done = library.redescribe({ signal: controller.signal }).then(
    (report) => {
      if (report.samples + report.photos + report.samplesDropped.length + report.photosFailed.length > 0) {
        const { samplesDropped, photosFailed, ...counts } = report;
        const summary = { ...counts, samplesDropped: samplesDropped.length, photosFailed: photosFailed.length };
        if (report.stopped) log.info(summary, 're-describing faces for the new recognition model stopped; the next start goes on');
        else log.info(summary, 'every sample and face is described by the new recognition model');
      }
      return report;
    },
    (error: unknown) => {
      log.error({ err: error }, 're-describing faces for the new recognition model failed; the next start goes on from where it stopped');
      return undefined;
    },
  );
  return {
    done,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}
