import type { GalleryPerson } from '../faces.ts';
import type { Person, PhotoRecord, StoredFace } from '../records.ts';
import { matchScored, scoreFaces, type MatchPolicy, type PersonScore } from '../matcher.ts';

// Filing: which enrolled person each face of a photo is, by the group's rules. A new photo is filed
// with these (ingest.ts), and so is every photo a change re-decides (refile.ts).

/** The matcher's view of an enrolled person: their samples by `embedder` only. */
export function toGalleryPerson(person: Person, embedder: string): GalleryPerson {
  return { id: person.id, name: person.name, samples: person.samples.flatMap((s) => (s.embedder === embedder ? [s.embedding] : [])) };
}

/**
 * Everyone as the matcher sees them, built once when many photos are decided: a re-file at 100k
 * photos decides thousands, and building the gallery again for each was a third of its time.
 */
export interface PreparedGallery {
  readonly people: readonly Person[];
  readonly gallery: readonly GalleryPerson[];
  readonly anyRejected: boolean;
}

export function prepareGallery(people: readonly Person[], embedder: string): PreparedGallery {
  return { people, gallery: people.map((p) => toGalleryPerson(p, embedder)), anyRejected: people.some((p) => p.rejected.length > 0) };
}

/** Who decides a photo's faces: the threshold and margin, and the embedder whose embeddings count. */
export interface MatchRules extends MatchPolicy {
  readonly embedder: string;
}

/**
 * Names a photo's faces against the gallery, leaving out anyone who was told this photo is not
 * them. Faces whose embedding was removed keep no name; faces described by another embedder keep
 * the name they have until they are re-described (they cannot be compared meanwhile).
 */
export function assignFaces(
  faces: readonly StoredFace[],
  people: readonly Person[],
  photoHash: string,
  rules: MatchRules,
  prepared = prepareGallery(people, rules.embedder),
): (string | undefined)[] {
  return assignScored(faces, people, photoHash, rules, prepared).assigned;
}

/**
 * `assignFaces`, with every face's scores from the same pass (best first; undefined for a face
 * without a comparable embedding): a new photo's answer shows them without scoring the gallery again.
 */
export function assignScored(
  faces: readonly StoredFace[],
  people: readonly Person[],
  photoHash: string,
  rules: MatchRules,
  prepared = prepareGallery(people, rules.embedder),
): { assigned: (string | undefined)[]; scores: (PersonScore[] | undefined)[] } {
  const gallery = prepared.anyRejected ? prepared.gallery.filter((_, i) => !prepared.people[i]!.rejected.includes(photoHash)) : prepared.gallery;
  const stale = faces.map((f) => f.embedding !== undefined && f.embedder !== rules.embedder);
  const comparable = faces.map((f, i) => (stale[i] ? withoutEmbedding(f) : f));
  const scores = scoreFaces(comparable, gallery);
  const matched = matchScored(comparable, scores, rules);
  return { assigned: matched.map((m, i) => (stale[i] ? faces[i]!.personId : m.kind === 'person' ? m.personId : undefined)), scores };
}

/** The people whose album holds a photo: those named on one of its faces. */
export function peopleOf(record: Pick<PhotoRecord, 'faces'>): string[] {
  const ids: string[] = [];
  for (const face of record.faces) if (face.personId && !ids.includes(face.personId)) ids.push(face.personId);
  return ids;
}

function withoutEmbedding(face: StoredFace): StoredFace {
  const { embedding: _embedding, ...rest } = face;
  return rest;
}

export function withPerson(face: StoredFace, personId: string | undefined): StoredFace {
  const { personId: _old, ...rest } = face;
  return personId ? { ...rest, personId } : rest;
}
