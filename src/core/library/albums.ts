import type { AlbumEntry, AlbumExport, PhotoTags, TagsOf } from '../ports.ts';
import type { Person } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { sha256Hex } from '../hash.ts';
import { importStatuses } from '../import-status.ts';
import { findPerson, refOf, refsOf, type LibraryContext } from './context.ts';
import { peopleOf } from './filing.ts';
import { refileNear } from './refile.ts';
import { visiblePeople } from './visibility.ts';
import type {
  Actor,
  AlbumDownload,
  AlbumRequest,
  AlbumResult,
  IncomingPhoto,
  LibraryStats,
  NotThisResult,
  PersonRef,
  PersonSummary,
  SourceFilter,
} from './results.ts';

/**
 * The album asked for (a person's, or the photos showing several, within a period) as zip parts,
 * each under `maxPartBytes`; or, without a limit, its photo list. Only the snapshot (who, which
 * entries, which the asker may see) is taken inside the group's lock: the zips are built while the
 * caller sends them, so a long upload never holds up the group. Exports wait for one of the
 * process's few places (`maxConcurrentExports`), in turn.
 */
export async function album(ctx: LibraryContext, group: GroupId, request: AlbumRequest, maxPartBytes?: number, canSee?: SourceFilter): Promise<AlbumResult> {
  const snapshot = await ctx.serial(group, () => albumSnapshot(ctx, group, request, canSee));
  if (snapshot.kind !== 'snapshot') return snapshot;
  const { person, people, title, folder, entries, hidden, names } = snapshot;
  if (maxPartBytes === undefined) return { kind: 'album-photos', person, people, title, entries, ...(hidden > 0 ? { hidden } : {}) };
  const release = await ctx.exports.acquire();
  let zips: AlbumExport;
  try {
    zips = await ctx.deps.albums.export(group, folder, title, maxPartBytes, entries, tagsOf(ctx, group, names));
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
  return { kind: 'album', person, people, title, hidden, export: exported };
}

/**
 * The album asked for as one zip streamed to a download (the gallery's), with the names and dates
 * the bots' zips carry: the snapshot is taken inside the group's lock, then `write` streams it,
 * waiting for one of the process's few export places as the bots' zips do.
 */
export async function albumDownload(ctx: LibraryContext, group: GroupId, request: AlbumRequest, canSee?: SourceFilter): Promise<AlbumDownload> {
  const snapshot = await ctx.serial(group, () => albumSnapshot(ctx, group, request, canSee));
  if (snapshot.kind !== 'snapshot') return snapshot;
  const { person, people, title, folder, entries, hidden, names } = snapshot;
  return {
    kind: 'download',
    person,
    people,
    title,
    photos: entries.length,
    ...(hidden > 0 ? { hidden } : {}),
    write: async (out) => {
      const release = await ctx.exports.acquire();
      try {
        const { skipped } = await ctx.deps.albums.streamZip(group, folder, entries, out, tagsOf(ctx, group, names));
        if (skipped.length > 0)
          ctx.log.info({ group, person: person.id, skipped: skipped.length }, 'album download: photos gone since the snapshot were left out');
      } finally {
        release();
      }
    },
  };
}

type AlbumSnapshot =
  | Exclude<AlbumResult, { kind: 'album' | 'album-photos' }>
  | {
      readonly kind: 'snapshot';
      readonly person: PersonRef;
      readonly people: readonly PersonRef[];
      readonly title: string;
      readonly folder: string;
      readonly entries: AlbumEntry[];
      readonly hidden: number;
      /** Every person's name by id, for the names the zipped photos carry. */
      readonly names: ReadonlyMap<string, string>;
    };

/**
 * The tags of the zipped photos, read part by part as the zips are built: each named face's box
 * and name (unknown faces stay unnamed), and the message's date for a photo with none of its own.
 * Names are those at the snapshot; a face named since keeps the name it had then.
 */
function tagsOf(ctx: LibraryContext, group: GroupId, names: ReadonlyMap<string, string>): TagsOf {
  return async (hashes) => {
    const tags = new Map<string, PhotoTags>();
    for (const record of await ctx.deps.photos.getMany(group, hashes)) {
      const faces = record.faces.flatMap((face) => {
        const name = face.personId === undefined ? undefined : names.get(face.personId);
        return name === undefined ? [] : [{ name, box: face.box }];
      });
      tags.set(record.hash, { faces, fallbackDate: record.postedAt });
    }
    return tags;
  };
}

/**
 * Who the names mean and the entries the asker may see, as they are now: the first person's album
 * entries that the store's one query (`albumPhotos`: every person on it, posted in the period) found.
 */
async function albumSnapshot(ctx: LibraryContext, group: GroupId, request: AlbumRequest, canSee: SourceFilter | undefined): Promise<AlbumSnapshot> {
  const { albums, gallery, photos } = ctx.deps;
  const everyone = await gallery.list(group);
  const asked: Person[] = [];
  for (const name of request.people) {
    const found = request.byId ? everyone.find((p) => p.id === name) : findPerson(everyone, name);
    if (!found) return { kind: 'unknown-person', people: everyone.map((p) => p.name), name };
    if (!asked.some((p) => p.id === found.id)) asked.push(found);
  }
  const first = asked[0];
  if (!first) return { kind: 'unknown-person', people: everyone.map((p) => p.name) };
  const period = request.period;
  const album = { person: refOf(first), people: asked.map(refOf), title: `${asked.map((p) => p.name).join(' + ')}${period ? `, ${period.label}` : ''}` };
  const found = await photos.albumPhotos(group, {
    people: asked.map((p) => p.id),
    ...(period?.from !== undefined ? { from: period.from } : {}),
    ...(period?.to !== undefined ? { to: period.to } : {}),
  });
  // Where a group spans places with their own walls (Discord channels), the asker gets only the
  // photos posted where they can look, whoever else is on them; a photo with no known source is
  // kept (it came by command).
  const visible = new Set<string>();
  for (const photo of found) if (!canSee || !photo.source || (await canSee(photo.source))) visible.add(photo.hash);
  const hidden = found.length - visible.size;
  // An entry whose original is gone knows only the prefix its name carries: matched by that.
  const shown = (hash: string) => visible.has(hash) || (hash.length < 64 && [...visible].some((h) => h.startsWith(hash)));
  const entries = (await albums.list(group, first.folder)).filter((entry) => shown(entry.hash));
  if (entries.length === 0) return hidden > 0 ? { kind: 'empty', ...album, hidden } : { kind: 'empty', ...album };
  return { kind: 'snapshot', ...album, folder: first.folder, entries, hidden, names: new Map(everyone.map((p) => [p.id, p.name])) };
}

/**
 * Who is enrolled, with their sample and photo counts, by name. With `canSee`, only the people the
 * asker has a way to see, and only the photos they may see counted.
 */
export async function people(ctx: LibraryContext, group: GroupId, canSee?: SourceFilter): Promise<PersonSummary[]> {
  const [everyone, counts] = await Promise.all([ctx.deps.gallery.list(group), ctx.deps.photos.counts(group)]);
  const shown = canSee ? await visiblePeople(ctx, group, everyone, canSee) : counts.byPerson;
  return everyone
    .filter((p) => !canSee || shown.has(p.id))
    .map((p) => ({
      ...refOf(p),
      samples: p.samples.length,
      photos: shown.get(p.id) ?? 0,
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
  // From the records' totals: walking the group's files took a stat of each, for any member's /stats.
  const [counts, everyone, clusters, left, cursors] = await Promise.all([
    ctx.deps.photos.counts(group),
    ctx.deps.gallery.list(group),
    ctx.deps.settings.getClusters(group),
    ctx.deps.photos.describedOtherwise(group, ctx.embedder),
    ctx.deps.importCursors?.list(group) ?? [],
  ]);
  const importing = importStatuses(cursors);
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
    diskBytes: counts.bytes,
    ...(left.length > 0 ? { redescribing: { done: counts.photos - left.length, of: counts.photos } } : {}),
    ...(withoutSamples.length > 0 ? { withoutSamples } : {}),
    ...(importing.length > 0 ? { importing } : {}),
  };
}
