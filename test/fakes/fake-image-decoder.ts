import type { DecodedImage, DecodeResult, ImageDecoder } from '../../src/core/index.ts';
import { drawFakeImage, type FakePhotoSpec } from './fake-face-engine.ts';

const MAGIC = 'FAKEPHOTO ';

/** A synthetic photo with the time it says it was taken, as EXIF would. */
export interface EncodedFakePhotoSpec extends FakePhotoSpec {
  readonly takenAt?: string;
}

/**
 * A synthetic photo as bytes that only `FakeImageDecoder` reads: its description, not its pixels.
 * Tiny and instant; use `fakePhoto` where a real image format is needed.
 */
export function encodeFakePhoto(spec: EncodedFakePhotoSpec): Buffer {
  return Buffer.from(MAGIC + JSON.stringify(spec));
}

/**
 * An `ImageDecoder` for `encodeFakePhoto` bytes: draws the pixels the description says, reports
 * the format "fake" (so stored originals end in .fake) and the taken-at time. Anything else is
 * an unsupported format, empty bytes are empty: the decode failures the library must handle.
 */
export class FakeImageDecoder implements ImageDecoder {
  /** Images released so far. */
  released = 0;

  decode(bytes: Uint8Array): Promise<DecodeResult> {
    if (bytes.length === 0) return Promise.resolve({ ok: false, failure: { reason: 'empty', detail: 'the file is empty' } });
    const text = Buffer.from(bytes).toString('utf8');
    if (!text.startsWith(MAGIC)) return Promise.resolve({ ok: false, failure: { reason: 'unsupported-format', detail: 'not a fake photo' } });
    const spec = JSON.parse(text.slice(MAGIC.length)) as EncodedFakePhotoSpec;
    const image = { ...drawFakeImage(spec), format: 'fake' };
    return Promise.resolve({ ok: true, image: spec.takenAt === undefined ? image : { ...image, takenAt: new Date(spec.takenAt) } });
  }

  /**
   * As the process decoder may give a released image's memory to the next photo, the pixels are
   * overwritten at once with a background grey: anything that reads them later sees no faces.
   */
  release(image: DecodedImage): void {
    this.released++;
    image.pixels.fill(RELEASED_GREY);
  }
}

/** Not a face colour (see `FakePhotoSpec.background`). */
const RELEASED_GREY = 154;
