import type { Config } from './config.ts';
import type { FaceEngine } from './core/index.ts';
import { SharpImageDecoder } from './imaging/sharp-decoder.ts';
import { PooledFaceEngine, type EmbedderName } from './recognition/index.ts';

/**
 * Construction shared by every entry point (the CLI commands and the bot): one place that turns the
 * config into the recognition core's parts.
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
