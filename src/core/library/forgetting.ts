import type { Person, PhotoRecord } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { beginWork, endWork } from './pending.ts';
import { findPerson, photoRef, refOf, type LibraryContext } from './context.ts';
import { peopleOf } from './filing.ts';
import type { ForgetResult } from './results.ts';

const DAY_MS = 86_400_000;
/**
 * Unknown faces this much below the threshold from a forgotten person's samples are erased too:
 * wide on purpose, since erasing a stranger's unknown face costs little and keeping theirs is the
 * harm (at the default 0.93, everything from 0.85 up).
 */
const ERASE_BELOW_THRESHOLD = 0.08;

/**
 * Forgets a person: their samples, the link to their account, their album, every face
 * embedding of theirs (named ones, and unknown ones close to their samples), and the photos no
 * one else's album holds. The store is compacted afterwards so the bytes are gone from disk.
 */
export async function forget(ctx: LibraryContext, group: GroupId, who: { name: string } | { userId: string }): Promise<ForgetResult> {
  const people = await ctx.deps.gallery.list(group);
  const person = 'name' in who ? findPerson(people, who.name) : people.find((p) => p.userId === who.userId);
  if (!person) return 'name' in who ? { kind: 'unknown-person', people: people.map((p) => p.name) } : { kind: 'not-enrolled' };
  await beginWork(ctx, group, { forget: person.id });
  const { photosDeleted, facesErased } = await forgetPerson(ctx, group, person);
  await endWork(ctx, group, 'forget');
  return { kind: 'forgotten', person: refOf(person), photosDeleted, facesErased, ...(person.userId !== undefined ? { userId: person.userId } : {}) };
}

/**
 * The steps of forgetting, each safe to run again: faces and photos first, the album, and the
 * person's own record (with their samples) last, so that a run killed in the middle still has all
 * it needs to finish at the next start.
 */
export async function forgetPerson(ctx: LibraryContext, group: GroupId, person: Person): Promise<{ photosDeleted: number; facesErased: number }> {
  const { albums, gallery, photos, settings } = ctx.deps;
  const { threshold } = await ctx.settingsOf(group);
  // Unknown faces this close to the person's samples are taken to be them, and erased too.
  const eraseFrom = threshold - ERASE_BELOW_THRESHOLD;
  let facesErased = 0;
  // Their album, and the photos with an unknown face close enough to be them: nothing else can hold them.
  // Each embedder's samples against that embedder's faces: midway through a re-description after
  // a change of embedder, faces of the old one that look like them are erased too.
  const lookalikes = [];
  for (const embedder of new Set(person.samples.flatMap((s) => (s.embedder === undefined ? [] : [s.embedder])))) {
    const probes = person.samples.filter((s) => s.embedder === embedder).map((s) => s.embedding);
    lookalikes.push(...(await photos.near(group, probes, eraseFrom, embedder)).filter((f) => f.personId === undefined));
  }
  const looksLikeThem = new Set(lookalikes.map((f) => `${f.photoHash}/${f.faceIndex}`));
  const scope = new Set([...(await photos.filedUnder(group, person.id)), ...lookalikes.map((f) => f.photoHash)]);
  const kept: PhotoRecord[] = [],
    deleted: PhotoRecord[] = [];
  for (const record of await photos.getMany(group, [...scope])) {
    const wasTheirs = peopleOf(record).includes(person.id);
    const faces = record.faces.filter((face, faceIndex) => {
      const theirs = face.personId === person.id || (!face.personId && looksLikeThem.has(`${record.hash}/${faceIndex}`));
      if (theirs) facesErased++;
      return !theirs;
    });
    if (faces.length === record.faces.length) continue;
    // The archiver may have cached this photo's faces, theirs among them.
    await ctx.deps.faceCache?.delete(record.hash);
    if (wasTheirs && peopleOf({ faces }).length === 0) deleted.push(record);
    else kept.push({ ...record, faces });
  }
  // The records as one change; then the originals no record names any more.
  await photos.writeMany(group, { save: kept, delete: deleted.map((r) => r.hash) });
  for (const record of deleted) await albums.deleteOriginal(group, photoRef(record));
  const photosDeleted = deleted.length;
  await albums.removeAlbum(group, person.folder);
  await settings.saveClusters(group, []);
  await gallery.delete(group, person.id);
  await ctx.deps.compact?.();
  ctx.log.info({ group, person: person.id, photosDeleted, facesErased }, 'person forgotten');
  return { photosDeleted, facesErased };
}

/**
 * Erases the embeddings of unknown faces older than the retention period, in every group (each
 * inside its own lock); returns how many.
 */
export async function expireUnknownFaces(ctx: LibraryContext): Promise<number> {
  const cutoff = new Date(ctx.now().getTime() - ctx.deps.defaults.unknownRetentionDays * DAY_MS).toISOString();
  let erased = 0;
  for (const group of await ctx.deps.albums.groups()) erased += await ctx.serial(group, () => expireInGroup(ctx, group, cutoff));
  if (erased > 0) await ctx.deps.compact?.();
  return erased;
}

function expireInGroup(ctx: LibraryContext, group: GroupId, cutoff: string): Promise<number> {
  return ctx.deps.photos.eraseUnknownEmbeddings(group, cutoff);
}
