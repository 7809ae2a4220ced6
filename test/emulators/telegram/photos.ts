import sharp, { type Metadata } from 'sharp';
import { badRequest } from './protocol.ts';

/** One stored size of a photo. */
export interface PhotoVariant {
  readonly width: number;
  readonly height: number;
  readonly bytes: Buffer;
}

/** Boxes of Telegram's thumbnail sizes 's', 'm' and 'x'; the photo itself comes last. */
const THUMBNAIL_BOXES = [90, 320, 800] as const;

/** Telegram's photo limits: width + height at most 10000 and a ratio of at most 20. */
const MAX_SIDES_SUM = 10_000;
const MAX_RATIO = 20;

/** Width and height as displayed, after the EXIF orientation is applied. */
async function orientedSize(bytes: Buffer): Promise<{ width: number; height: number }> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch {
    throw badRequest('IMAGE_PROCESS_FAILED');
  }
  const { width, height, orientation } = metadata;
  return (orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
}

/**
 * The sizes of a photo, smallest first as Telegram lists them: real JPEG thumbnails for each box
 * smaller than the photo, then the photo's own bytes untouched (Telegram would re-encode those;
 * keeping them lets a test compare what it posted with what the bot downloaded).
 */
export async function photoVariants(bytes: Buffer): Promise<PhotoVariant[]> {
  const { width, height } = await orientedSize(bytes);
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  if (width + height > MAX_SIDES_SUM || long > short * MAX_RATIO) throw badRequest('PHOTO_INVALID_DIMENSIONS');
  const variants: PhotoVariant[] = [];
  for (const box of THUMBNAIL_BOXES) {
    if (box >= long) break;
    const { data, info } = await sharp(bytes)
      .rotate()
      .resize(box, box, { fit: 'inside' })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    variants.push({ width: info.width, height: info.height, bytes: data });
  }
  variants.push({ width, height, bytes });
  return variants;
}

/** The 320-pixel thumbnail Telegram attaches to an image sent as a file; none for other files. */
export async function documentThumbnail(bytes: Buffer, mimeType: string): Promise<PhotoVariant | undefined> {
  if (!mimeType.startsWith('image/')) return undefined;
  try {
    const { data, info } = await sharp(bytes)
      .rotate()
      .resize(320, 320, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, bytes: data };
  } catch {
    return undefined;
  }
}
