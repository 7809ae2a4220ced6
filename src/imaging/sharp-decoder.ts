import sharp from 'sharp';
import exifReader from 'exif-reader';
import type { DecodeFailureReason, DecodeResult, ImageDecoder } from '../core/index.ts';

export interface DecoderLimits {
  /** Files larger than this are refused before any decoding. */
  readonly maxBytes: number;
  /** Images whose header claims more pixels than this are refused before decoding (bombs). */
  readonly maxPixels: number;
  /** The long side of the decoded pixels; larger photos are scaled down, which also bounds memory. */
  readonly maxSide: number;
  /** A decode that takes longer than this is abandoned. */
  readonly timeoutSeconds: number;
}

export const DEFAULT_DECODER_LIMITS: DecoderLimits = {
  maxBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
  maxSide: 4096,
  timeoutSeconds: 30,
};

/**
 * Decodes with sharp (libvips): applies EXIF orientation, flattens transparency onto white, reads
 * only the first frame of animations, and refuses pixel floods from the header alone.
 */
export class SharpImageDecoder implements ImageDecoder {
  constructor(private readonly limits: DecoderLimits = DEFAULT_DECODER_LIMITS) {}

  async decode(bytes: Uint8Array): Promise<DecodeResult> {
    if (bytes.length === 0) return failure('empty', 'the file is empty');
    if (bytes.length > this.limits.maxBytes) {
      return failure('too-large', `${bytes.length} bytes is over the limit of ${this.limits.maxBytes}`);
    }
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      const image = sharp(input, {
        limitInputPixels: this.limits.maxPixels,
        // A truncated or slightly damaged photo still shows most of its faces; libvips fills the rest.
        failOn: 'error',
        pages: 1,
        sequentialRead: true,
      });
      const meta = await image.metadata();
      const { data, info } = await image
        .rotate()
        .resize({ width: this.limits.maxSide, height: this.limits.maxSide, fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb')
        .timeout({ seconds: this.limits.timeoutSeconds })
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) return failure('corrupt', `decoded to ${info.channels} channels, expected 3`);
      const takenAt = meta.exif ? exifDate(meta.exif) : undefined;
      return {
        ok: true,
        image: {
          width: info.width,
          height: info.height,
          pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
          format: meta.format,
          ...(takenAt ? { takenAt } : {}),
        },
      };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return failure(classify(detail), detail);
    }
  }
}

function failure(reason: DecodeFailureReason, detail: string): DecodeResult {
  return { ok: false, failure: { reason, detail } };
}

function classify(message: string): DecodeFailureReason {
  if (/pixel limit/i.test(message)) return 'too-many-pixels';
  if (/unsupported image format|not a known file format|unsupported/i.test(message)) return 'unsupported-format';
  return 'corrupt';
}

/** DateTimeOriginal from an EXIF block; a broken block is ignored, it never fails the photo. */
function exifDate(block: Buffer): Date | undefined {
  try {
    const exif = exifReader(block);
    const value: unknown = exif.Photo?.DateTimeOriginal ?? exif.Image?.DateTime;
    return value instanceof Date && !Number.isNaN(value.getTime()) ? value : undefined;
  } catch {
    return undefined;
  }
}
