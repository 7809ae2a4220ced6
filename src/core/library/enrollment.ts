import type { Person, PhotoRecord, Sample, StoredFace } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { safeFolderName, uniqueFolderName } from '../safe-name.ts';
import { findPerson, refOf, type LibraryContext } from './context.ts';
import { ingestPhoto } from './ingest.ts';
import { cleanPersonName, confusableNames } from './names.ts';
import { filedUnder, refileNear } from './refile.ts';
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
  if (usable.length > 1 && request.face === undefined) {
    const image = await ctx.decodeStored(group, record);
    if (!image) return { kind: 'unknown-photo' };
    const sheet = await ctx.deps.renderer.contactSheet(
      usable.map(({ face }, i) => ({ image, box: face.box, label: String(i + 1) })),
      `${usable.length} faces: enroll again with the number of ${clean.name}'s face`,
    );
    return { kind: 'choose-face', hash: record.hash, faces: usable.length, sheet };
  }
  const chosen = usable[(request.face ?? 1) - 1];
  if (!chosen) return { kind: 'no-such-face', faces: usable.length };
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
    // The enrolment photo itself is counted when it was not filed under them before.
    refiled: filedUnder(changes, person.id),
  };
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
 * The usable faces of a photo, left to right: the order users number them in. Usable means with an
 * embedding by `embedder`: a photo not yet re-described after a change of embedder has none.
 */
export function numberedFaces(record: PhotoRecord, embedder: string): { face: StoredFace; index: number }[] {
  return record.faces
    .map((face, index) => ({ face, index }))
    .filter(({ face }) => face.embedding && face.embedder === embedder)
    .sort((a, b) => a.face.box.x - b.face.box.x);
}
