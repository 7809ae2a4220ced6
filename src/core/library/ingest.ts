import type { GroupId, PhotoRecord, StoredFace } from '../library-types.ts';
import { sha256Hex } from '../hash.ts';
import { photoRef, refsOf, type LibraryContext } from './context.ts';
import { assignFaces, peopleOf, withPerson } from './refile.ts';
import type { IncomingPhoto, IngestResult } from './results.ts';

/** An ingest's answer, with the record it filed or found (enrolment goes on from it). */
export interface Ingested {
  readonly result: IngestResult;
  readonly record?: PhotoRecord;
}

/**
 * Files a photo into the album of everyone it shows: content hash, duplicate check, decode,
 * faces, match against the group's gallery, original stored once and linked into each album, and
 * every face recorded so that later enrolments and threshold changes can re-file it.
 */
export async function ingestPhoto(ctx: LibraryContext, group: GroupId, photo: IncomingPhoto): Promise<Ingested> {
  const { albums, decoder, engine, gallery, photos, defaults } = ctx.deps;
  const hash = sha256Hex(photo.bytes);
  const existing = await photos.get(group, hash);
  const people = await gallery.list(group);
  // A record whose original is gone (an interrupted run) is stored again rather than trusted.
  if (existing && (await albums.hasOriginal(group, photoRef(existing)))) {
    return { result: { kind: 'duplicate', hash, people: refsOf(people, peopleOf(existing)) }, record: existing };
  }
  const decoded = await decoder.decode(photo.bytes);
  if (!decoded.ok) {
    ctx.log.warn({ group, hash, reason: decoded.failure.reason, detail: decoded.failure.detail }, 'photo not decodable');
    return { result: { kind: 'undecodable', reason: decoded.failure.reason } };
  }
  const detected = await engine.detect(decoded.image);
  const settings = await ctx.settingsOf(group);
  const seenAt = ctx.now().toISOString();
  const unassigned: StoredFace[] = detected.map((f) => ({
    box: f.box,
    score: f.score,
    eyeDistance: f.eyeDistance,
    seenAt,
    ...(f.embedding ? { embedding: f.embedding } : {}),
    ...(f.unusable ? { unusable: f.unusable } : {}),
  }));
  const assigned = assignFaces(unassigned, people, hash, { threshold: settings.threshold, margin: defaults.margin });
  const faces = unassigned.map((face, i) => withPerson(face, assigned[i]));
  const record: PhotoRecord = {
    hash,
    ext: extensionOf(decoded.image.format),
    bytes: photo.bytes.length,
    postedAt: (photo.postedAt ?? ctx.now()).toISOString(),
    faces,
    ...(photo.postedBy ? { postedBy: photo.postedBy } : {}),
    ...(photo.originalName ? { originalName: photo.originalName } : {}),
    ...(decoded.image.takenAt ? { takenAt: decoded.image.takenAt.toISOString() } : {}),
    ...(photo.source ? { source: photo.source } : {}),
  };
  // Files first, the record last: the record is the acknowledgement, and a crash before it leaves
  // only files that the consistency check removes.
  await albums.storeOriginal(group, photoRef(record), photo.bytes);
  const filed = peopleOf(record);
  for (const id of filed) await albums.link(group, people.find((p) => p.id === id)!.folder, photoRef(record));
  await photos.save(group, record);
  const usable = faces.filter((f) => f.embedding);
  return {
    result: {
      kind: 'filed',
      hash,
      people: refsOf(people, filed),
      unknownFaces: usable.filter((f) => !f.personId).length,
      unusableFaces: faces.length - usable.length,
    },
    record,
  };
}

function extensionOf(format: string): string {
  const known: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tif', heif: 'heic', avif: 'avif' };
  return known[format] ?? (/^[a-z0-9]{1,5}$/.test(format) ? format : 'img');
}
