import type { PhotoRecord, StoredFace } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import type { DecodeFailureReason } from '../ports.ts';
import type { DetectedFace } from '../faces.ts';
import type { PersonScore } from '../matcher.ts';
import { sha256Hex } from '../hash.ts';
import { usePixels } from '../pixels.ts';
import { photoRef, refsOf, type LibraryContext } from './context.ts';
import { assignScored, peopleOf, withPerson } from './filing.ts';
import type { IncomingPhoto, IngestResult } from './results.ts';

/** An ingest's answer, with the record it filed or found (enrolment goes on from it). */
export interface Ingested {
  readonly result: IngestResult;
  readonly record?: PhotoRecord;
}

/**
 * What a photo shows, worked out before the group's lock is taken: its hash, and (unless it is
 * already filed) its decoded faces. This is the CPU-heavy part, so photos of one group are
 * analysed in parallel and only the filing itself waits for the group.
 */
export type Analysed =
  | { readonly kind: 'known'; readonly hash: string }
  | { readonly kind: 'undecodable'; readonly hash: string; readonly reason: DecodeFailureReason }
  | { readonly kind: 'faces'; readonly hash: string; readonly format: string; readonly takenAt?: Date; readonly detected: readonly DetectedFace[] };

/** Decodes the photo and finds its faces, unless the group has it already; takes no lock. */
export async function analysePhoto(ctx: LibraryContext, group: GroupId, photo: IncomingPhoto): Promise<Analysed> {
  const { albums, decoder, engine, photos } = ctx.deps;
  const hash = sha256Hex(photo.bytes);
  const existing = await photos.get(group, hash);
  if (existing && (await albums.hasOriginal(group, photoRef(existing)))) return { kind: 'known', hash };
  const decoded = await decoder.decode(photo.bytes);
  if (!decoded.ok) {
    ctx.log.warn({ group, hash, reason: decoded.failure.reason, detail: decoded.failure.detail }, 'photo not decodable');
    return { kind: 'undecodable', hash, reason: decoded.failure.reason };
  }
  const detected = await usePixels(decoder, decoded.image, (image) => engine.detect(image));
  return { kind: 'faces', hash, format: decoded.image.format, detected, ...(decoded.image.takenAt ? { takenAt: decoded.image.takenAt } : {}) };
}

/** Files a photo into the album of everyone it shows; see `analysePhoto` and `fileAnalysed`. */
export async function ingestPhoto(ctx: LibraryContext, group: GroupId, photo: IncomingPhoto): Promise<Ingested> {
  return fileAnalysed(ctx, group, photo, await analysePhoto(ctx, group, photo));
}

/**
 * Files an analysed photo, inside the group's lock: duplicate check (again: another photo may have
 * been filed since the analysis), match against the group's gallery as it is now, original stored
 * once and linked into each album, and every face recorded so that later enrolments and threshold
 * changes can re-file it.
 */
export async function fileAnalysed(ctx: LibraryContext, group: GroupId, photo: IncomingPhoto, analysed: Analysed, held?: AbortSignal): Promise<Ingested> {
  const { albums, gallery, photos, defaults } = ctx.deps;
  const { hash } = analysed;
  const existing = await photos.get(group, hash);
  const people = await gallery.list(group);
  // A record whose original is gone (an interrupted run) is stored again rather than trusted.
  if (existing && (await albums.hasOriginal(group, photoRef(existing)))) {
    return { result: { kind: 'duplicate', hash, people: refsOf(people, peopleOf(existing)) }, record: existing };
  }
  if (analysed.kind === 'undecodable') return { result: { kind: 'undecodable', reason: analysed.reason } };
  // Known at analysis but its original has gone since: analyse it now (rare; inside the lock).
  const found = analysed.kind === 'faces' ? analysed : await analysePhoto(ctx, group, photo);
  if (found.kind !== 'faces') return fileAnalysed(ctx, group, photo, found, held);
  const settings = await ctx.settingsOf(group);
  const seenAt = ctx.now().toISOString();
  const unassigned: StoredFace[] = found.detected.map((f) => ({
    box: f.box,
    score: f.score,
    eyeDistance: f.eyeDistance,
    seenAt,
    ...(f.embedding ? { embedding: f.embedding, embedder: ctx.embedder } : {}),
    ...(f.unusable ? { unusable: f.unusable } : {}),
  }));
  const { assigned, scores } = assignScored(unassigned, people, hash, { threshold: settings.threshold, margin: defaults.margin, embedder: ctx.embedder });
  // Queued before a forget and filed after it: a face no one is named on may be the forgotten
  // person's, so its embedding is not kept.
  const late = queuedBeforeForget(photo, settings.forgottenAt);
  const faces = unassigned.map((face, i) => (late && !assigned[i] ? faceWithoutEmbedding(face) : withPerson(face, assigned[i])));
  const record: PhotoRecord = {
    hash,
    ext: extensionOf(found.format),
    bytes: photo.bytes.length,
    postedAt: (photo.postedAt ?? ctx.now()).toISOString(),
    faces,
    ...(photo.postedBy ? { postedBy: photo.postedBy } : {}),
    ...(photo.originalName ? { originalName: photo.originalName } : {}),
    ...(found.takenAt ? { takenAt: found.takenAt.toISOString() } : {}),
    ...(photo.source ? { source: photo.source } : {}),
  };
  // Files first, the record last: the record is the acknowledgement, and a crash before it leaves
  // only files that the consistency check removes. The match was made under the group's lock: once
  // that is lost, another process may have changed the group, so nothing more is committed.
  held?.throwIfAborted();
  await albums.storeOriginal(group, photoRef(record), photo.bytes);
  const filed = peopleOf(record);
  for (const id of filed) await albums.link(group, people.find((p) => p.id === id)!.folder, photoRef(record));
  held?.throwIfAborted();
  await photos.save(group, record);
  const usable = faces.filter((f) => f.embedding);
  const scored = (score: PersonScore | undefined) => {
    const person = score && people.find((p) => p.id === score.personId);
    return person ? { id: person.id, name: person.name, similarity: score.similarity } : undefined;
  };
  // The usable faces, in order, with the two closest people of the scores the match used.
  const explained = faces.flatMap((face, i) => {
    const faceScores = scores[i];
    if (!faceScores) return [];
    const person = face.personId ? refsOf(people, [face.personId])[0] : undefined;
    const best = scored(faceScores[0]);
    const runnerUp = scored(faceScores[1]);
    return [{ ...(person ? { person } : {}), ...(best ? { best } : {}), ...(runnerUp ? { runnerUp } : {}) }];
  });
  return {
    result: {
      kind: 'filed',
      hash,
      people: refsOf(people, filed),
      unknownFaces: usable.filter((f) => !f.personId).length,
      unusableFaces: faces.length - usable.length,
      explained: { threshold: settings.threshold, faces: explained },
    },
    record,
  };
}

function extensionOf(format: string): string {
  const known: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tif', heif: 'heic', avif: 'avif' };
  return known[format] ?? (/^[a-z0-9]{1,5}$/.test(format) ? format : 'img');
}

/**
 * How long before a forget a photo may have been queued and still be waiting to be filed: longer
 * than the queue's retries (about 45 minutes) with room to spare.
 */
const QUEUED_BEFORE_FORGET_MS = 6 * 3_600_000;

function queuedBeforeForget(photo: IncomingPhoto, forgottenAt: string | undefined): boolean {
  if (forgottenAt === undefined || photo.queuedAt === undefined) return false;
  const forgotten = Date.parse(forgottenAt);
  const queued = photo.queuedAt.getTime();
  return queued <= forgotten && queued > forgotten - QUEUED_BEFORE_FORGET_MS;
}

function faceWithoutEmbedding(face: StoredFace): StoredFace {
  const { embedding: _embedding, embedder: _embedder, ...rest } = face;
  return rest;
}
