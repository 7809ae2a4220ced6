import type { Config } from './config.ts';
import type { FaceEngine, ImageDecoder, Log, Renderer } from './core/index.ts';
import { PhotoLibrary } from './core/library/index.ts';
import { FsAlbumStore } from './albums/index.ts';
import { SharpImageDecoder, SharpRenderer } from './imaging/index.ts';
import { DEFAULT_THRESHOLD, PooledFaceEngine, type EmbedderName } from './recognition/index.ts';
import { KeyvAuditLog, KeyvFaceCache, KeyvGalleryStore, KeyvPhotoStore, KeyvSettingsStore, closeKeyv, compact, connectKeyv, openKeyv } from './storage/index.ts';

/**
 * Construction shared by every entry point (the CLI commands and the bots): the one place that
 * turns the config into parts and hands them to each other through constructors.
 */
export function createDecoder(config: Config): SharpImageDecoder {
  return new SharpImageDecoder({ maxBytes: config.decoder.maxBytes, maxPixels: config.decoder.maxPixels, maxSide: 4096, timeoutSeconds: 30 });
}

export function createEngine(config: Config, embedder?: EmbedderName): Promise<FaceEngine> {
  return PooledFaceEngine.create({
    ...(embedder ? { embedder } : {}),
    backend: config.engine.backend,
    modelsDir: config.engine.modelsDir,
    minEyeDistance: config.engine.minEyeDistance,
    minFaceScore: config.engine.minFaceScore,
    workers: config.engine.workers,
  });
}

/**
 * The group photo library on the configured store and data folder; `close` releases the store.
 * `parts` replaces the decoder or renderer (tests that run the real stores on fake photos).
 */
export async function createLibrary(
  config: Config,
  engine: FaceEngine,
  log: Log,
  parts: { readonly decoder?: ImageDecoder; readonly renderer?: Renderer } = {},
): Promise<{ library: PhotoLibrary; close: () => Promise<void> }> {
  const keyv = await connectKeyv({ dataDir: config.dataDir, url: config.keyvUrl }, 'library');
  // The archiver's face cache in the same data folder: forgetting someone purges their photos from it.
  const faces = openKeyv<never>(config.dataDir, 'faces');
  const library = new PhotoLibrary({
    engine,
    decoder: parts.decoder ?? createDecoder(config),
    gallery: new KeyvGalleryStore(keyv),
    photos: new KeyvPhotoStore(keyv),
    settings: new KeyvSettingsStore(keyv),
    audit: new KeyvAuditLog(keyv),
    faceCache: new KeyvFaceCache(faces, engine.info.embedder),
    albums: new FsAlbumStore(config.dataDir),
    renderer: parts.renderer ?? new SharpRenderer(),
    defaults: {
      threshold: config.match.threshold ?? DEFAULT_THRESHOLD,
      margin: config.match.margin,
      replyMode: config.library.replyMode,
      unknownRetentionDays: config.library.unknownRetentionDays,
      minClusterPhotos: config.library.minClusterPhotos,
    },
    compact: () => compact(keyv),
    log,
  });
  return {
    library,
    close: async () => {
      await closeKeyv(keyv);
      await closeKeyv(faces);
    },
  };
}
