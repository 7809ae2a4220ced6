import { stat } from 'node:fs/promises';
import path from 'node:path';
import { listPhotos, readCapped } from '../files/index.ts';
import type { ImportItem } from './import-photos.ts';

/**
 * The photos below a folder (a shared drive, an old phone's pictures) as import items. A photo's
 * date is its EXIF capture date when it has one (the library reads it while decoding and prefers
 * it), else the file's modification time, which copying usually keeps.
 */
export async function folderItems(root: string): Promise<ImportItem[]> {
  const items: ImportItem[] = [];
  for (const file of await listPhotos(root)) {
    const modified = await stat(file).then(
      (info) => info.mtime,
      () => undefined,
    );
    if (!modified) continue;
    const relative = path.relative(root, file).split(path.sep).join('/');
    items.push({
      name: relative,
      postedAt: modified,
      source: { importedFrom: 'folder', file: relative },
      read: async (maxBytes) => {
        try {
          return await readCapped(file, maxBytes);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
          throw error;
        }
      },
      // `listPhotos` lists plain files only, never links.
      locate: () => Promise.resolve(file),
    });
  }
  return items;
}
