/** An axis-aligned rectangle in pixels of the decoded (orientation-corrected) image. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A unit-length face descriptor: similar faces have a cosine similarity near 1. */
export type Embedding = Float32Array;

/** Why a face was found but is not good enough to be named. */
export type UnusableReason = 'too-small' | 'low-confidence';

/** One face found in a photo. */
export interface DetectedFace {
  readonly box: Box;
  /** Detector confidence, 0..1. */
  readonly score: number;
  /** Distance between the eye centres in pixels: the face's effective resolution. */
  readonly eyeDistance: number;
  /** Present when the face is good enough to compare; absent faces are counted, never named. */
  readonly embedding?: Embedding;
  readonly unusable?: UnusableReason;
  /**
   * How sharp the face is (`faceSharpness`), where the caller measured it while it had the pixels:
   * the archiver does for the photos of known folders, so that its enrolment advice needs no
   * second decode on a later run.
   */
  readonly sharpness?: number;
}

/** Oriented RGB pixels, 3 bytes per pixel, row-major. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
  /** The container format sharp reported (jpeg, png, webp, gif, tiff, heif, ...). */
  readonly format: string;
  /** When the photo was taken, from EXIF, if it says. */
  readonly takenAt?: Date;
}

/** A person as the matcher sees them: a name and a few sample embeddings. */
export interface GalleryPerson {
  readonly id: string;
  readonly name: string;
  readonly samples: readonly Embedding[];
}
