import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { GroupId } from '../core/index.ts';
import type { PhotoJobMeta } from './photo-jobs.ts';

/** Where a queue keeps the photos it could not file, each beside its description and why. */
export const SET_ASIDE_FOLDERS = ['dead-letter', 'quarantine'] as const;

/**
 * Deletes the photos set aside under `dir` (see `SET_ASIDE_FOLDERS`) that were posted in `group`,
 * only those posted by `postedBy` when given; returns their job ids. They were never filed, so no
 * one knows whom they show: a forget takes what its scope can reach. A photo without its
 * description cannot be tied to a group and stays.
 */
export async function deleteSetAside(dir: string, group: GroupId, postedBy?: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const folder of SET_ASIDE_FOLDERS.map((name) => path.join(dir, name))) {
    const names = await readdir(folder).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
      throw error;
    });
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const meta = await readFile(path.join(folder, name), 'utf8').then(
        (text) => JSON.parse(text) as Partial<PhotoJobMeta> | null,
        () => undefined,
      );
      if (meta?.group !== group || (postedBy !== undefined && meta.postedBy !== postedBy)) continue;
      const id = name.slice(0, -'.json'.length);
      // The description last: a forget cut short finds the rest again next time.
      for (const ext of ['.bin', '.tries', '.why.txt', '.json']) await rm(path.join(folder, `${id}${ext}`), { force: true });
      deleted.push(id);
    }
  }
  return deleted;
}
