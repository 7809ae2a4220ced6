import type { FaceEngine, ImageDecoder } from '../core/index.ts';
import type { StageTimer } from './metrics.ts';

/**
 * The decoder, with each decode timed as the `decode` stage. A decorator rather than a call in the
 * library, so that the core stays free of metrics: wire it where the library is built.
 */
export function timedDecoder(decoder: ImageDecoder, timer: StageTimer): ImageDecoder {
  return {
    decode: (bytes) => timer.timeStage('decode', () => decoder.decode(bytes)),
    ...(decoder.release ? { release: decoder.release.bind(decoder) } : {}),
  };
}

/** The engine, with each detection timed as the `detect` stage; `info` and `close` pass through. */
export function timedEngine(engine: FaceEngine, timer: StageTimer): FaceEngine {
  return {
    get info() {
      return engine.info;
    },
    detect: (image) => timer.timeStage('detect', () => engine.detect(image)),
    close: () => engine.close(),
  };
}
