import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { ImageDecoder, Log } from '../core/index.ts';
import { readCapped, writeAtomically } from '../files/index.ts';
import type { PhotoOutcome } from './report.ts';

/** Where report.html's stand-ins for photos a browser cannot show are kept, inside the output folder. */
export const PREVIEW_FOLDER = '.facefile-previews';
/** Formats browsers do not show (Chrome and Firefox have no HEIC, none has TIFF): the report shows a JPEG of them. */
const NOT_SHOWN_BY_BROWSERS = new Set(['.heic', '.heif', '.tif', '.tiff']);
const PREVIEW_SIZE = 300;
const PREVIEW_NAME = /^[0-9a-f]{64}\.jpg$/;

/**
 * A small JPEG of each photo of the run that a browser cannot show, named by its content hash (made
 * once, kept while the photo is among the inputs), for report.html's grids; the copies stay as
 * they are. Previews of photos no longer among the run's are removed. Returns each photo's preview,
 * relative to the output folder. A photo that cannot be decoded has none (the report shows its
 * name), and a preview that cannot be written is logged, never fatal.
 */
export async function writePreviews(
  outcomes: readonly PhotoOutcome[],
  options: { readonly outputDir: string; readonly decoder: ImageDecoder; readonly maxBytes: number; readonly log: Log },
): Promise<Map<string, string>> {
  const folder = path.join(options.outputDir, PREVIEW_FOLDER);
  const previews = new Map<string, string>();
  const keep = new Set<string>();
  for (const outcome of outcomes) {
    if (!NOT_SHOWN_BY_BROWSERS.has(path.extname(outcome.file).toLowerCase())) continue;
    const name = `${outcome.hash}.jpg`;
    keep.add(name);
    const target = path.join(folder, name);
    try {
      if (!(await stat(target).catch(() => undefined))?.isFile()) {
        const read = await readCapped(outcome.file, options.maxBytes);
        if ('tooLarge' in read) continue;
        const decoded = await options.decoder.decode(read.bytes);
        if (!decoded.ok) continue;
        const { pixels, width, height } = decoded.image;
        const jpeg = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels: 3 } })
          .resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true })
          .jpeg({ quality: 78 })
          .toBuffer();
        await mkdir(folder, { recursive: true });
        await writeAtomically(target, jpeg);
      }
      previews.set(outcome.file, `${PREVIEW_FOLDER}/${name}`);
    } catch (error) {
      options.log.warn({ err: error, file: outcome.file }, 'report preview not made');
    }
  }
  // Only previews this code named are removed: anything else put in the folder is left alone.
  for (const name of await readdir(folder).catch(() => [])) {
    if (PREVIEW_NAME.test(name) && !keep.has(name)) await rm(path.join(folder, name), { force: true });
  }
  return previews;
}
