import type { GalleryPerson } from '../types.ts';
import type { GroupId, Person, PhotoRecord, StoredFace } from '../library-types.ts';
import { matchFaces, type MatchPolicy } from '../matcher.ts';
import { photoRef, type LibraryContext } from './context.ts';

/** The matcher's view of an enrolled person. */
export function toGalleryPerson(person: Person): GalleryPerson {
  return { id: person.id, name: person.name, samples: person.samples.map((s) => s.embedding) };
}

/**
 * Names a photo's faces against the gallery, leaving out anyone who was told this photo is not
 * them. Faces whose embedding was removed keep no name.
 */
export function assignFaces(
  faces: readonly StoredFace[],
  people: readonly Person[],
  photoHash: string,
  policy: MatchPolicy,
): (string | undefined)[] {
  const gallery = people.filter((p) => !p.rejected.includes(photoHash)).map(toGalleryPerson);
  return matchFaces(faces, gallery, policy).map((m) => (m.kind === 'person' ? m.personId : undefined));
}

/** The people whose album holds a photo: those named on one of its faces. */
export function peopleOf(record: Pick<PhotoRecord, 'faces'>): string[] {
  const ids: string[] = [];
  for (const face of record.faces) if (face.personId && !ids.includes(face.personId)) ids.push(face.personId);
  return ids;
}

export interface RefileChange {
  readonly before: PhotoRecord;
  readonly after: PhotoRecord;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** What re-matching every stored face would change, photo by photo (nothing is written). */
export function planRefile(records: readonly PhotoRecord[], people: readonly Person[], policy: MatchPolicy): RefileChange[] {
  const changes: RefileChange[] = [];
  for (const record of records) {
    const assigned = assignFaces(record.faces, people, record.hash, policy);
    if (assigned.every((id, i) => id === record.faces[i]!.personId)) continue;
    const after: PhotoRecord = {
      ...record,
      faces: record.faces.map((face, i) => withPerson(face, assigned[i])),
    };
    const was = peopleOf(record), now = peopleOf(after);
    changes.push({ before: record, after, added: now.filter((id) => !was.includes(id)), removed: was.filter((id) => !now.includes(id)) });
  }
  return changes;
}

export function withPerson(face: StoredFace, personId: string | undefined): StoredFace {
  const { personId: _old, ...rest } = face;
  return personId ? { ...rest, personId } : rest;
}

/** Re-matches every stored face and moves the album links that change; returns the changes. */
export async function refileGroup(ctx: LibraryContext, group: GroupId, policy?: MatchPolicy): Promise<RefileChange[]> {
  const { gallery, photos, albums, defaults } = ctx.deps;
  const effective = policy ?? { threshold: (await ctx.settingsOf(group)).threshold, margin: defaults.margin };
  const [people, records] = await Promise.all([gallery.list(group), photos.list(group)]);
  const changes = planRefile(records, people, effective);
  const folderOf = (id: string) => people.find((p) => p.id === id)?.folder;
  for (const change of changes) {
    const ref = photoRef(change.after);
    // Linked before the record says so, unlinked after: a crash in between leaves an extra link
    // that the consistency check removes, never a record pointing at a missing file.
    for (const id of change.added) await albums.link(group, folderOf(id)!, ref);
    await photos.save(group, change.after);
    for (const id of change.removed) {
      const folder = folderOf(id);
      if (folder) await albums.unlink(group, folder, ref);
    }
  }
  if (changes.length > 0) ctx.log.info({ group, changed: changes.length, threshold: effective.threshold }, 'photos re-filed');
  return changes;
}

/** How many photos changed, and how many album entries were added and removed. */
export function countChanges(changes: readonly RefileChange[]): { photosChanged: number; filed: number; unfiled: number } {
  return {
    photosChanged: changes.length,
    filed: changes.reduce((n, c) => n + c.added.length, 0),
    unfiled: changes.reduce((n, c) => n + c.removed.length, 0),
  };
}

/** How many photos the changes filed under `personId` that were not filed under them before. */
export function filedUnder(changes: readonly RefileChange[], personId: string): number {
  return changes.filter((c) => c.added.includes(personId)).length;
}
