import type { DecodedImage, DetectedFace } from './types.ts';

/** Why a file could not be turned into pixels. Each has a short user-facing message. */
export type DecodeFailureReason =
  | 'empty'
  | 'too-large'
  | 'too-many-pixels'
  | 'unsupported-format'
  | 'corrupt';

export interface DecodeFailure {
  readonly reason: DecodeFailureReason;
  /** The decoder's own words, for the log. */
  readonly detail: string;
}

export type DecodeResult =
  | { readonly ok: true; readonly image: DecodedImage }
  | { readonly ok: false; readonly failure: DecodeFailure };

/** Turns image bytes into oriented RGB pixels, within limits against decompression bombs. */
export interface ImageDecoder {
  decode(bytes: Uint8Array): Promise<DecodeResult>;
}

/** What a running engine says about itself, for the start-up line and the benchmark. */
export interface EngineInfo {
  /** The TensorFlow.js backend: 'tensorflow' (native tfjs-node) or 'wasm'. */
  readonly backend: string;
  /** The embedder's name and version, stored beside embeddings so that a change is detected. */
  readonly embedder: string;
  readonly dimensions: number;
  readonly workers: number;
}

/** Finds every face in an image and describes each one. */
export interface FaceEngine {
  readonly info: EngineInfo;
  detect(image: DecodedImage): Promise<DetectedFace[]>;
  close(): Promise<void>;
}

/**
 * Remembers what the engine found in a file, keyed by the file's content hash, so that a second
 * run over the same known faces does not recompute them. Implementations key by embedder too.
 */
export interface FaceCache {
  get(contentHash: string): Promise<readonly DetectedFace[] | undefined>;
  set(contentHash: string, faces: readonly DetectedFace[]): Promise<void>;
}
