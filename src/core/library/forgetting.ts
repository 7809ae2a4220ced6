import type { FaceRef } from '../ports.ts';
import type { ForgetScope, Person, PhotoRecord } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { beginWork, endWork } from './pending.ts';
import { findPerson, photoRef, refOf, type LibraryContext } from './context.ts';
import { peopleOf } from './filing.ts';
import type { ForgetResult } from './results.ts';

const DAY_MS = 86_400_000;
/**
 * Unknown faces this much below the threshold from one of a forgotten person's samples are erased
 * too: wide on purpose (at the default 0.93, everything from 0.85 up), twice the band in which the
 * library offers a face as "Is this Anna?" (`SUGGEST_BELOW`), since keeping a face of theirs that
 * scored 0.85-0.89 is the harm. Narrowing the band would leave those behind, so it stays wide; what
 * spares the strangers is `lookalikeFaces`: a face in the band goes unless it is clearly closer to
 * someone else enrolled.
 */
const ERASE_BELOW_THRESHOLD = 0.08;

/**
 * Forgets a person: their samples, the link to their account, their album and every face
 * embedding of theirs, as far as `scope` says (see `ForgetScope`). The store is compacted
 * afterwards (on SQLite the bytes are then gone from disk; README, "What the bot stores").
 */
export async function forget(ctx: LibraryContext, group: GroupId, who: { name: string } | { userId: string }, scope: ForgetScope): Promise<ForgetResult> {
  const people = await ctx.deps.gallery.list(group);
  const person = 'name' in who ? findPerson(people, who.name) : people.find((p) => p.userId === who.userId);
  if (!person) return 'name' in who ? { kind: 'unknown-person', people: people.map((p) => p.name) } : { kind: 'not-enrolled' };
  await beginWork(ctx, group, { forget: person.id, forgetScope: scope }, { forgottenAt: ctx.now().toISOString() });
  const { photosDeleted, facesErased } = await forgetPerson(ctx, group, person, scope);
  await endWork(ctx, group, 'forget');
  return { kind: 'forgotten', person: refOf(person), scope, photosDeleted, facesErased, ...(person.userId !== undefined ? { userId: person.userId } : {}) };
}

/**
 * The steps of forgetting, each safe to run again: faces and photos first, the album, and the
 * person's own record (with their samples) last, so that a run killed in the middle still has all
 * it needs to finish at the next start.
 */
export async function forgetPerson(
  ctx: LibraryContext,
  group: GroupId,
  person: Person,
  scope: ForgetScope,
): Promise<{ photosDeleted: number; facesErased: number }> {
  const { albums, gallery, photos, settings } = ctx.deps;
  let facesErased = 0;
  // Their records are read while the look-alikes are searched for: the search is the similarity
  // kernel's work (onnxruntime's threads), the reading the database's (at 100k photos, 0.4 s and
  // 0.25 s of a forget, one after the other until now).
  const readTheirs = async () => {
    const theirs = new Set(await photos.filedUnder(group, person.id));
    // The photos they posted, when they asked for those to go too: deleted whoever they show.
    const posted = scope === 'self-and-posts' && person.userId !== undefined ? (await photos.list(group)).filter((r) => r.postedBy === person.userId) : [];
    const postedHashes = new Set(posted.map((r) => r.hash));
    const records = await photos.getMany(
      group,
      [...theirs].filter((hash) => !postedHashes.has(hash)),
    );
    return { theirs, posted, postedHashes, records };
  };
  const [lookalikes, { theirs, posted, postedHashes, records }] = await Promise.all([
    scope === 'everything' ? lookalikeFaces(ctx, group, person) : [],
    readTheirs(),
  ]);
  const looksLikeThem = new Set(lookalikes.map((f) => `${f.photoHash}/${f.faceIndex}`));
  // Look-alike faces in photos that are not theirs: erased where they are stored, without reading
  // or rewriting those records.
  const elsewhere = lookalikes.filter((f) => !theirs.has(f.photoHash) && !postedHashes.has(f.photoHash));
  // Their own photos: a photo no one else is named in goes whole (when forgetting everything);
  // in the others the faces that are theirs are erased, with the look-alikes elsewhere.
  const deleted: PhotoRecord[] = [...posted];
  const erasing: FaceRef[] = elsewhere.map((f) => ({ photoHash: f.photoHash, faceIndex: f.faceIndex }));
  // The photos whose faces the archiver may have cached, and the gallery cropped, theirs among them.
  const derived = [...new Set(elsewhere.map((f) => f.photoHash))];
  facesErased += erasing.length;
  for (const record of records) {
    const wasTheirs = peopleOf(record).includes(person.id);
    const hers = record.faces.flatMap((face, faceIndex) =>
      face.personId === person.id || (!face.personId && looksLikeThem.has(`${record.hash}/${faceIndex}`)) ? [faceIndex] : [],
    );
    if (hers.length === 0) continue;
    derived.push(record.hash);
    const others = peopleOf({ faces: record.faces.filter((_, faceIndex) => !hers.includes(faceIndex)) });
    if (scope === 'everything' && wasTheirs && others.length === 0) deleted.push(record);
    else erasing.push(...hers.map((faceIndex) => ({ photoHash: record.hash, faceIndex })));
    facesErased += hers.length;
  }
  if (posted.length > 0) {
    const folders = new Map((await gallery.list(group)).map((p) => [p.id, p.folder]));
    for (const record of posted) {
      // Out of every other album that holds it: the original goes with the records below.
      for (const folder of peopleOf(record).flatMap((id) => folders.get(id) ?? [])) await albums.unlink(group, folder, photoRef(record));
      facesErased += record.faces.filter((f) => f.embedding !== undefined).length;
      derived.push(record.hash);
    }
  }
  await forgetDerived(ctx, group, derived);
  // The photos and the faces as one change (at 100k photos, tens of thousands of faces; one sync
  // to disk): until it commits each photo is still theirs, so a run killed before finds them
  // again. Then the originals no record names.
  if (deleted.length > 0 || erasing.length > 0) await photos.writeMany(group, { delete: deleted.map((r) => r.hash), erase: erasing });
  for (const record of deleted) await albums.deleteOriginal(group, photoRef(record));
  const photosDeleted = deleted.length;
  await albums.removeAlbum(group, person.folder);
  await settings.saveClusters(group, []);
  // Here rather than after: a forget finished at the next start scrubs the log too.
  await ctx.deps.audit?.scrub(group, { name: person.name, ...(person.userId !== undefined ? { userId: person.userId } : {}) });
  await gallery.delete(group, person.id);
  await ctx.deps.compact?.();
  ctx.log.info({ group, person: person.id, photosDeleted, facesErased }, 'person forgotten');
  return { photosDeleted, facesErased };
}

/**
 * The unknown faces close enough to the person's samples to be taken for them: within
 * `ERASE_BELOW_THRESHOLD` of the threshold, and not closer to another enrolled person's samples by
 * more than the match margin. In a real group most strangers' faces come within 0.08 of anyone's
 * samples; a face that looks more like Ben than like Anna is Ben's or a stranger's by the matcher's
 * own reckoning, and forgetting Anna left every such face gone (the group's unknown faces, which
 * `/unknown` offers to name, emptied by one forget; at 100k photos, 112k faces erased). A face of
 * hers that scored low looks like her more than like anyone else, and goes. Each embedder's
 * samples against that embedder's faces: midway through a re-description after a change of
 * embedder, faces of the old one that look like them are found too.
 */
async function lookalikeFaces(ctx: LibraryContext, group: GroupId, person: Person) {
  const eraseFrom = (await ctx.settingsOf(group)).threshold - ERASE_BELOW_THRESHOLD;
  const others = (await ctx.deps.gallery.list(group)).filter((p) => p.id !== person.id);
  const lookalikes = [];
  for (const embedder of new Set(person.samples.flatMap((s) => (s.embedder === undefined ? [] : [s.embedder])))) {
    const owners: number[] = [];
    const probes = [person, ...others].flatMap((p, owner) => p.samples.flatMap((s) => (s.embedder === embedder ? [(owners.push(owner), s.embedding)] : [])));
    const claim = { owner: 0, from: eraseFrom, margin: ctx.deps.defaults.margin };
    lookalikes.push(...(await ctx.deps.photos.claimed(group, probes, owners, claim, embedder)).filter((f) => f.personId === undefined));
  }
  return lookalikes;
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

/** What was made from these photos' faces: the archiver's cached faces, the gallery's previews. */
async function forgetDerived(ctx: LibraryContext, group: GroupId, hashes: readonly string[]): Promise<void> {
  await ctx.deps.faceCache?.delete(hashes);
  await ctx.deps.albums.deletePreviews(group, hashes);
}
