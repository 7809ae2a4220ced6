import type { GroupId, Person, PhotoRecord, Sample, StoredFace } from '../library-types.ts';
import { safeFolderName, uniqueFolderName } from '../safe-name.ts';
import { findPerson, refOf, type LibraryContext } from './context.ts';
import { ingestPhoto } from './ingest.ts';
import { cleanPersonName } from './names.ts';
import { filedUnder, refileGroup } from './refile.ts';
import type { EnrollRequest, EnrollResult } from './results.ts';

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
  const usable = numberedFaces(record);
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
  const added = await addSamples(ctx, group, clean.name, [ctx.sample(chosen.face.embedding!, record.hash, request.by)], request.userId);
  if (added.kind !== 'added') return added;
  const { person, isNew } = added;
  const changes = await refileGroup(ctx, group);
  return {
    kind: 'enrolled',
    person: refOf(person),
    newPerson: isNew,
    samples: person.samples.length,
    // The enrolment photo itself is counted when it was not filed under them before.
    refiled: filedUnder(changes, person.id),
  };
}

/** Creates or extends a person; a user id already linked to someone else is refused. */
export async function addSamples(
  ctx: LibraryContext,
  group: GroupId,
  name: string,
  samples: readonly Sample[],
  userId: string | undefined,
): Promise<{ kind: 'added'; person: Person; isNew: boolean } | Extract<EnrollResult, { kind: 'user-linked-elsewhere' }>> {
  const people = await ctx.deps.gallery.list(group);
  const existing = findPerson(people, name);
  if (userId !== undefined) {
    const linked = people.find((p) => p.userId === userId);
    if ((linked && linked !== existing) || (existing?.userId !== undefined && existing.userId !== userId)) {
      return { kind: 'user-linked-elsewhere', person: refOf(linked ?? existing!) };
    }
  }
  const person: Person = existing
    ? { ...existing, samples: [...existing.samples, ...samples], ...(userId !== undefined ? { userId } : {}) }
    : {
        id: globalThis.crypto.randomUUID(),
        name,
        folder: uniqueFolderName(safeFolderName(name), new Set(people.map((p) => p.folder))),
        samples,
        rejected: [],
        createdAt: ctx.now().toISOString(),
        ...(userId !== undefined ? { userId } : {}),
      };
  await ctx.deps.gallery.save(group, person);
  return { kind: 'added', person, isNew: !existing };
}

/** The usable faces of a photo, left to right: the order users number them in. */
export function numberedFaces(record: PhotoRecord): { face: StoredFace; index: number }[] {
  return record.faces
    .map((face, index) => ({ face, index }))
    .filter(({ face }) => face.embedding)
    .sort((a, b) => a.face.box.x - b.face.box.x);
}
