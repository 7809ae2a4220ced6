import type { Box, Embedding, FaceMatch, GalleryPerson, MatchPolicy } from '../core/index.ts';
import { clusterFaces } from '../core/index.ts';
import { matchScored, scoreFaces, scorePeople, similarityDistributions } from '../core/index.ts';
import { NO_FACES_FOLDER as NO_FACES, UNKNOWN_FOLDER as UNKNOWN, withoutRejected } from '../archive/index.ts';
import type { RunPhoto, RunResult } from './archive-runner.ts';

export { NO_FACES, UNKNOWN };

/** Each face of a photo decided as the archive job decides it: scored, the people it was said not to be left out, matched. */
export function matchPhoto(photo: Pick<RunPhoto, 'faces' | 'rejected'>, gallery: readonly GalleryPerson[], policy: MatchPolicy): FaceMatch[] {
  const scores = scoreFaces(photo.faces, gallery);
  return matchScored(
    photo.faces,
    photo.rejected
      ? withoutRejected(
          scores,
          photo.rejected.map((people) => new Set(people)),
        )
      : scores,
    policy,
  );
}

/** The folders a photo goes to under `policy`: the archive job's filing rule, on cached faces. */
export function foldersFor(photo: Pick<RunPhoto, 'faces' | 'rejected'>, gallery: readonly GalleryPerson[], policy: MatchPolicy): string[] {
  if (photo.faces.length === 0) return [NO_FACES];
  const people = matchPhoto(photo, gallery, policy).flatMap((m) => (m.kind === 'person' ? [m.personId] : []));
  return people.length === 0 ? [UNKNOWN] : people.sort();
}

export interface ThresholdPreview {
  readonly threshold: number;
  /** Photos whose set of folders would differ from the last run's. */
  readonly photosMoved: number;
  /** Copies that would be added and taken away, over all folders. */
  readonly added: number;
  readonly removed: number;
  /** Photos per folder (people, `_unknown`, `_no_faces`) at the proposed threshold. */
  readonly perFolder: Readonly<Record<string, number>>;
}

/**
 * How many photos a threshold would move, decided again from the faces the last run found: no
 * photo is decoded or recognised again, so this answers while a slider moves. Both sides are
 * decided here with the same rule, so the run's own threshold previews as no change.
 */
export function previewThreshold(result: RunResult, threshold: number, baseline: readonly (readonly string[])[] = baselineFolders(result)): ThresholdPreview {
  let photosMoved = 0,
    added = 0,
    removed = 0;
  const perFolder: Record<string, number> = {};
  for (const [i, photo] of result.photos.entries()) {
    const before = baseline[i] ?? [];
    const after = foldersFor(photo, result.gallery, { threshold, margin: result.margin });
    for (const folder of after) perFolder[folder] = (perFolder[folder] ?? 0) + 1;
    const gained = after.filter((f) => !before.includes(f)).length;
    const lost = before.filter((f) => !after.includes(f)).length;
    if (gained + lost > 0) photosMoved++;
    added += gained;
    removed += lost;
  }
  return { threshold, photosMoved, added, removed, perFolder };
}

/** Each photo's folders at the run's own threshold, decided by `foldersFor`: what previews compare with. */
export function baselineFolders(result: RunResult): string[][] {
  return result.photos.map((photo) => foldersFor(photo, result.gallery, { threshold: result.threshold, margin: result.margin }));
}

/** The threshold plot's data for a run: same- and different-person pairs among the known photos, and each photo face's best match. */
export function runDistributions(result: RunResult): { same: number[]; different: number[]; closest: number[] } {
  // The labelled groups come from the known photos alone: a face the run named is above the
  // threshold by construction, so counting it as "same person" would hide every near miss.
  const labelled = similarityDistributions(result.gallery, []);
  // Each face's best match, scored as the matcher scores (a person with no sample has no score).
  const closest = result.photos.flatMap((photo) =>
    photo.faces.flatMap((face) =>
      face.embedding
        ? scorePeople(face.embedding, result.gallery)
            .slice(0, 1)
            .map((best) => best.similarity)
        : [],
    ),
  );
  return { ...labelled, closest };
}

/** The box of the face in `photo` that the run filed under `person` (the biggest, should there be two); undefined when none is. */
export function faceFiledAs(result: RunResult, photo: RunPhoto, person: string): Box | undefined {
  const policy = { threshold: result.threshold, margin: result.margin };
  return matchPhoto(photo, result.gallery, policy)
    .flatMap((match, i) => (match.kind === 'person' && match.personId === person ? [photo.faces[i]!.box] : []))
    .sort((a, b) => b.width * b.height - a.width * a.height)[0];
}

/** One face of an unknown cluster: which photo of the run, which face in it. */
export interface FaceRef {
  readonly photo: number;
  readonly face: number;
}

export interface UnknownCluster {
  readonly id: number;
  /** Its faces, the most typical first. */
  readonly faces: readonly FaceRef[];
  /** Distinct photos it appears in. */
  readonly photos: number;
}

/** The most recent faces clustered at once: clustering is cubic in the worst case. */
const MAX_CLUSTER_FACES = 600;

/** The faces the last run could not name, grouped into people who keep turning up. */
export function unknownClusters(result: RunResult, minPhotos: number): UnknownCluster[] {
  const policy = { threshold: result.threshold, margin: result.margin };
  const inputs: { key: FaceRef; photo: string; embedding: Embedding }[] = [];
  result.photos.forEach((photo, p) => {
    matchPhoto(photo, result.gallery, policy).forEach((match, f) => {
      const embedding = photo.faces[f]?.embedding;
      if (match.kind === 'unknown' && embedding) inputs.push({ key: { photo: p, face: f }, photo: photo.file, embedding });
    });
  });
  return clusterFaces(inputs.slice(0, MAX_CLUSTER_FACES), result.threshold, minPhotos).map((cluster, i) => ({
    id: i + 1,
    faces: cluster.central.map((m) => m.key),
    photos: new Set(cluster.members.map((m) => m.photo)).size,
  }));
}
