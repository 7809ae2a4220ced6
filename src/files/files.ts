import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PathError, sha256Hex } from '../core/index.ts';

/** File name endings taken as photos when a folder is scanned (a file named explicitly is always tried). */
export const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

/** The byte limit of a photo where none is configured: the decoder's default. */
export const DEFAULT_MAX_PHOTO_BYTES = 50 * 1024 * 1024;

/**
 * A file's bytes, or only its size when that is over `maxBytes`: the size comes from the open file
 * before anything is read, so a 1.5 GB file named .jpg costs a stat, not 1.5 GB of memory. A file
 * that grows between the two is read no further than the limit and refused.
 */
export async function readCapped(file: string, maxBytes: number): Promise<{ readonly bytes: Buffer } | { readonly tooLarge: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) return { tooLarge: size };
    const bytes = Buffer.alloc(size + 1);
    let length = 0;
    for (let read = 1; read > 0 && length < bytes.length; length += read) {
      ({ bytesRead: read } = await handle.read(bytes, length, bytes.length - length, length));
    }
    return length > maxBytes ? { tooLarge: length } : { bytes: bytes.subarray(0, length) };
  } finally {
    await handle.close();
  }
}

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
    await makeFolders(path.resolve(target));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new PathError(target, 'not-a-folder', { cause: error });
    // ENOENT with the parent present: a file system that cannot hold folders (/proc, /sys).
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT') throw new PathError(target, 'unwritable', { cause: error });
    throw error;
  }
  if ((await inspectPath(target)) !== 'folder') throw new PathError(target, 'not-a-folder');
}

/**
 * A folder that must take new files: created when missing, then written to once (a small file
 * made and removed) so that a read-only mount, a full disk or a missing permission stops the run
 * before any work, in one line, instead of failing once per photo afterwards.
 */
export async function ensureWritableFolder(target: string): Promise<void> {
  await ensureFolder(target);
  const probe = path.join(target, `.facefile-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx');
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new PathError(target, 'unwritable', { cause: error });
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new PathError(target, 'full', { cause: error });
    throw error;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

/**
 * `mkdir -p`, one level at a time. Node 20's `mkdir(…, { recursive: true })` loops forever at
 * 100% CPU when the parent exists but refuses a new entry with ENOENT (`/proc/nope`).
 */
async function makeFolders(target: string): Promise<void> {
  const missing: string[] = [];
  let dir = target;
  for (;;) {
    try {
      if ((await stat(dir)).isDirectory()) break;
      throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    missing.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (error) {
      // Made by someone else meanwhile: fine as long as it is a folder.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(folder)).isDirectory()) throw error;
    }
  }
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
 * How a sorted copy is made. `copy`: a copy-on-write clone where the file system can (Btrfs, XFS,
 * APFS), a full copy elsewhere; either way editing it never touches the original. `link`: a hard
 * link, which takes no space but IS the original: editing one edits both.
 */
export type PlacementMode = 'copy' | 'link';

/**
 * Puts the photo `source` (whose content hash is `hash`) into `folder` under `name`. Never
 * overwrites: a different file of the same name gets a " (2)", " (3)", … suffix, and a file already
 * holding these bytes counts as filed, so re-running files nothing twice. In `copy` mode a hard link
 * to the source found there (what earlier versions made) is replaced by a copy. Calls that may
 * target the same folder must not overlap.
 */
export async function fileInto(
  source: string,
  hash: string,
  folder: string,
  name: string,
  mode: PlacementMode = 'copy',
): Promise<{ path: string; outcome: FileOutcome }> {
  await makeFolders(path.resolve(folder));
  const { name: stem, ext } = path.parse(name);
  for (let n = 1; ; n++) {
    const candidate = path.join(folder, n === 1 ? name : `${stem} (${n})${ext}`);
    const held = await heldAt(candidate, source, hash);
    if (held === 'link' && mode === 'copy') {
      await copyOver(source, candidate);
      return { path: candidate, outcome: 'already-filed' };
    }
    if (held !== 'no') return { path: candidate, outcome: 'already-filed' };
    if (mode === 'link' ? await placeAt(source, candidate) : await placeCopy(source, candidate)) return { path: candidate, outcome: 'filed' };
  }
}

/** Whether `candidate` holds the source's bytes: as a hard link to it, as a copy, or not at all. */
async function heldAt(candidate: string, source: string, hash: string): Promise<'link' | 'copy' | 'no'> {
  let existing;
  try {
    existing = await lstat(candidate);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'no';
    throw error;
  }
  if (!existing.isFile()) return 'no';
  const original = await stat(source);
  if (existing.ino === original.ino && existing.dev === original.dev) return 'link';
  if (existing.size !== original.size) return 'no';
  return sha256Hex(await readFile(candidate)) === hash ? 'copy' : 'no';
}

/**
 * Copies `source` to `target` unless something is there already (false then): a clone where the
 * file system can, a full copy otherwise.
 */
export function placeCopy(source: string, target: string): Promise<boolean> {
  return copyThroughTemporary(source, target, false);
}

/** Replaces whatever is at `target` with a copy of `source`, atomically. */
async function copyOver(source: string, target: string): Promise<void> {
  await copyThroughTemporary(source, target, true);
}

/**
 * Written under a temporary name and renamed, so a crash never leaves a half-copied photo under its
 * real name. Callers serialise filing, so nothing appears at `target` between the check and the rename.
 */
async function copyThroughTemporary(source: string, target: string, replace: boolean): Promise<boolean> {
  const temporary = temporaryBeside(target);
  try {
    await copyFile(source, temporary, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    if (!replace && (await exists(target))) return false;
    await rename(temporary, target);
    return true;
  } finally {
    await rm(temporary, { force: true });
  }
}

/** A fresh hidden name beside `target`, ending in `.partial`: what every write-then-rename uses. */
export function temporaryBeside(target: string): string {
  return path.join(path.dirname(target), `.${randomBytes(6).toString('hex')}.partial`);
}

/**
 * Writes a file under a temporary name beside it, then renames it into place: a crash leaves the
 * old file or the new one, never half of one. `durable` also flushes the file before the rename
 * and the folder after it, so that once this resolves the file survives a power cut too.
 */
export async function writeAtomically(target: string, data: string | Uint8Array, options: { readonly durable?: boolean } = {}): Promise<void> {
  const temporary = temporaryBeside(target);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
  }
  if (options.durable) await syncPath(path.dirname(target));
}

/** Flushes a file, or a folder's entries, to the disk (fsync): what was written survives a power cut. */
export async function syncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
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
  // No hard links here (another mount, say): a copy.
  return placeCopy(source, target);
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
