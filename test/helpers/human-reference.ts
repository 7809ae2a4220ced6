import type { Config as HumanConfig } from '@vladmandic/human';
import { MODEL_SCHEME } from '../../src/recognition/models.ts';
import { wasmBinariesDir, type Runtime } from '../../src/recognition/runtime.ts';

/** Minimum detector confidence, as the engine's detector uses it (DEFAULT_DETECTOR_SETTINGS). */
const DETECTOR_MIN_CONFIDENCE = 0.35;

/**
 * The configuration facefile ran Human with before its detector moved into project code
 * (src/recognition/detector): the reference the detector's test compares against.
 */
export function humanConfig(backend: Runtime['backend']): Partial<HumanConfig> {
  return {
    backend,
    wasmPath: wasmBinariesDir(),
    modelBasePath: MODEL_SCHEME,
    debug: false,
    async: true,
    warmup: 'none',
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: true,
      detector: {
        modelPath: 'blazeface.json',
        rotation: true,
        maxDetected: 100,
        minConfidence: DETECTOR_MIN_CONFIDENCE,
        iouThreshold: 0.3,
        skipFrames: 0,
        skipTime: 0,
        return: false,
      },
      mesh: { enabled: true, modelPath: 'facemesh.json', keepInvalid: false },
      iris: { enabled: false },
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
      attention: { enabled: false },
      gear: { enabled: false },
    },
  };
}
