import type { Box, DetectedFace, Embedding } from '../faces.ts';
import type { Person, PhotoRecord, Sample, StoredFace } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { iou } from '../box.ts';
import { similarity } from '../vector.ts';
import { usePixels } from '../pixels.ts';
import { photoRef, type LibraryContext } from './context.ts';

/** Why a stored sample or photo could not be re-described. */
export type RedescribeFailure =
  /** The sample records no photo, or its photo's record is gone. */
  | 'no-photo'
  /** The photo's original file is gone. */
  | 'no-original'
  | 'undecodable'
  /** The sample's face could not be told among the photo's faces, or the new engine found it no more. */
  | 'face-not-found';

/** How far the re-description of one group has come. */
export interface RedescribeProgress {
  readonly group: GroupId;
  readonly phase: 'samples' | 'photos';
  /** Samples or photos re-described so far in this group, of those there were to do when it began. */
  readonly done: number;
  readonly total: number;
}

export interface RedescribeReport {
  /** Samples given an embedding of the engine's embedder. */
  readonly samples: number;
  /** Photos whose faces were re-described (those of samples included). */
  readonly photos: number;
  /** Samples that could not be re-described and were removed: their person must enrol again. */
  readonly samplesDropped: readonly { readonly group: GroupId; readonly person: string; readonly photoHash?: string; readonly reason: RedescribeFailure }[];
  /** Photos that could not be read again: their faces keep their names and lose their embeddings. */
  readonly photosFailed: readonly { readonly group: GroupId; readonly hash: string; readonly reason: RedescribeFailure }[];
  /** Stored faces that no face found anew paired with: each keeps its name and loses its embedding. */
  readonly facesUnpaired: number;
  /** The signal stopped it before the end: the next run goes on from where it stopped. */
  readonly stopped: boolean;
}

export interface RedescribeOptions {
  /** Stops between two photos; what is done stays done. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: RedescribeProgress) => void;
}

/** Photos re-described per turn of a group's lock: a change of the group waits for a few photos at most. */
const PHOTOS_PER_TURN = 4;
/** A progress line every so many photos, or seconds, whichever comes first. */
const LOG_EVERY_PHOTOS = 100;
const LOG_EVERY_MS = 30_000;
/** A stored face and a face found anew are the same face when their boxes overlap this much (IoU). */
const SAME_FACE_IOU = 0.3;
/** A sample is the face of its photo with the same embedding (the sample was copied from it). */
const SAME_EMBEDDING = 0.9999;

/**
 * After a change of embedder, gives every stored sample and face an embedding of the engine's
 * embedder, computed again from the stored originals: until then they are compared with nothing
 * (see `LibraryContext.comparable`), and a face keeps the name it has. Samples first, in every
 * group (few, and matching works again once they are done), then photos, a few per turn of the
 * group's lock, so that the group's new photos and commands wait for a few photos at most and two
 * processes never re-describe the same photo. Every photo is written as it is done: a run that is
 * stopped or killed goes on from where it stopped, and one that finds nothing to do costs a query
 * per group.
 */
export async function redescribe(ctx: LibraryContext, options: RedescribeOptions = {}): Promise<RedescribeReport> {
  const report = new Report();
  const groups = await ctx.deps.albums.groups();
  for (const group of groups) {
    if (options.signal?.aborted) break;
    await redescribeSamples(ctx, group, report, options);
  }
  for (const group of groups) {
    if (options.signal?.aborted) break;
    await redescribePhotos(ctx, group, report, options);
  }
  return report.done(options.signal?.aborted ?? false);
}

class Report {
  samples = 0;
  photos = 0;
  facesUnpaired = 0;
  readonly samplesDropped: RedescribeReport['samplesDropped'][number][] = [];
  readonly photosFailed: RedescribeReport['photosFailed'][number][] = [];

  done(stopped: boolean): RedescribeReport {
    const { samples, photos, facesUnpaired, samplesDropped, photosFailed } = this;
    return { samples, photos, facesUnpaired, samplesDropped, photosFailed, stopped };
  }
}

/** Each person's samples of another embedder, from the photos they were taken from: a person per turn of the group's lock. */
async function redescribeSamples(ctx: LibraryContext, group: GroupId, report: Report, options: RedescribeOptions): Promise<void> {
  const stale = (p: Person) => p.samples.filter((s) => ctx.outdated(s)).length;
  const listed = (await ctx.deps.gallery.list(group)).filter((p) => stale(p) > 0);
  const total = listed.reduce((n, p) => n + stale(p), 0);
  if (total === 0) return;
  ctx.log.info({ group, samples: total, embedder: ctx.embedder }, 're-describing face samples for a new recognition model');
  let done = 0;
  for (const { id } of listed) {
    if (options.signal?.aborted) return;
    await ctx.serial(group, async () => {
      // Read again inside the lock: the person may have changed (or been forgotten) since.
      const person = (await ctx.deps.gallery.list(group)).find((p) => p.id === id);
      if (person && stale(person) > 0)
        done += await redescribePerson(ctx, group, person, report, (n) =>
          options.onProgress?.({ group, phase: 'samples', done: Math.min(done + n, total), total }),
        );
    });
  }
}

/** Inside the group's lock: one person's samples; returns how many were done. */
async function redescribePerson(ctx: LibraryContext, group: GroupId, person: Person, report: Report, onSample: (n: number) => void): Promise<number> {
  let done = 0;
  const samples: Sample[] = [];
  for (const sample of person.samples) {
    if (!ctx.outdated(sample)) {
      samples.push(sample);
      continue;
    }
    const found = await redescribeSample(ctx, group, person, sample, report);
    if (typeof found === 'string') {
      report.samplesDropped.push({ group, person: person.name, reason: found, ...(sample.photoHash !== undefined ? { photoHash: sample.photoHash } : {}) });
      ctx.log.warn(
        { group, person: person.id, photo: sample.photoHash, reason: found },
        'a face sample could not be re-described for the new recognition model and is removed',
      );
    } else {
      samples.push({ ...sample, embedding: found, embedder: ctx.embedder });
      report.samples++;
    }
    onSample(++done);
  }
  // One person at a time: a run killed in between has the others still to do.
  await ctx.deps.gallery.save(group, { ...person, samples });
  if (samples.length === 0) ctx.log.warn({ group, person: person.id }, 'a person has no face sample left for the new recognition model: they must enrol again');
  return done;
}

/** The sample's embedding anew: its photo is re-described (if it was not yet) and its face picked out. */
async function redescribeSample(ctx: LibraryContext, group: GroupId, person: Person, sample: Sample, report: Report): Promise<Embedding | RedescribeFailure> {
  if (sample.photoHash === undefined) return 'no-photo';
  let record = await ctx.deps.photos.get(group, sample.photoHash);
  if (!record) return 'no-photo';
  const index = faceOfSample(record, person.id, sample);
  if (index === undefined) return 'face-not-found';
  if (!ctx.comparable(record.faces[index]!)) {
    const redone = await redescribeRecord(ctx, group, record, report);
    if (typeof redone === 'string') return redone;
    record = redone;
  }
  const face = record.faces[index]!;
  return ctx.comparable(face) ? face.embedding! : 'face-not-found';
}

/**
 * Which of the photo's faces a sample was taken from: the one with its very embedding while both
 * are of the old embedder, else the one face named as the person (the photo was re-described
 * already, by a run that stopped before the sample was saved).
 */
function faceOfSample(record: PhotoRecord, personId: string, sample: Sample): number | undefined {
  const same = record.faces.findIndex(
    (f) =>
      f.embedding &&
      f.embedder === sample.embedder &&
      f.embedding.length === sample.embedding.length &&
      similarity(f.embedding, sample.embedding) >= SAME_EMBEDDING,
  );
  if (same >= 0) return same;
  const named = record.faces.flatMap((f, i) => (f.personId === personId ? [i] : []));
  return named.length === 1 ? named[0] : undefined;
}

/** Each group's photos with faces of another embedder, a few per turn of the group's lock. */
async function redescribePhotos(ctx: LibraryContext, group: GroupId, report: Report, options: RedescribeOptions): Promise<void> {
  const { photos } = ctx.deps;
  const total = (await photos.describedOtherwise(group, ctx.embedder)).length;
  if (total === 0) return;
  ctx.log.info({ group, photos: total, embedder: ctx.embedder }, 're-describing faces for a new recognition model');
  const seen = new Set<string>();
  let done = 0,
    loggedAt = Date.now(),
    loggedDone = 0;
  for (;;) {
    const turn = await ctx.serial(group, async () => {
      // Read inside the lock: another process may have done some since.
      const hashes = await photos.describedOtherwise(group, ctx.embedder, PHOTOS_PER_TURN);
      let did = 0;
      for (const record of await photos.getMany(group, hashes)) {
        if (options.signal?.aborted) break;
        // A photo listed again after it was written would loop for ever: a bug, not a photo.
        if (seen.has(record.hash)) throw new Error(`photo ${record.hash} is still to re-describe after it was re-described`);
        seen.add(record.hash);
        const redone = await redescribeRecord(ctx, group, record, report);
        if (typeof redone === 'string') await giveUp(ctx, group, record, redone, report);
        did++;
        options.onProgress?.({ group, phase: 'photos', done: Math.min(++done, total), total });
      }
      return { did, listed: hashes.length };
    });
    if (done - loggedDone >= LOG_EVERY_PHOTOS || Date.now() - loggedAt >= LOG_EVERY_MS) {
      ctx.log.info(
        { group, done, photos: total },
        `re-describing faces for a new recognition model: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} photos`,
      );
      loggedAt = Date.now();
      loggedDone = done;
    }
    if (turn.listed === 0 || turn.did === 0 || options.signal?.aborted) break;
  }
  if (!options.signal?.aborted) ctx.log.info({ group, photos: done }, 'faces re-described for the new recognition model');
}

/**
 * Re-describes the photo's faces of another embedder from its original and saves it: each is
 * paired with the face found anew where it was (by box overlap) and takes its embedding, keeping
 * its name. Inside the group's lock. Returns the record as saved, or why the original could not be
 * read again (nothing is saved then).
 */
async function redescribeRecord(ctx: LibraryContext, group: GroupId, record: PhotoRecord, report: Report): Promise<PhotoRecord | RedescribeFailure> {
  const { albums, decoder, engine, photos } = ctx.deps;
  const ref = photoRef(record);
  if (!(await albums.hasOriginal(group, ref))) return 'no-original';
  const decoded = await decoder.decode(await albums.readOriginal(group, ref));
  if (!decoded.ok) return 'undecodable';
  const detected = await usePixels(decoder, decoded.image, (image) => engine.detect(image));
  const stale = record.faces.map((f) => ctx.outdated(f));
  const pairs = pairByBox(
    record.faces.map((f, i) => (stale[i] ? f.box : undefined)),
    detected.map((d) => d.box),
  );
  let unpaired = 0;
  const faces = record.faces.map((face, i) => {
    if (!stale[i]) return face;
    const found = pairs.get(i);
    if (found === undefined) unpaired++;
    return redescribed(face, found === undefined ? undefined : detected[found], ctx.embedder);
  });
  if (unpaired > 0)
    ctx.log.warn(
      { group, hash: record.hash, faces: unpaired },
      'faces the new recognition model did not find again keep their names but lose their embeddings',
    );
  const saved: PhotoRecord = { ...record, faces };
  await photos.save(group, saved);
  report.photos++;
  report.facesUnpaired += unpaired;
  return saved;
}

/** A photo that cannot be read again: its faces keep their names and lose what cannot be compared any more. */
async function giveUp(ctx: LibraryContext, group: GroupId, record: PhotoRecord, reason: RedescribeFailure, report: Report): Promise<void> {
  const faces = record.faces.map((face) => (ctx.outdated(face) ? redescribed(face, undefined, ctx.embedder) : face));
  await ctx.deps.photos.save(group, { ...record, faces });
  report.photosFailed.push({ group, hash: record.hash, reason });
  ctx.log.warn(
    { group, hash: record.hash, reason },
    'a photo could not be re-described for the new recognition model: its faces keep their names and lose their embeddings',
  );
}

/** The stored face as the face found anew describes it (its name and first sighting kept); without one, no embedding. */
function redescribed(face: StoredFace, found: DetectedFace | undefined, embedder: string): StoredFace {
  const { embedding: _old, embedder: _by, unusable: _unusable, ...kept } = face;
  if (!found) return kept;
  return {
    ...kept,
    box: found.box,
    score: found.score,
    eyeDistance: found.eyeDistance,
    ...(found.embedding ? { embedding: found.embedding, embedder } : {}),
    ...(found.unusable ? { unusable: found.unusable } : {}),
  };
}

/**
 * Pairs stored boxes (undefined: not to pair) with found boxes, best overlap first, each at most
 * once, and only where they overlap enough to be the same face. Returns found index by stored index.
 */
export function pairByBox(stored: readonly (Box | undefined)[], found: readonly Box[]): Map<number, number> {
  const candidates: { s: number; f: number; iou: number }[] = [];
  stored.forEach((a, s) => {
    if (!a) return;
    found.forEach((b, f) => {
      const overlap = iou(a, b);
      if (overlap >= SAME_FACE_IOU) candidates.push({ s, f, iou: overlap });
    });
  });
  candidates.sort((x, y) => y.iou - x.iou);
  const pairs = new Map<number, number>(),
    taken = new Set<number>();
  for (const { s, f } of candidates) {
    if (pairs.has(s) || taken.has(f)) continue;
    pairs.set(s, f);
    taken.add(f);
  }
  return pairs;
}
