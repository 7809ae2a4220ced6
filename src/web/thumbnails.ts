import { stat } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import type { Box, DecodedImage, ImageDecoder } from '../core/index.ts';
import { DEFAULT_MAX_PHOTO_BYTES, readCapped } from '../files/index.ts';

/** Thumbnail edge in pixels: a grid cell on a phone, sharp on a 2x screen at about 100 CSS px. */
export const THUMB_SIZE = 200;
const FACE_SIZE = 160;
/** Room around a face box on each side, as a share of its longer side. */
const FACE_MARGIN = 0.3;
const CACHE_ENTRIES = 2000;
/** The large view's longer side: a phone or laptop screen, never the 12 MP original. */
export const LARGE_SIZE = 1600;
const LARGE_ENTRIES = 20;

/**
 * Small JPEG thumbnails, made on demand and kept in memory by path, size and modification time.
 * sharp reads the file directly (JPEG shrink-on-load makes that fast); what sharp cannot read on
 * its own (HEIC, when the shared decoder has a HEIF decoder) goes through the decoder.
 */
export class Thumbnails {
  private readonly cache = new Map<string, Buffer>();
  private readonly larges = new Map<string, Large>();

  constructor(
    private readonly decoder: ImageDecoder,
    private readonly maxPixels: number,
    /** A file larger than this is never read: no thumbnail. */
    private readonly maxBytes = DEFAULT_MAX_PHOTO_BYTES,
  ) {}

  /** A square thumbnail of the photo at `file` (a checked, real path), or undefined when it cannot be read. */
  async photo(file: string): Promise<Buffer | undefined> {
    const key = await this.keyOf(file, '');
    if (key === undefined) return undefined;
    return this.remember(key, async () => {
      try {
        return await sharp(file, { limitInputPixels: this.maxPixels, pages: 1 })
          .rotate()
          .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'cover' })
          .jpeg({ quality: 72 })
          .toBuffer();
      } catch {
        const image = await this.decode(file);
        return image && (await rawSharp(image).resize(THUMB_SIZE, THUMB_SIZE, { fit: 'cover' }).jpeg({ quality: 72 }).toBuffer());
      }
    });
  }

  /**
   * A square thumbnail of the photo centred on one face (its box in the decoder's pixels): in a
   * person's grid a group photo shows that person, not whoever stands in the middle. The square is
   * four faces wide, or the photo's shorter side if that is less, and kept inside the photo.
   */
  async photoAround(file: string, box: Box): Promise<Buffer | undefined> {
    const key = await this.keyOf(file, `around ${box.x},${box.y},${box.width},${box.height}`);
    if (key === undefined) return undefined;
    return this.remember(key, async () => {
      const image = await this.decode(file);
      const region = image && squareAround(image, box);
      return region && rawSharp(image).extract(region).resize(THUMB_SIZE, THUMB_SIZE, { fit: 'cover' }).jpeg({ quality: 72 }).toBuffer();
    });
  }

  /**
   * The photo for the large view, as JPEG at most `LARGE_SIZE` px on its longer side, with the
   * decoded photo's size: face boxes are in those pixels. Made from the decoder's pixels, so HEIC
   * shows as any other photo and the boxes line up whatever the file's orientation tag says.
   */
  async large(file: string): Promise<Large | undefined> {
    const key = await this.keyOf(file, 'large');
    if (key === undefined) return undefined;
    const hit = this.larges.get(key);
    if (hit) return hit;
    const image = await this.decode(file).catch(() => undefined);
    if (!image) return undefined;
    const jpeg = await rawSharp(image)
      .resize(LARGE_SIZE, LARGE_SIZE, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 82 })
      .toBuffer()
      .catch(() => undefined);
    if (!jpeg) return undefined;
    const made = { jpeg, width: image.width, height: image.height };
    this.larges.set(key, made);
    if (this.larges.size > LARGE_ENTRIES) this.larges.delete(this.larges.keys().next().value!);
    return made;
  }

  /** A square crop around one face (its box in the decoder's pixels), or undefined when the photo cannot be read. */
  async face(file: string, box: Box): Promise<Buffer | undefined> {
    const key = await this.keyOf(file, `${box.x},${box.y},${box.width},${box.height}`);
    if (key === undefined) return undefined;
    return this.remember(key, async () => {
      const image = await this.decode(file);
      if (!image) return undefined;
      const region = faceRegion(image, box, FACE_MARGIN);
      return region && rawSharp(image).extract(region).resize(FACE_SIZE, FACE_SIZE, { fit: 'cover' }).jpeg({ quality: 80 }).toBuffer();
    });
  }

  /**
   * The face with room around it, as a JPEG of its own: a sample photo for a known-faces folder.
   * The room shrinks until no other face of the photo (`others`, which may include `box`) is in it;
   * undefined when even a tight crop would show another face.
   */
  async faceSample(file: string, box: Box, others: readonly Box[]): Promise<Buffer | undefined> {
    const image = await this.decode(file);
    if (!image) return undefined;
    for (const margin of [0.8, 0.5, 0.3, 0.15]) {
      const region = faceRegion(image, box, margin);
      if (!region || others.some((other) => other !== box && overlaps(region, other))) continue;
      return rawSharp(image).extract(region).jpeg({ quality: 92 }).toBuffer();
    }
    return undefined;
  }

  private async decode(file: string): Promise<DecodedImage | undefined> {
    const read = await readCapped(file, this.maxBytes);
    if ('tooLarge' in read) return undefined;
    const decoded = await this.decoder.decode(read.bytes);
    return decoded.ok ? decoded.image : undefined;
  }

  /**
   * The cache key of a thumbnail of `file` (its path, size and modification time, and `what` of it),
   * or undefined for a file that is not there or over the size limit: no thumbnail of it.
   */
  private async keyOf(file: string, what: string): Promise<string | undefined> {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile() || info.size > this.maxBytes) return undefined;
    return `${file}\0${info.size}\0${info.mtimeMs}\0${what}`;
  }

  private async remember(key: string, make: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    const hit = this.cache.get(key);
    if (hit) {
      // Re-inserted so that the map's order is least recently used first.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const made = await make().catch(() => undefined);
    if (!made) return undefined;
    this.cache.set(key, made);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return made;
  }
}

/** A photo for the large view and the size of the photo it was made from. */
export interface Large {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
}

/**
 * The square around a face for a thumbnail centred on it: four faces wide, or the photo's shorter
 * side if that is less, kept inside the photo; undefined for a box that is not a number.
 */
export function squareAround(
  image: Pick<DecodedImage, 'width' | 'height'>,
  box: Box,
): { left: number; top: number; width: number; height: number } | undefined {
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite)) return undefined;
  const side = Math.round(Math.min(image.width, image.height, Math.max(box.width, box.height) * 4));
  const clamp = (centre: number, limit: number) => Math.min(Math.max(0, Math.round(centre - side / 2)), limit - side);
  return { left: clamp(box.x + box.width / 2, image.width), top: clamp(box.y + box.height / 2, image.height), width: side, height: side };
}

export function rawSharp(image: DecodedImage): Sharp {
  const pixels = Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
  return sharp(pixels, { raw: { width: image.width, height: image.height, channels: 3 } });
}

/** The square around the box plus margin, clipped to the image; undefined when nothing of it is inside. */
function faceRegion(image: DecodedImage, box: Box, margin: number): { left: number; top: number; width: number; height: number } | undefined {
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite)) return undefined;
  const side = Math.max(box.width, box.height) * (1 + 2 * margin);
  const left = Math.max(0, Math.round(box.x + box.width / 2 - side / 2));
  const top = Math.max(0, Math.round(box.y + box.height / 2 - side / 2));
  const right = Math.min(image.width, Math.round(box.x + box.width / 2 + side / 2));
  const bottom = Math.min(image.height, Math.round(box.y + box.height / 2 + side / 2));
  return right > left && bottom > top ? { left, top, width: right - left, height: bottom - top } : undefined;
}

function overlaps(region: { left: number; top: number; width: number; height: number }, box: Box): boolean {
  return box.x < region.left + region.width && box.x + box.width > region.left && box.y < region.top + region.height && box.y + box.height > region.top;
}
