import type { Embedding, GalleryPerson, MatchPolicy } from '../core/index.ts';
import { clusterFaces } from '../core/library/index.ts';
import { matchFaces, similarity } from '../core/index.ts';
import { NO_FACES_FOLDER as NO_FACES, UNKNOWN_FOLDER as UNKNOWN } from '../archive/index.ts';
import type { RunPhoto, RunResult } from './archive-runner.ts';

export { NO_FACES, UNKNOWN };

/** The folders a photo goes to under `policy`: the archive job's filing rule, on cached faces. */
export function foldersFor(photo: Pick<RunPhoto, 'faces'>, gallery: readonly GalleryPerson[], policy: MatchPolicy): string[] {
  if (photo.faces.length === 0) return [NO_FACES];
  const people = matchFaces(photo.faces, gallery, policy).flatMap((m) => (m.kind === 'person' ? [m.personId] : []));
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
  let photosMoved = 0, added = 0, removed = 0;
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

/**
 * Same-person similarities (pairs of one person's samples, each named face against its person's
 * closest sample) and different-person ones (each sample and named face against every other
 * person's closest sample): the two histograms of the threshold plot.
 */
export function similarityDistributions(result: RunResult): { same: number[]; different: number[] } {
  const same: number[] = [], different: number[] = [];
  const closest = (e: Embedding, p: GalleryPerson): number => p.samples.reduce((best, s) => Math.max(best, similarity(e, s)), -1);
  for (const person of result.gallery) {
    person.samples.forEach((a, i) => { person.samples.slice(i + 1).forEach((b) => same.push(similarity(a, b))); });
    for (const other of result.gallery) if (other !== person) for (const s of person.samples) different.push(closest(s, other));
  }
  const policy = { threshold: result.threshold, margin: result.margin };
  for (const photo of result.photos) {
    matchFaces(photo.faces, result.gallery, policy).forEach((match, i) => {
      const embedding = photo.faces[i]?.embedding;
      if (match.kind !== 'person' || !embedding) return;
      // A photo that is also a sample scores a perfect 1.0 against itself: leave that out.
      const owner = result.gallery.find((p) => p.id === match.personId)!;
      const own = owner.samples.map((s) => similarity(embedding, s)).filter((v) => v < 0.9999);
      if (own.length > 0) same.push(Math.max(...own));
      for (const other of result.gallery) if (other !== owner) different.push(closest(embedding, other));
    });
  }
  return { same, different };
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
    matchFaces(photo.faces, result.gallery, policy).forEach((match, f) => {
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
