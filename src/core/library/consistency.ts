import type { RepairReport } from '../ports.ts';
import type { Person, PhotoRecord } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import type { LibraryContext } from './context.ts';
import { peopleOf } from './filing.ts';

/**
 * Brings every group's files in line with its records after an interrupted run (see
 * `AlbumStore.repair`), each group inside its own lock; records whose original is gone are
 * dropped and reported.
 */
export async function checkConsistency(ctx: LibraryContext): Promise<Map<GroupId, RepairReport>> {
  const reports = new Map<GroupId, RepairReport>();
  for (const group of await ctx.deps.albums.groups()) reports.set(group, await ctx.serial(group, () => repairGroup(ctx, group)));
  return reports;
}

async function repairGroup(ctx: LibraryContext, group: GroupId): Promise<RepairReport> {
  const { albums, gallery, photos } = ctx.deps;
  const [records, people] = await Promise.all([photos.list(group), gallery.list(group)]);
  const report = await albums.repair(group, records, albumsOf(records, people));
  for (const hash of report.recordsWithoutOriginal) await photos.delete(group, hash);
  if (report.recordsWithoutOriginal.length > 0)
    ctx.log.error({ group, hashes: report.recordsWithoutOriginal }, 'photo records without their original were dropped');
  return report;
}

/** Which photo hashes belong in which album folder, from the records' face assignments. */
export function albumsOf(records: readonly PhotoRecord[], people: readonly Person[]): Map<string, string[]> {
  const albums = new Map<string, string[]>(people.map((p) => [p.folder, []]));
  for (const record of records) {
    for (const id of peopleOf(record)) {
      const folder = people.find((p) => p.id === id)?.folder;
      if (folder) albums.get(folder)?.push(record.hash);
    }
  }
  return albums;
}
