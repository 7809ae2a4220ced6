import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Box, ImageDecoder, Log, Renderer } from '../core/index.ts';
import { ensureFolder, readCapped, writeAtomically } from '../files/index.ts';
import { compareWithRecord, recordOf, type Manifest } from './manifest.ts';

/** The output sub-folder of contact sheets of known photos that were not used. Not a person. */
export const CHECK_FOLDER = '_check_known';

/** A contact sheet to draw: the faces of one known photo, each with its label. */
export interface SheetRequest {
  readonly person: string;
  readonly file: string;
  readonly faces: readonly { readonly box: Box; readonly label: string }[];
  readonly caption: string;
}

/** Where a request's sheet goes: `<output>/_check_known/<Person> - <photo>.png`. */
export function sheetPath(outputDir: string, request: Pick<SheetRequest, 'person' | 'file'>): string {
  return path.join(outputDir, CHECK_FOLDER, `${request.person} - ${path.parse(request.file).name}.png`);
}

/**
 * Draws each sheet from the photo (decoded again: only doubtful known photos get here) and records
 * it in the manifest; sheets of earlier runs that no longer apply are removed unless changed.
 * A sheet that cannot be drawn is logged and skipped: the listing in the summary still names it.
 */
export async function writeSheets(
  requests: readonly SheetRequest[],
  manifest: Manifest,
  deps: { readonly outputDir: string; readonly decoder: ImageDecoder; readonly maxBytes: number; readonly renderer?: Renderer; readonly log: Log },
): Promise<void> {
  const written = new Set<string>();
  const folder = path.join(deps.outputDir, CHECK_FOLDER);
  for (const request of deps.renderer ? requests : []) {
    const target = sheetPath(deps.outputDir, request);
    try {
      const read = await readCapped(request.file, deps.maxBytes);
      if ('tooLarge' in read) throw new Error(`${read.tooLarge} bytes is over the limit of ${deps.maxBytes}`);
      const decoded = await deps.decoder.decode(read.bytes);
      if (!decoded.ok) throw new Error(decoded.failure.detail);
      const png = await deps.renderer!.contactSheet(
        request.faces.map((face) => ({ image: decoded.image, box: face.box, label: face.label })),
        request.caption,
      );
      await ensureFolder(folder);
      await writeAtomically(target, png);
      manifest.generated.set(target, await recordOf(target));
      written.add(target);
    } catch (error) {
      deps.log.warn({ err: error, file: request.file }, 'contact sheet not written');
    }
  }
  for (const [file, record] of [...manifest.generated]) {
    if (path.dirname(file) !== folder || written.has(file)) continue;
    if ((await compareWithRecord(file, record)) === 'unchanged') await rm(file, { force: true });
    manifest.generated.delete(file);
  }
  await rmdir(folder).catch(() => undefined);
}
