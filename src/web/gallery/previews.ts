import sharp from 'sharp';
import type { Box, ImageDecoder } from '../../core/index.ts';
import { rawSharp as raw, squareAround } from '../thumbnails.ts';

/** A grid cell on a phone at 3x; the large view fits a phone or a laptop screen. */
const SIZES = { thumb: 360, large: 1600 } as const;

/**
 * The gallery's renditions of a photo, as WebP: a square thumbnail (centred on one person's face
 * when asked, so that a group photo in Anna's grid shows Anna) and a large view. The decoder reads
 * what sharp alone cannot (HEIC) and applies the orientation the face boxes were found in.
 */
export class PreviewRenderer {
  constructor(
    private readonly decoder: ImageDecoder,
    /** The decoder's largest side: face boxes are in pixels of photos scaled to fit it. */
    private readonly maxSide: number,
  ) {}

  /** The photo's size as its faces were found (upright, scaled as the decoder scales), from its header; the decoder's when sharp cannot read it. */
  async size(original: Buffer): Promise<{ width: number; height: number } | undefined> {
    try {
      const meta = await sharp(original, { pages: 1 }).metadata();
      if (meta.width && meta.height) {
        const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
        const scale = Math.min(1, this.maxSide / Math.max(width, height));
        return { width: Math.round(width * scale), height: Math.round(height * scale) };
      }
    } catch {
      // Read below.
    }
    const decoded = await this.decoder.decode(original);
    return decoded.ok ? { width: decoded.image.width, height: decoded.image.height } : undefined;
  }

  /** A rendition; a thumbnail is centred on `face` when given (the face it is shown for). */
  async render(original: Buffer, kind: keyof typeof SIZES, face?: Box): Promise<Uint8Array | undefined> {
    const decoded = await this.decoder.decode(original);
    if (!decoded.ok) return undefined;
    const image = decoded.image;
    if (kind === 'large') return raw(image).resize(SIZES.large, SIZES.large, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
    const region = face ? squareAround(image, face) : undefined;
    return (region ? raw(image).extract(region) : raw(image)).resize(SIZES.thumb, SIZES.thumb, { fit: 'cover' }).webp({ quality: 70 }).toBuffer();
  }
}
