import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomically } from '../files/index.ts';

/** The manifest's file name inside the output folder. */
export const MANIFEST_NAME = '.facefile-manifest.json';

/** A file facefile wrote, as it was when written: a different size or time means someone changed it. */
export interface WrittenFile {
  readonly size: number;
  readonly mtimeMs: number;
}

/** A sorted copy facefile placed in the output folder. */
export interface PlacedFile extends WrittenFile {
  /** The original it was copied from (absolute). */
  readonly source: string;
  /** The content hash of the original when it was placed. */
  readonly hash: string;
  /** A fingerprint of the names and date written for it (see `tagsFingerprint`); absent when none were. */
  readonly tags?: string;
}

/** A zip, contact sheet or report facefile generated. */
export interface GeneratedFile extends WrittenFile {
  /** For a zip: a fingerprint of the files it holds, so an unchanged folder's zip is not rewritten. */
  readonly contents?: string;
}

/**
 * What facefile placed in an output folder, so that a later run can take back what no longer holds
 * and leave everything else (the user's own files, copies the user edited) alone.
 */
export interface Manifest {
  /** Sorted copies, by path relative to the output folder (`<folder>/<name>`, with '/'). */
  readonly files: Map<string, PlacedFile>;
  /** Zips and other files facefile generated (contact sheets, the report), by absolute path. */
  readonly generated: Map<string, GeneratedFile>;
}

export function emptyManifest(): Manifest {
  return { files: new Map(), generated: new Map() };
}

/** The manifest as stored: version 1, keys sorted so that an unchanged manifest reads the same. */
export function serializeManifest(manifest: Manifest): string {
  const sorted = <T>(map: Map<string, T>): Record<string, T> => Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ version: 1, files: sorted(manifest.files), generated: sorted(manifest.generated) }, null, 1) + '\n';
}

/**
 * The output folder's manifest; an empty one when there is none yet. A manifest that cannot be
 * understood is also taken as empty: that only means nothing is removed this run. Entries that
 * would lead a run out of its folders (`..`, an absolute or unnormalised path: an edited manifest)
 * are left out and named in `refused`, so that nothing outside is ever touched.
 */
export async function readManifest(outputDir: string): Promise<{ manifest: Manifest; problem?: string; refused?: string[] }> {
  let text: string;
  try {
    text = await readFile(path.join(outputDir, MANIFEST_NAME), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { manifest: emptyManifest() };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; files?: Record<string, PlacedFile> | null; generated?: Record<string, GeneratedFile> | null };
    if (parsed.version !== 1 || typeof parsed.files !== 'object' || parsed.files === null) throw new Error('not a version 1 manifest');
    const files = Object.entries(parsed.files);
    const generated = Object.entries(parsed.generated ?? {});
    const refused = [...files.filter(([relative]) => !isCopyPath(relative)), ...generated.filter(([file]) => !isGeneratedPath(file))].map(([p]) => p);
    const manifest = {
      files: new Map(files.filter(([relative]) => isCopyPath(relative))),
      generated: new Map(generated.filter(([file]) => isGeneratedPath(file))),
    };
    return refused.length > 0 ? { manifest, refused } : { manifest };
  } catch (error) {
    return { manifest: emptyManifest(), problem: error instanceof Error ? error.message : String(error) };
  }
}

/** A sorted copy's path as facefile writes it: `<folder>/<name>`, two plain names, nothing more. */
function isCopyPath(relative: string): boolean {
  const parts = relative.split('/');
  return parts.length === 2 && parts.every((part) => part !== '' && part !== '.' && part !== '..' && path.basename(part) === part && !part.includes('\u0000'));
}

/** A generated file's path as facefile writes it: absolute and already normalised (no `..` left in it). */
function isGeneratedPath(file: string): boolean {
  return path.isAbsolute(file) && path.normalize(file) === file && !file.includes('\u0000');
}

/** Writes the manifest under a temporary name and renames it: a crash leaves the old one or the new one. */
export async function writeManifest(outputDir: string, manifest: Manifest): Promise<void> {
  await writeAtomically(path.join(outputDir, MANIFEST_NAME), serializeManifest(manifest));
}

/** The record of a file just written. */
export async function recordOf(file: string): Promise<WrittenFile> {
  const info = await stat(file);
  return { size: info.size, mtimeMs: info.mtimeMs };
}

/** Whether `file` is still what facefile wrote: 'missing', 'changed' (size or time differ) or 'unchanged'. */
export async function compareWithRecord(file: string, record: WrittenFile): Promise<'missing' | 'changed' | 'unchanged'> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw error;
  }
  return info.isFile() && info.size === record.size && info.mtimeMs === record.mtimeMs ? 'unchanged' : 'changed';
}
