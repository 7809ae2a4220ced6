import type { GroupId } from '../group-id.ts';
import type { Person } from '../records.ts';
import type { LibraryContext } from './context.ts';
import type { SourceFilter } from './results.ts';

/** Records read at a time: a big group's photos never all in memory at once. */
const CHUNK = 500;

/**
 * Where one group spans places with walls of their own (Discord channels under one server), which
 * photos the asker may see: those posted where they can look, and those with no known source (they
 * came by command), as an album does. Each photo is read once however often it is asked about.
 */
export function photoVisibility(ctx: LibraryContext, group: GroupId, canSee: SourceFilter): (hashes: Iterable<string>) => Promise<Set<string>> {
  const known = new Map<string, boolean>();
  return async (hashes) => {
    const wanted = [...new Set(hashes)];
    const unread = wanted.filter((hash) => !known.has(hash));
    for (let i = 0; i < unread.length; i += CHUNK) {
      const chunk = unread.slice(i, i + CHUNK);
      const sources = new Map((await ctx.deps.photos.getMany(group, chunk)).map((record) => [record.hash, record.source]));
      for (const hash of chunk) {
        const source = sources.get(hash);
        known.set(hash, source === undefined || (await canSee(source)));
      }
    }
    return new Set(wanted.filter((hash) => known.get(hash)));
  };
}

/**
 * The people the asker may know of, each with how many photos of their album the asker may see: a
 * person shows when a photo of their album or of their samples is visible, or a sample came from
 * no group photo. Someone seen only behind walls the asker cannot pass is not shown.
 */
export async function visiblePeople(ctx: LibraryContext, group: GroupId, people: readonly Person[], canSee: SourceFilter): Promise<Map<string, number>> {
  const visible = photoVisibility(ctx, group, canSee);
  const shown = new Map<string, number>();
  for (const person of people) {
    const album = await visible(await ctx.deps.photos.filedUnder(group, person.id));
    const fromSamples = person.samples.some((s) => s.photoHash === undefined) || (await visible(person.samples.flatMap((s) => s.photoHash ?? []))).size > 0;
    if (album.size > 0 || fromSamples) shown.set(person.id, album.size);
  }
  return shown;
}
