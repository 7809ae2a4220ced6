import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside, resolveInside, type PathCheck } from './security.ts';

/** More sub-folders than this are cut off: a browser list that long helps no one. */
const MAX_LISTED = 2000;

export interface FolderListing {
  readonly path: string;
  /** The folder above, when it is still inside a root. */
  readonly parent: string | undefined;
  readonly folders: readonly { readonly name: string; readonly path: string }[];
  readonly truncated: boolean;
}

/**
 * The sub-folders of `requested` (an absolute path inside one of `roots`), hidden ones left out.
 * A listed folder that is a link pointing out of the roots is listed, but opening it is refused.
 */
export async function listFolders(requested: string, roots: readonly string[]): Promise<FolderListing | Extract<PathCheck, { ok: false }>> {
  const checked = await resolveInside(requested, roots);
  if (!checked.ok) return checked;
  const here = checked.path;
  const entries = await readdir(here, { withFileTypes: true }).catch(() => []);
  const folders: { name: string; path: string }[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(here, entry.name);
    const isFolder = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isDirectory() === true);
    if (isFolder) folders.push({ name: entry.name, path: full });
  }
  folders.sort((a, b) => a.name.localeCompare(b.name));
  const up = path.dirname(here);
  return {
    path: here,
    parent: up !== here && roots.some((root) => isInside(up, root)) ? up : undefined,
    folders: folders.slice(0, MAX_LISTED),
    truncated: folders.length > MAX_LISTED,
  };
}

/** Makes a new folder `name` (one plain name, no separators) inside `parent`, itself inside the roots. */
export async function makeFolder(parent: string, name: string, roots: readonly string[]): Promise<PathCheck> {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed === '.' || trimmed === '..' || /[/\\\0]/.test(trimmed) || trimmed.length > 200) return { ok: false, refusal: 'traversal' };
  const checked = await resolveInside(parent, roots);
  if (!checked.ok) return checked;
  const target = path.join(checked.path, trimmed);
  await mkdir(target).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  return resolveInside(target, roots);
}
