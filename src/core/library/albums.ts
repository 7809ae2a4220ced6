import type { AlbumEntry, AlbumExport } from '../ports.ts';
import type { Person } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { sha256Hex } from '../hash.ts';
import { findPerson, refOf, refsOf, type LibraryContext } from './context.ts';
import { peopleOf } from './filing.ts';
import { refileNear } from './refile.ts';
import type { Actor, AlbumResult, IncomingPhoto, LibraryStats, NotThisResult, PersonRef, PersonSummary, SourceFilter } from './results.ts';

/**
 * A person's album as zip parts, each under `maxPartBytes`; or, without a limit, its photo list.
 * Only the snapshot (who, which entries, which the asker may see) is taken inside the group's
 * lock: the zips are built while the caller sends them, so a long upload never holds up the
 * group. Exports wait for one of the process's few places (`maxConcurrentExports`), in turn.
 */
export async function album(ctx: LibraryContext, group: GroupId, name: string, maxPartBytes?: number, canSee?: SourceFilter): Promise<AlbumResult> {
  const snapshot = await ctx.serial(group, () => albumSnapshot(ctx, group, name, canSee));
  if (snapshot.kind !== 'snapshot') return snapshot;
  const { person, folder, entries, hidden } = snapshot;
  if (maxPartBytes === undefined) return { kind: 'album-photos', person, entries };
  const release = await ctx.exports.acquire();
  let zips: AlbumExport;
  try {
    zips = await ctx.deps.albums.export(group, folder, person.name, maxPartBytes, entries);
  } catch (error) {
    release();
    throw error;
  }
  const exported: AlbumExport = {
    plannedParts: zips.plannedParts,
    parts: zips.parts,
    get tooLarge() {
      return zips.tooLarge;
    },
    get skipped() {
      return zips.skipped;
    },
    dispose: async () => {
      try {
        await zips.dispose();
      } finally {
        release();
      }
      // Taken out of the album (forget, "not this") after the snapshot: rightly left out.
      if (zips.skipped.length > 0)
        ctx.log.info({ group, person: person.id, skipped: zips.skipped.length }, 'album export: photos gone since the snapshot were left out');
    },
  };
  return { kind: 'album', person, hidden, export: exported };
}

type AlbumSnapshot =
  | Exclude<AlbumResult, { kind: 'album' | 'album-photos' }>
  | { readonly kind: 'snapshot'; readonly person: PersonRef; readonly folder: string; readonly entries: AlbumEntry[]; readonly hidden: number };

/** Who the name means and the entries of their album the asker may see, as they are now. */
async function albumSnapshot(ctx: LibraryContext, group: GroupId, name: string, canSee: SourceFilter | undefined): Promise<AlbumSnapshot> {
  const { albums, gallery, photos } = ctx.deps;
  const people = await gallery.list(group);
  const person = findPerson(people, name);
  if (!person) return { kind: 'unknown-person', people: people.map((p) => p.name) };
  const ref = refOf(person);
  let entries = await albums.list(group, person.folder);
  let hidden = 0;
  if (canSee) {
    // Where a group spans places with their own walls (Discord channels), the asker gets only the
    // photos posted where they can look; a photo with no known source is kept (it came by command).
    const visible = [];
    for (const entry of entries) {
      const source = (await photos.get(group, entry.hash))?.source;
      if (!source || (await canSee(source))) visible.push(entry);
    }
    hidden = entries.length - visible.length;
    entries = visible;
  }
  if (entries.length === 0) return hidden > 0 ? { kind: 'empty', person: ref, hidden } : { kind: 'empty', person: ref };
  return { kind: 'snapshot', person: ref, folder: person.folder, entries, hidden };
}

/** Who is enrolled, with their sample and photo counts, by name. */
export async function people(ctx: LibraryContext, group: GroupId): Promise<PersonSummary[]> {
  const [everyone, counts] = await Promise.all([ctx.deps.gallery.list(group), ctx.deps.photos.counts(group)]);
  return everyone
    .map((p) => ({
      ...refOf(p),
      samples: p.samples.length,
      photos: counts.byPerson.get(p.id) ?? 0,
      ...(p.userId ? { linkedUser: p.userId } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** "This is not Anna": takes the photo out of her album for good, and re-files it. */
export async function notThis(
  ctx: LibraryContext,
  group: GroupId,
  name: string,
  photo: { hash: string } | IncomingPhoto,
  actor: Actor = { admin: false },
): Promise<NotThisResult> {
  const { gallery, photos } = ctx.deps;
  const everyone = await gallery.list(group);
  const person = findPerson(everyone, name);
  if (!person) return { kind: 'unknown-person', people: everyone.map((p) => p.name) };
  // A linked person's album is theirs: only they or an admin take photos out of it.
  if (person.userId !== undefined && person.userId !== actor.userId && !actor.admin) return { kind: 'not-allowed', person: refOf(person) };
  const hash = 'hash' in photo ? photo.hash : sha256Hex(photo.bytes);
  const record = await photos.get(group, hash);
  if (!record) return { kind: 'unknown-photo' };
  if (!peopleOf(record).includes(person.id)) return { kind: 'not-in-album', person: refOf(person) };
  const updated: Person = {
    ...person,
    rejected: [...person.rejected, hash],
    // A sample taken from this very photo was the mistake: it goes too.
    samples: person.samples.filter((s) => s.photoHash !== hash),
  };
  await gallery.save(group, updated);
  // The photo itself, and wherever the samples taken away could have decided a face.
  const removed = person.samples.filter((s) => s.photoHash === hash);
  await refileNear(ctx, group, removed, [hash]);
  const after = (await photos.get(group, hash)) ?? record;
  return { kind: 'removed', person: refOf(person), nowFiledUnder: refsOf(await gallery.list(group), peopleOf(after)) };
}

/** Totals of the group, and the disk its files take. */
export async function stats(ctx: LibraryContext, group: GroupId): Promise<LibraryStats> {
  const [counts, everyone, clusters, diskBytes, left] = await Promise.all([
    ctx.deps.photos.counts(group),
    ctx.deps.gallery.list(group),
    ctx.deps.settings.getClusters(group),
    ctx.deps.albums.diskUsage(group),
    ctx.deps.photos.describedOtherwise(group, ctx.embedder),
  ]);
  // A person whose samples are all of another embedder is still waiting for them to be re-described.
  const withoutSamples = everyone
    .filter((p) => p.samples.length === 0)
    .map((p) => p.name)
    .sort((a, b) => a.localeCompare(b));
  return {
    photos: counts.photos,
    faces: counts.faces,
    people: everyone.length,
    unknownFaces: counts.unknownFaces,
    unknownClusters: clusters?.length ?? 0,
    diskBytes,
    ...(left.length > 0 ? { redescribing: { done: counts.photos - left.length, of: counts.photos } } : {}),
    ...(withoutSamples.length > 0 ? { withoutSamples } : {}),
  };
}
