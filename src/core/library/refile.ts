import type { GalleryPerson } from '../types.ts';
import type { Person, PhotoRecord, StoredFace } from '../library-types.ts';
import { matchFaces, type MatchPolicy } from '../matcher.ts';

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
