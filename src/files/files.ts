import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PathError, sha256Hex } from '../core/index.ts';

/** File name endings taken as photos when a folder is scanned (a file named explicitly is always tried). */
export const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

export function isPhotoName(name: string): boolean {
  return PHOTO_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** What kind of thing is at `target`, or a `PathError` saying what is wrong with it. */
export async function inspectPath(target: string): Promise<'file' | 'folder'> {
  try {
    const info = await stat(target);
    if (info.isDirectory()) {
      await readdir(target);
      return 'folder';
    }
    if (info.isFile()) return 'file';
    throw new PathError(target, 'not-a-file');
  } catch (error) {
    if (error instanceof PathError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PathError(target, 'missing', { cause: error });
    if (code === 'EACCES' || code === 'EPERM') throw new PathError(target, 'unreadable', { cause: error });
    throw error;
  }
}

/** A folder that must be a folder: created when missing, refused when it is a file. */
export async function ensureFolder(target: string): Promise<void> {
  try {
    await mkdir(target, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new PathError(target, 'not-a-folder', { cause: error });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new PathError(target, 'unwritable', { cause: error });
    throw error;
  }
  if ((await inspectPath(target)) !== 'folder') throw new PathError(target, 'not-a-folder');
}

/**
 * Every photo below `root`, sorted, skipping hidden entries and the folders in `exclude` (the
 * output and zip folders, when they lie inside the input). Symbolic links are not followed.
 */
export async function listPhotos(root: string, exclude: readonly string[] = []): Promise<string[]> {
  const found: string[] = [];
  const excluded = new Set(exclude.map((p) => path.resolve(p)));
  const walk = async (dir: string): Promise<void> => {
    if (excluded.has(path.resolve(dir))) return;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && isPhotoName(entry.name)) found.push(full);
    }
  };
  await walk(root);
  return found;
}

export type FileOutcome = 'filed' | 'already-filed';

/**
 * Puts the photo `source` (whose content hash is `hash`) into `folder` under `name`, as a hard link
 * where the file system allows and a copy where it does not. Never overwrites: a different file of
 * the same name gets a " (2)", " (3)", … suffix, and a file already holding these bytes counts as
 * filed, so re-running files nothing twice. Calls that may target the same folder must not overlap.
 */
export async function fileInto(source: string, hash: string, folder: string, name: string): Promise<{ path: string; outcome: FileOutcome }> {
  await mkdir(folder, { recursive: true });
  const { name: stem, ext } = path.parse(name);
  for (let n = 1; ; n++) {
    const candidate = path.join(folder, n === 1 ? name : `${stem} (${n})${ext}`);
    if (await holdsSameContent(candidate, source, hash)) return { path: candidate, outcome: 'already-filed' };
    if (await placeAt(source, candidate)) return { path: candidate, outcome: 'filed' };
  }
}

async function holdsSameContent(candidate: string, source: string, hash: string): Promise<boolean> {
  let existing;
  try {
    existing = await lstat(candidate);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (!existing.isFile()) return false;
  const original = await stat(source);
  if (existing.ino === original.ino && existing.dev === original.dev) return true;
  if (existing.size !== original.size) return false;
  return sha256Hex(await readFile(candidate)) === hash;
}

/**
 * Links (or copies) `source` to `target` unless something is there already; false if it was.
 * Shared with the album store, which files photos the same way.
 */
export async function placeAt(source: string, target: string): Promise<boolean> {
  try {
    await link(source, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
  }
  // No hard links here: copy under a temporary name and rename, so that a crash never leaves a
  // half-copied photo under its real name. Callers serialise filing, so nothing appears at
  // `target` between the check and the rename.
  const temporary = path.join(path.dirname(target), `.${randomBytes(6).toString('hex')}.partial`);
  try {
    await copyFile(source, temporary, constants.COPYFILE_EXCL);
    if (await exists(target)) return false;
    await rename(temporary, target);
    return true;
  } finally {
    await rm(temporary, { force: true });
  }
}

async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
