import sharp, { type Sharp } from 'sharp';
import exifReader from 'exif-reader';
import { HeifWorker, isHevcHeif } from './heif-decoder.ts';
import { jpegScanCount, POSTED_FORMATS, sniffFormat, type PhotoFormat } from './sniff.ts';
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
  /** The formats read, told from the bytes; the others are refused before libvips sees them. Posted photos' formats unless told. */
  readonly formats?: ReadonlySet<PhotoFormat>;
  /** A JPEG with more scans than this is refused before decoding: each scan is a pass over every block. */
  readonly maxJpegScans?: number;
}

/** Cameras and encoders write at most a dozen or so scans; libjpeg's own progressive scripts ten. */
export const MAX_JPEG_SCANS = 100;

export const DEFAULT_DECODER_LIMITS: DecoderLimits = {
  maxBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
  maxSide: 4096,
  timeoutSeconds: 30,
};

/**
 * Decodes with sharp (libvips), and HEIC through libheif: applies EXIF orientation, flattens
 * transparency onto white, reads only the first frame of animations, and refuses pixel floods from
 * the header alone.
 */
export class SharpImageDecoder implements ImageDecoder {
  private readonly heif: HeifWorker;

  constructor(private readonly limits: DecoderLimits = DEFAULT_DECODER_LIMITS) {
    this.heif = new HeifWorker(limits);
  }

  async decode(bytes: Uint8Array): Promise<DecodeResult> {
    const refused = screen(bytes, this.limits);
    if (refused) return refused;
    const sniffed = sniffFormat(bytes);
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // The prebuilt sharp reads HEIF's container but has no HEVC decoder: iPhone photos go to libheif.
    if (isHevcHeif(input)) return this.decodeHeif(input);
    try {
      const image = sharp(input, {
        limitInputPixels: this.limits.maxPixels,
        // A truncated or slightly damaged photo still shows most of its faces; libvips fills the rest.
        failOn: 'error',
        pages: 1,
        sequentialRead: true,
      });
      const meta = await image.metadata();
      // libvips picks its loader from the bytes too; a file that looks like one format to us and another to it is refused.
      if (meta.format !== sniffed) return failure('unsupported-format', `the bytes look like ${sniffed} and libvips read them as ${meta.format}`);
      return await this.finish(image.rotate(), meta.format, meta.exif);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return failure(classify(detail), detail);
    }
  }

  /**
   * HEVC-coded HEIF through libheif (WebAssembly, in a worker, under the same pixel limit and
   * timeout). libheif applies the file's own rotation and mirroring, so EXIF orientation is not
   * applied again; the EXIF date is read through sharp, which parses the container.
   */
  private async decodeHeif(input: Buffer): Promise<DecodeResult> {
    const decoded = await this.heif.decode(input);
    if (!decoded.ok) return failure(decoded.reason, decoded.detail);
    try {
      const exif = await sharp(input)
        .metadata()
        .then(
          (meta) => meta.exif,
          () => undefined,
        );
      const rgba = Buffer.from(decoded.rgba.buffer, decoded.rgba.byteOffset, decoded.rgba.byteLength);
      return await this.finish(sharp(rgba, { raw: { width: decoded.width, height: decoded.height, channels: 4 } }), 'heif', exif);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return failure(classify(detail), detail);
    }
  }

  /** The steps every photo shares: bounded size, transparency on white, sRGB, 3 channels. */
  private async finish(image: Sharp, format: string, exif: Buffer | undefined): Promise<DecodeResult> {
    const { data, info } = await image
      .resize({ width: this.limits.maxSide, height: this.limits.maxSide, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .timeout({ seconds: this.limits.timeoutSeconds })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) return failure('corrupt', `decoded to ${info.channels} channels, expected 3`);
    const takenAt = exif ? exifDate(exif) : undefined;
    return {
      ok: true,
      image: {
        width: info.width,
        height: info.height,
        pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        format,
        ...(takenAt ? { takenAt } : {}),
      },
    };
  }
}

/**
 * The checks made on the bytes alone, before any decoder sees them: empty, too large, a format not
 * read, a JPEG with too many scans. Cheap enough to run in the caller before a decode is sent off.
 */
export function screen(bytes: Uint8Array, limits: DecoderLimits): DecodeResult | undefined {
  if (bytes.length === 0) return failure('empty', 'the file is empty');
  if (bytes.length > limits.maxBytes) return failure('too-large', `${bytes.length} bytes is over the limit of ${limits.maxBytes}`);
  const format = sniffFormat(bytes);
  if (!format || !(limits.formats ?? POSTED_FORMATS).has(format)) {
    return failure('unsupported-format', `${format ?? 'an unknown format'} is not among the formats read`);
  }
  const maxScans = limits.maxJpegScans ?? MAX_JPEG_SCANS;
  const scans = format === 'jpeg' ? jpegScanCount(bytes) : 0;
  if (scans > maxScans) return failure('corrupt', `a JPEG with ${scans} scans is over the limit of ${maxScans}`);
  return undefined;
}

export function failure(reason: DecodeFailureReason, detail: string): DecodeResult {
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
