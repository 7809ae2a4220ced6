import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import type { Box, PhotoTagger, PhotoTags, XmpMode } from '../core/index.ts';
import type { PlacementMode } from '../files/index.ts';

/** What a copy's tags need of a face decision (`FaceDecision` of the report). */
export interface FaceVerdict {
  readonly box: Box;
  readonly verdict: string;
  readonly person?: string;
}

/** How the sorted copies carry their names and dates (see `PhotoTags`). */
export interface CopyTagging {
  readonly tagger: PhotoTagger;
  /** `embed` writes into the copy; `sidecar` writes `<copy>.xmp` beside it. */
  readonly mode: Exclude<XmpMode, 'off'>;
}

/** The sidecar of a sorted copy: `<name>.<ext>.xmp`, as digiKam and darktable name them, so `a.jpg` and `a.png` never share one. */
export function sidecarOf(copy: string): string {
  return `${copy}.xmp`;
}

/** Whether a file in the output folder is one of facefile's sidecars rather than a photo. */
export function isSidecarName(name: string): boolean {
  return name.toLowerCase().endsWith('.xmp');
}

/** The tags of an analysed photo: its named faces, and the original's file time for a photo with no date of its own. */
export async function tagsOfPhoto(source: string, decisions: readonly FaceVerdict[]): Promise<PhotoTags> {
  const faces = decisions.flatMap((d) => (d.verdict === 'person' && d.person !== undefined ? [{ name: d.person, box: d.box }] : []));
  const info = await stat(source);
  return { faces, fallbackDate: info.mtime.toISOString() };
}

/** A short fingerprint of what a copy carries, kept in the manifest: a run re-tags a copy only when it changes. */
export function tagsFingerprint(tags: PhotoTags, mode: XmpMode): string {
  return createHash('sha256')
    .update(JSON.stringify([mode, tags]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Writes the tags for `copy` of `source`. A hard link (`--link`) IS the original, so it never gets
 * them embedded: its tags go into a sidecar whatever the mode. A format exiftool cannot write gets a
 * sidecar too.
 */
export async function tagCopy(tagging: CopyTagging, placement: PlacementMode, copy: string, tags: PhotoTags): Promise<'embed' | 'sidecar'> {
  if (tagging.mode === 'embed' && placement === 'copy') {
    if (await tagging.tagger.embed(copy, tags)) {
      // A sidecar an earlier run left (in sidecar mode) would disagree with the copy.
      await rm(sidecarOf(copy), { force: true });
      return 'embed';
    }
  }
  if (!(await tagging.tagger.sidecar(copy, sidecarOf(copy), tags))) await rm(sidecarOf(copy), { force: true });
  return 'sidecar';
}
