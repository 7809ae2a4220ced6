import type { Embedding } from '../faces.ts';
import type { Person, PhotoRecord, Sample, StoredFace } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { safeFolderName, uniqueFolderName } from '../safe-name.ts';
import { findPerson, refOf, type LibraryContext } from './context.ts';
import { ingestPhoto } from './ingest.ts';
import { cleanPersonName, confusableNames } from './names.ts';
import { filedUnder, refileNear } from './refile.ts';
import { toGalleryPerson } from './filing.ts';
import { scorePeople } from '../matcher.ts';
import { likelyFace } from '../likely-face.ts';
import { adviseSample, faceSharpness, type SampleAdvice } from '../sample-advice.ts';
import type { Actor, EnrollRequest, EnrollResult } from './results.ts';

/**
 * Adds a face sample for a person (creating them), then re-files the group's earlier photos that
 * now show them. A photo with several faces is never guessed from: the answer is a numbered
 * contact sheet, and the caller asks again with `face`.
 */
export async function enroll(ctx: LibraryContext, group: GroupId, request: EnrollRequest): Promise<EnrollResult> {
  const clean = cleanPersonName(request.name);
  if (!clean.ok) return { kind: 'invalid-name', reason: clean.reason };
  let record: PhotoRecord | undefined;
  if ('bytes' in request.photo) {
    const ingested = await ingestPhoto(ctx, group, request.photo);
    if (ingested.result.kind === 'undecodable') return { kind: 'undecodable', reason: ingested.result.reason };
    record = ingested.record;
  } else {
    record = await ctx.deps.photos.get(group, request.photo.hash);
  }
  if (!record) return { kind: 'unknown-photo' };
  const usable = numberedFaces(record, ctx.embedder);
  if (usable.length === 0) {
    const unusable = record.faces.find((f) => f.unusable)?.unusable;
    return { kind: 'no-usable-face', reason: unusable ?? 'no-face' };
  }
  const people = await ctx.deps.gallery.list(group);
  const target = request.userId !== undefined ? people.find((p) => p.userId === request.userId) : findPerson(people, clean.name);
  const asked = request.face;
  let number =
    typeof asked === 'number' ? asked : typeof asked === 'object' ? usable.findIndex(({ index }) => index === asked.index) + 1 || usable.length + 1 : undefined;
  if (usable.length > 1 && number === undefined) {
    const samples = target ? toGalleryPerson(target, ctx.embedder).samples : [];
    const own = samples.length > 0 || !request.alongside?.length ? samples : await facesOf(ctx, group, request.alongside);
    const { threshold } = await ctx.settingsOf(group);
    const found = likelyFace(
      usable.map(({ face }) => ({ box: face.box, embedding: face.embedding! })),
      own,
      { threshold, margin: ctx.deps.defaults.margin },
    );
    const likely = found ? found.index + 1 : undefined;
    if (request.face === 'likely' && likely !== undefined) number = likely;
    else {
      const image = await ctx.decodeStored(group, record);
      if (!image) return { kind: 'unknown-photo' };
      const sheet = await ctx.deps.renderer.contactSheet(
        usable.map(({ face }, i) => ({ image, box: face.box, label: String(i + 1) })),
        `${usable.length} faces: enroll again with the number of ${clean.name}'s face${likely !== undefined ? ` (probably ${likely})` : ''}`,
      );
      return { kind: 'choose-face', hash: record.hash, faces: usable.length, sheet, ...(likely !== undefined ? { likely } : {}) };
    }
  }
  const chosen = usable[(number ?? 1) - 1];
  if (!chosen) return { kind: 'no-such-face', faces: usable.length };
  if (target?.samples.some((s) => s.photoHash === record.hash)) return { kind: 'already-a-sample', person: refOf(target), samples: target.samples.length };
  // A member's request (tools and imports name no one: theirs is the owner's word).
  if (request.by !== undefined && !request.byAdmin) {
    const other = await whoElseItIs(ctx, group, chosen.face, clean.name, request);
    if (other) return { kind: 'someone-else', person: refOf(other) };
  }
  const advice = await adviceOn(ctx, group, record, chosen.face, target, people);
  const sample = ctx.sample(chosen.face.embedding!, record.hash, request.by);
  const added = await addSamples(ctx, group, clean.name, [sample], {
    ...(request.userId !== undefined ? { me: request.userId } : {}),
    actor: { ...(request.by !== undefined ? { userId: request.by } : {}), admin: request.byAdmin ?? false },
  });
  if (added.kind !== 'added') return added;
  const { person, isNew } = added;
  // Only the photos the new sample could move: near it, and the enrolment photo itself.
  const changes = await refileNear(ctx, group, [sample], [record.hash]);
  return {
    kind: 'enrolled',
    person: refOf(person),
    newPerson: isNew,
    samples: person.samples.length,
    advice,
    // Earlier photos only: the photo the sample came from is filed under them too, but telling the
    // user "Filed 1 earlier photo" for the photo they just sent counts their own sample back to them.
    refiled: filedUnder(
      changes.filter((c) => c.after.hash !== record.hash),
      person.id,
    ),
  };
}

/** The usable faces of the group's photos `hashes` (by the engine's embedder), to compare with. */
async function facesOf(ctx: LibraryContext, group: GroupId, hashes: readonly string[]): Promise<Embedding[]> {
  return (await ctx.deps.photos.getMany(group, hashes)).flatMap((record) => numberedFaces(record, ctx.embedder).map(({ face }) => face.embedding!));
}

/** What the enrolling user should hear about the new sample (small, blurred, unlike their others, like someone else). */
async function adviceOn(
  ctx: LibraryContext,
  group: GroupId,
  record: PhotoRecord,
  face: StoredFace,
  target: Person | undefined,
  people: readonly Person[],
): Promise<SampleAdvice[]> {
  const { threshold } = await ctx.settingsOf(group);
  const image = await ctx.decodeStored(group, record);
  return adviseSample({
    face: { eyeDistance: face.eyeDistance, embedding: face.embedding! },
    ...(image ? { sharpness: faceSharpness(image, face.box) } : {}),
    own: target ? toGalleryPerson(target, ctx.embedder).samples : [],
    others: people.filter((p) => p.id !== target?.id).map((p) => toGalleryPerson(p, ctx.embedder)),
    threshold,
    margin: ctx.deps.defaults.margin,
  });
}

type AddRefusal = Extract<EnrollResult, { kind: 'name-taken' | 'not-allowed' | 'confusable-name' }>;

/**
 * Creates or extends a person, by the rules that keep people from taking each other over:
 * - `me` (a user id, "this is me") extends the person linked to that user, or creates one under
 *   `name`; it never attaches the user to someone already enrolled (`name-taken`);
 * - a person linked to a member gains samples only from that member or an admin (`not-allowed`);
 * - a new name that looks like an existing one is refused (`confusable-name`).
 */
export async function addSamples(
  ctx: LibraryContext,
  group: GroupId,
  name: string,
  samples: readonly Sample[],
  who: { readonly me?: string; readonly actor: Actor },
): Promise<{ kind: 'added'; person: Person; isNew: boolean } | AddRefusal> {
  const people = await ctx.deps.gallery.list(group);
  const linked = who.me === undefined ? undefined : people.find((p) => p.userId === who.me);
  const named = findPerson(people, name);
  let existing: Person | undefined;
  if (who.me !== undefined) {
    if (!linked && named) return { kind: 'name-taken', person: refOf(named) };
    existing = linked;
  } else {
    existing = named;
    if (existing?.userId !== undefined && existing.userId !== who.actor.userId && !who.actor.admin) return { kind: 'not-allowed', person: refOf(existing) };
  }
  if (!existing) {
    const lookalike = people.find((p) => confusableNames(p.name, name));
    if (lookalike) return { kind: 'confusable-name', person: refOf(lookalike) };
  }
  const person: Person = existing
    ? { ...existing, samples: [...existing.samples, ...samples] }
    : {
        id: globalThis.crypto.randomUUID(),
        name,
        folder: uniqueFolderName(safeFolderName(name), new Set(people.map((p) => p.folder))),
        samples,
        rejected: [],
        createdAt: ctx.now().toISOString(),
        ...(who.me !== undefined ? { userId: who.me } : {}),
      };
  await ctx.deps.gallery.save(group, person);
  return { kind: 'added', person, isNew: !existing };
}

/**
 * Another person this face already is (named on it), or would be taken for: at the group's
 * threshold, or close enough under it that a sample would make their photos ambiguous or move them.
 * Such a face becomes someone's sample only by an admin or by that person, so that a member cannot
 * take over someone else's photos (and then erase them with /forget me).
 */
async function whoElseItIs(ctx: LibraryContext, group: GroupId, face: StoredFace, name: string, request: EnrollRequest): Promise<Person | undefined> {
  const people = await ctx.deps.gallery.list(group);
  const target = request.userId !== undefined ? people.find((p) => p.userId === request.userId) : findPerson(people, name);
  const others = people.filter((p) => p.id !== target?.id && (p.userId === undefined || p.userId !== request.by));
  const named = others.find((p) => p.id === face.personId);
  if (named) return named;
  const { threshold } = await ctx.settingsOf(group);
  const [best] = scorePeople(
    face.embedding!,
    others.map((p) => toGalleryPerson(p, ctx.embedder)),
  );
  return best && best.similarity >= threshold - ctx.deps.defaults.margin ? others.find((p) => p.id === best.personId) : undefined;
}

/**
 * The usable faces of a photo, left to right: the order users number them in. Usable means with an
 * embedding by `embedder`: a photo not yet re-described after a change of embedder has none.
 */
export function numberedFaces(record: PhotoRecord, embedder: string): { face: StoredFace; index: number }[] {
  return record.faces
    .map((face, index) => ({ face, index }))
    .filter(({ face }) => face.embedding && face.embedder === embedder)
    .sort((a, b) => a.face.box.x - b.face.box.x);
}
