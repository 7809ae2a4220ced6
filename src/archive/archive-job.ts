import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DetectedFace, FaceCache, FaceEngine, GalleryPerson, ImageDecoder, Log, MatchPolicy, PhotoTagger, Renderer, XmpMode } from '../core/index.ts';
import {
  DECODE_FAILURE_MESSAGES,
  PathError,
  sha256Hex,
  forEachConcurrent,
  likelyFace,
  matchScored,
  scoreFaces,
  adviseSample,
  describeAdvice,
  faceSharpness,
  usePixels,
} from '../core/index.ts';
import {
  DEFAULT_MAX_PHOTO_BYTES,
  ensureFolder,
  ensureWritableFolder,
  inspectPath,
  isPhotoName,
  listPhotos,
  readCapped,
  type PlacementMode,
  writeAtomically,
} from '../files/index.ts';
import { describeDoubt, findDoubts, type Candidate, type KnownProblem } from './known-check.ts';
import { sheetPath, writeSheets, type SheetRequest } from './sheets.ts';
import { clusterFaces } from '../core/index.ts';
import type { ClusterInput } from '../core/linkage.ts';
import { readManifest, serializeManifest, writeManifest } from './manifest.ts';
import { REPORT_NAME, renderReport } from './report-html.ts';
import type { ArchiveReport, Duplicate, FaceDecision, KnownPerson, PhotoError, PhotoOutcome, UnknownFace } from './report.ts';
import { listOutput, projectOutput, syncCopies, syncZips, type SyncChanges } from './sync.ts';
import { writePreviews } from './previews.ts';
import { readCorrections, rejectedFor, withoutRejected, type Corrections } from './corrections.ts';

/** Output folders that are not people. */
export const UNKNOWN_FOLDER = '_unknown';
export const NO_FACES_FOLDER = '_no_faces';

export interface ArchiveRequest {
  /** Folders and/or photo files to archive. */
  readonly inputs: readonly string[];
  readonly knownDir: string;
  readonly outputDir: string;
  /** Where to write one zip per person; no zips when absent. */
  readonly zipDir?: string;
  readonly policy: MatchPolicy;
  /** Folders that may be created when missing (the configured defaults); any other missing path is an error. */
  readonly createIfMissing?: readonly string[];
  /** How sorted copies are made: copies or clones (the default), or hard links (`--link`). */
  readonly placement?: PlacementMode;
  /** Work out what would change, and change nothing in the output and zip folders. */
  readonly dryRun?: boolean;
  /**
   * Where the copies' names and dates go: into each copy (`embed`, the default; hard links get a
   * sidecar instead, since they are the originals), beside it as `<name>.xmp` (`sidecar`), or
   * nowhere (`off`). Needs a `tagger` among the dependencies.
   */
  readonly xmp?: XmpMode;
}

/** What a run will work on, found before any model is loaded. */
export interface ArchivePlan {
  readonly request: ArchiveRequest;
  readonly photos: readonly string[];
  readonly known: readonly { readonly name: string; readonly photos: readonly string[] }[];
  /** What the user said a face is not (`<known>/.facefile-corrections.json`): such a face is never filed under that person. */
  readonly corrections: Corrections;
}

/** The stages of a run that report progress: learning the known faces, then analysing the photos. */
export type ArchivePhase = 'known' | 'photos';

export interface ArchiveProgress {
  begin(phase: ArchivePhase, total: number): void;
  advance(file: string): void;
  end(): void;
}

export interface ArchiveDependencies {
  readonly engine: FaceEngine;
  readonly decoder: ImageDecoder;
  readonly cache: FaceCache;
  readonly log: Log;
  /** Draws the contact sheets of doubtful known photos; without one, they are only listed. */
  readonly renderer?: Renderer;
  readonly progress?: ArchiveProgress;
  /** Photos in flight at once: enough to keep every engine worker busy while others decode. */
  readonly concurrency?: number;
  /** A photo file larger than this is refused from its size, never read. */
  readonly maxBytes?: number;
  /** Writes the copies' face regions and dates (see `ArchiveRequest.xmp`); without one, copies carry none. */
  readonly tagger?: PhotoTagger;
}

/**
 * The automatic photo archiver: learns the known people from `<known>/<Person Name>/*`, then files
 * every input photo into `<output>/<Person Name>/` for each person it shows, `_unknown/` when it
 * shows only unrecognised faces, or `_no_faces/`. Originals are never modified or moved.
 */
export class ArchiveJob {
  constructor(private readonly deps: ArchiveDependencies) {}

  /**
   * Checks every path (a wrong one throws `PathError` naming it, before any work), creates the
   * default folders, and lists the photos and the known people.
   */
  static async plan(request: ArchiveRequest, log?: Log): Promise<ArchivePlan> {
    const inputs = await checkPaths(request);
    const photos = await collectPhotos(inputs, [request.outputDir, ...(request.zipDir ? [request.zipDir] : [])]);
    return { request, photos, known: await listKnown(request.knownDir), corrections: await readCorrections(request.knownDir, log) };
  }

  /**
   * Learns the known faces, analyses every photo, then brings the output folder (and the zips) in
   * line with the result. `startedAt` (a `performance.now()` value) lets the caller count its own
   * set-up, such as loading the models, in the report's time.
   */
  async run(plan: ArchivePlan, options: { readonly startedAt?: number } = {}): Promise<ArchiveReport> {
    const started = options.startedAt ?? performance.now();
    const { request, photos } = plan;
    const { gallery, known, sheets } = await this.learnKnown(plan.known, request);

    const outcomes: PhotoOutcome[] = [];
    const unknownFaces: ClusterInput<UnknownFace>[] = [];
    const errors: PhotoError[] = [];
    this.deps.progress?.begin('photos', photos.length);
    await forEachConcurrent(photos, this.deps.concurrency ?? this.deps.engine.info.workers * 2, async (file) => {
      try {
        const result = await this.analysePhoto(file, gallery, request, plan.corrections, unknownFaces);
        if ('reason' in result) errors.push(result);
        else outcomes.push(result);
      } finally {
        this.deps.progress?.advance(file);
      }
    });
    this.deps.progress?.end();
    outcomes.sort((a, b) => a.file.localeCompare(b.file));
    errors.sort((a, b) => a.file.localeCompare(b.file));

    const { changes, folders, zips, sources } = await this.sync(
      request,
      known.map((k) => k.name),
      outcomes,
      sheets,
    );
    for (const failure of changes.failed) {
      this.deps.log.error({ file: failure.source, copy: failure.path, reason: failure.reason }, 'filing failed');
      errors.push({ file: failure.source, reason: failure.reason });
    }
    const elapsedMs = performance.now() - started;
    const count = (folder: string): number => folders.get(folder)?.length ?? 0;
    const report: ArchiveReport = {
      known,
      photos: photos.length,
      faces: firstOfEach(outcomes).reduce((sum, o) => sum + o.faces, 0),
      perPerson: Object.fromEntries(known.map((k) => [k.name, count(k.name)])),
      unknown: count(UNKNOWN_FOLDER),
      noFaces: count(NO_FACES_FOLDER),
      folders: Object.fromEntries(folders),
      unknownClusters: clusterUnknown(unknownFaces, request.policy.threshold),
      changes,
      dryRun: request.dryRun ?? false,
      errors,
      duplicates: findDuplicates(outcomes),
      outcomes,
      zips,
      elapsedMs,
      photosPerSecond: photos.length / Math.max(elapsedMs / 1000, 1e-9),
    };
    if (report.dryRun) return report;
    const reportFile = path.join(request.outputDir, REPORT_NAME);
    try {
      const previews = await writePreviews(outcomes, {
        outputDir: request.outputDir,
        decoder: this.deps.decoder,
        maxBytes: this.deps.maxBytes ?? DEFAULT_MAX_PHOTO_BYTES,
        log: this.deps.log,
      });
      await writeAtomically(reportFile, renderReport(report, { outputDir: request.outputDir, policy: request.policy, when: new Date(), sources, previews }));
      return { ...report, reportFile };
    } catch (error) {
      this.deps.log.warn({ err: error, reportFile }, 'report not written');
      return report;
    }
  }

  /** Adds and removes sorted copies and zips, and saves the manifest (none of it in a dry run). */
  private async sync(request: ArchiveRequest, people: readonly string[], outcomes: readonly PhotoOutcome[], sheets: readonly SheetRequest[]) {
    const { outputDir } = request;
    const xmp = request.xmp ?? 'embed';
    const tagging = this.deps.tagger && xmp !== 'off' ? { tagger: this.deps.tagger, mode: xmp } : undefined;
    const options = { outputDir, mode: request.placement ?? 'copy', dryRun: request.dryRun ?? false, ...(tagging ? { tagging } : {}) } as const;
    const { manifest, problem, refused } = await readManifest(outputDir);
    const before = serializeManifest(manifest);
    if (problem) this.deps.log.warn({ outputDir, problem }, 'manifest unreadable: nothing is removed this run');
    if (refused) this.deps.log.warn({ outputDir, refused }, 'manifest entries pointing outside the output folder ignored: nothing there is touched');
    const copies = await syncCopies(outcomes, manifest, options);
    if (!options.dryRun)
      await writeSheets(sheets, manifest, {
        outputDir,
        decoder: this.deps.decoder,
        maxBytes: this.deps.maxBytes ?? DEFAULT_MAX_PHOTO_BYTES,
        log: this.deps.log,
        ...(this.deps.renderer ? { renderer: this.deps.renderer } : {}),
      });
    const onDisk = await listOutput(outputDir);
    const folders = options.dryRun ? projectOutput(onDisk, copies) : onDisk;
    const touched = new Set([...copies.added, ...copies.removed].map((c) => c.path.split('/')[0] ?? ''));
    const zipped = request.zipDir
      ? await syncZips(people, folders, manifest, { ...options, zipDir: request.zipDir, touched })
      : { zips: [], zipsWritten: [], zipsRemoved: [] };
    if (!options.dryRun && serializeManifest(manifest) !== before) await writeManifest(outputDir, manifest);
    const changes: SyncChanges = { ...copies, zipsWritten: zipped.zipsWritten, zipsRemoved: zipped.zipsRemoved };
    const sources = new Map([...manifest.files].map(([relative, record]) => [relative, record.source]));
    return { changes, folders, zips: zipped.zips, sources };
  }

  /**
   * One gallery person per sub-folder of `knownDir`, a sample from each photo: its one usable face,
   * or of several the face a person would pick (`likelyFace`: the one that agrees with their other
   * photos, else the clearly biggest, else, when none of their photos settles it, the one face
   * that agrees with their other photos of several). A photo with no face, with several and none
   * of them clearly theirs, or whose face looks more like another known person is left out and
   * listed, with a contact sheet of its faces.
   */
  private async learnKnown(
    files: ArchivePlan['known'],
    request: ArchiveRequest,
  ): Promise<{ gallery: GalleryPerson[]; known: KnownPerson[]; sheets: SheetRequest[] }> {
    this.deps.progress?.begin(
      'known',
      files.reduce((sum, f) => sum + f.photos.length, 0),
    );
    const candidates: Candidate[] = [];
    const several: { person: string; file: string; faces: Candidate['face'][] }[] = [];
    const problems = new Map<string, KnownProblem[]>(files.map((f) => [f.name, []]));
    const sheets: SheetRequest[] = [];
    const sheetOf = (person: string, file: string, faces: SheetRequest['faces'], caption: string): string | undefined => {
      if (!this.deps.renderer || request.dryRun) return undefined;
      const sheet: SheetRequest = { person, file, faces, caption };
      sheets.push(sheet);
      return sheetPath(request.outputDir, sheet);
    };
    const allPhotos = files.flatMap(({ name, photos }) => photos.map((file) => ({ name, file })));
    await forEachConcurrent(allPhotos, this.deps.concurrency ?? this.deps.engine.info.workers * 2, async ({ name, file }) => {
      const result = await this.facesOf(file, { sharpness: true });
      this.deps.progress?.advance(file);
      const list = problems.get(name)!;
      if ('reason' in result) {
        list.push({ file, kind: 'unreadable', reason: result.reason });
        return;
      }
      const usable = result.faces.flatMap((face) => (face.embedding ? [{ ...face, embedding: face.embedding }] : []));
      if (usable.length === 0) {
        const kind = result.faces.length === 0 ? 'no-face' : 'unclear-face';
        list.push({ file, kind, reason: kind === 'no-face' ? 'no face found' : 'the face is too small or unclear' });
      } else if (usable.length > 1) {
        several.push({ person: name, file, faces: usable });
      } else {
        candidates.push({ person: name, file, face: usable[0]! });
      }
    });
    // A photo of several faces: the one that agrees with the person's one-face photos, else the
    // clearly biggest; then, for a person none of whose photos settled it, the face that agrees
    // with their other photos of several (the folder's consensus). Only a photo with no such face
    // is left out, with its contact sheet.
    const unsettled: typeof several = [];
    for (const photo of several.sort((a, b) => a.file.localeCompare(b.file))) {
      const own = candidates.filter((c) => c.person === photo.person).map((c) => c.face.embedding);
      const likely = likelyFace(photo.faces, own, request.policy);
      if (likely) candidates.push({ person: photo.person, file: photo.file, face: photo.faces[likely.index]! });
      else unsettled.push(photo);
    }
    const settled = new Set(candidates.map((c) => c.person));
    const agreed = unsettled.flatMap((photo) => {
      if (settled.has(photo.person)) return [];
      const others = unsettled.filter((o) => o.person === photo.person && o !== photo).flatMap((o) => o.faces.map((f) => f.embedding));
      const likely = others.length > 0 ? likelyFace(photo.faces, others, request.policy) : undefined;
      return likely?.why === 'agrees' ? [{ photo, face: photo.faces[likely.index]! }] : [];
    });
    for (const { photo, face } of agreed) candidates.push({ person: photo.person, file: photo.file, face });
    const byConsensus = new Set(agreed.map((a) => a.photo));
    for (const { person, file, faces: usable } of unsettled.filter((photo) => !byConsensus.has(photo))) {
      const faces = usable.map((face, i) => ({ box: face.box, label: String(i + 1) }));
      const sheet = sheetOf(person, file, faces, `${path.basename(file)} in ${person}: ${usable.length} faces`);
      const reason = `${usable.length} faces, none clearly ${person}'s: facefile uses none of them (crop the photo to one face, or move it)`;
      problems.get(person)!.push({ file, kind: 'several-faces', reason, ...(sheet ? { sheet } : {}) });
    }
    const doubts = findDoubts(candidates, request.policy.threshold);
    for (const doubt of doubts) {
      const { person, file, face } = doubt.candidate;
      const sheet = sheetOf(person, file, [{ box: face.box, label: `${doubt.other}?` }], `${path.basename(file)} in ${person}: looks like ${doubt.other}`);
      problems.get(person)!.push({ file, kind: 'other-person', reason: describeDoubt(doubt), ...(sheet ? { sheet } : {}) });
    }
    const doubted = new Set(doubts.map((d) => d.candidate));
    const gallery: GalleryPerson[] = [];
    const known: KnownPerson[] = [];
    const taken = candidates.filter((c) => !doubted.has(c)).sort((a, b) => a.file.localeCompare(b.file));
    const takenByPerson: GalleryPerson[] = files.map(({ name }) => ({
      id: name,
      name,
      samples: taken.filter((c) => c.person === name).map((c) => c.face.embedding),
    }));
    for (const { name } of files) {
      const samples = taken.filter((c) => c.person === name);
      const others = takenByPerson.filter((p) => p.id !== name);
      const advice: { file: string; text: string }[] = [];
      for (const sample of samples) {
        for (const piece of adviseSample({
          face: sample.face,
          ...(sample.face.sharpness !== undefined ? { sharpness: sample.face.sharpness } : {}),
          own: samples.filter((s) => s !== sample).map((s) => s.face.embedding),
          others,
          threshold: request.policy.threshold,
          margin: request.policy.margin,
        }))
          advice.push({ file: sample.file, text: describeAdvice(piece, name) });
      }
      known.push({ name, samples: samples.length, problems: problems.get(name)!.sort((a, b) => a.file.localeCompare(b.file)), advice });
      if (samples.length > 0) gallery.push({ id: name, name, samples: samples.map((s) => s.face.embedding) });
    }
    this.deps.progress?.end();
    return { gallery, known, sheets };
  }

  private async analysePhoto(
    file: string,
    gallery: readonly GalleryPerson[],
    request: ArchiveRequest,
    corrections: Corrections,
    unknownFaces: ClusterInput<UnknownFace>[],
  ): Promise<PhotoOutcome | PhotoError> {
    const result = await this.facesOf(file);
    if ('reason' in result) return result;
    const { faces, hash } = result;
    // Scored once: the match and the report's best and runner-up come from the same scores. A face
    // the user said is not someone is scored as if that person did not exist.
    const scores = withoutRejected(scoreFaces(faces, gallery), rejectedFor(corrections, hash, faces));
    const matches = matchScored(faces, scores, request.policy);
    const people = matches.flatMap((m) => (m.kind === 'person' ? [m.personId] : []));
    const folders = faces.length === 0 ? [NO_FACES_FOLDER] : people.length === 0 ? [UNKNOWN_FOLDER] : people;
    const decisions = faces.map((face, i): FaceDecision => {
      const match = matches[i]!;
      if (match.kind === 'unknown' && face.embedding) unknownFaces.push({ key: { file, face: i }, photo: file, embedding: face.embedding });
      const [best, runnerUp] = scores[i] ?? [];
      return {
        box: face.box,
        verdict: match.kind,
        ...(match.kind === 'person' ? { person: match.personId } : { reason: match.reason }),
        ...(best ? { best } : {}),
        ...(runnerUp ? { runnerUp } : {}),
      };
    });
    return { file, hash, faces: faces.length, decisions, people, unknownFaces: matches.length - people.length, folders };
  }

  /**
   * The faces in a photo: from the cache when these exact bytes were seen before. With `sharpness`
   * (a known folder's photo, for the enrolment advice) each usable face's sharpness is measured
   * while the pixels are at hand and cached with it; a cached entry without it (made before, or
   * for a posted photo) is decoded once more and completed.
   */
  private async facesOf(file: string, want: { sharpness?: boolean } = {}): Promise<{ faces: readonly DetectedFace[]; hash: string } | PhotoError> {
    let bytes: Buffer;
    try {
      const read = await readCapped(file, this.deps.maxBytes ?? DEFAULT_MAX_PHOTO_BYTES);
      if ('tooLarge' in read) {
        this.deps.log.warn({ file, bytes: read.tooLarge }, 'photo over the size limit, not read');
        return { file, reason: DECODE_FAILURE_MESSAGES['too-large'] };
      }
      bytes = read.bytes;
    } catch (error) {
      this.deps.log.warn({ err: error, file }, 'photo unreadable');
      return { file, reason: 'the file cannot be read' };
    }
    const hash = sha256Hex(bytes);
    const cached = await this.deps.cache.get(hash);
    const unmeasured = (faces: readonly DetectedFace[]) => want.sharpness === true && faces.some((f) => f.embedding && f.sharpness === undefined);
    if (cached && !unmeasured(cached)) return { faces: cached, hash };
    const decoded = await this.deps.decoder.decode(bytes);
    if (cached && !decoded.ok) return { faces: cached, hash };
    if (!decoded.ok) {
      this.deps.log.warn({ file, reason: decoded.failure.reason, detail: decoded.failure.detail }, 'photo not decodable');
      return { file, reason: DECODE_FAILURE_MESSAGES[decoded.failure.reason] };
    }
    let faces: readonly DetectedFace[];
    try {
      faces = await usePixels(this.deps.decoder, decoded.image, async (image) => {
        const found = cached ?? (await this.deps.engine.detect(image));
        return unmeasured(found) ? found.map((face) => (face.embedding ? { ...face, sharpness: faceSharpness(image, face.box) } : face)) : found;
      });
    } catch (error) {
      this.deps.log.error({ err: error, file }, 'face recognition failed');
      return { file, reason: 'face recognition failed on this photo' };
    }
    await this.deps.cache.set(hash, faces);
    return { faces, hash };
  }
}

/** Clustering is cubic at worst: beyond this many unknown faces the rest are left out of the groups. */
const MAX_CLUSTERED_FACES = 600;

function clusterUnknown(faces: readonly ClusterInput<UnknownFace>[], threshold: number): UnknownFace[][] {
  const inputs = [...faces].sort((a, b) => a.key.file.localeCompare(b.key.file) || a.key.face - b.key.face).slice(0, MAX_CLUSTERED_FACES);
  return clusterFaces(inputs, threshold, 2)
    .map((cluster) => cluster.central.map((member) => member.key))
    .sort((a, b) => b.length - a.length);
}

/** Every path checked before any work: a wrong path ends the run at once with its name. */
/** The outcomes with each content once: the first name in path order (outcomes come sorted). */
function firstOfEach(outcomes: readonly PhotoOutcome[]): PhotoOutcome[] {
  const seen = new Set<string>();
  return outcomes.filter((o) => !seen.has(o.hash) && seen.add(o.hash));
}

function findDuplicates(outcomes: readonly PhotoOutcome[]): Duplicate[] {
  const names = new Map<string, string[]>();
  for (const outcome of outcomes) names.set(outcome.hash, [...(names.get(outcome.hash) ?? []), outcome.file]);
  return [...names.values()].filter((files) => files.length > 1).map(([kept, ...same]) => ({ kept: kept!, same }));
}

async function checkPaths(request: ArchiveRequest): Promise<{ path: string; kind: 'file' | 'folder' }[]> {
  const creatable = new Set((request.createIfMissing ?? []).map((p) => path.resolve(p)));
  const checked: { path: string; kind: 'file' | 'folder' }[] = [];
  const folderOrCreate = async (target: string): Promise<void> => {
    if (creatable.has(path.resolve(target))) await ensureFolder(target);
    else if ((await inspectPath(target)) !== 'folder') throw new PathError(target, 'not-a-folder');
  };
  for (const input of request.inputs) {
    if (creatable.has(path.resolve(input))) await ensureFolder(input);
    checked.push({ path: input, kind: await inspectPath(input) });
  }
  await folderOrCreate(request.knownDir);
  // A dry run makes nothing, not even the output folder: a missing one is simply empty.
  const outputFolder = request.dryRun ? folderIfThere : ensureWritableFolder;
  await outputFolder(request.outputDir);
  if (request.zipDir) await outputFolder(request.zipDir);
  return checked;
}

async function folderIfThere(target: string): Promise<void> {
  try {
    if ((await inspectPath(target)) !== 'folder') throw new PathError(target, 'not-a-folder');
  } catch (error) {
    if (!(error instanceof PathError && error.problem === 'missing')) throw error;
  }
}

async function collectPhotos(inputs: readonly { path: string; kind: 'file' | 'folder' }[], exclude: readonly string[]): Promise<string[]> {
  const photos = new Set<string>();
  for (const input of inputs) {
    if (input.kind === 'file') photos.add(path.resolve(input.path));
    else for (const photo of await listPhotos(input.path, exclude)) photos.add(path.resolve(photo));
  }
  return [...photos];
}

/** The sub-folders of `knownDir` (one per person) and the photos in each. */
async function listKnown(knownDir: string): Promise<ArchivePlan['known']> {
  // Person folders may be symbolic links (to a shared photo collection, say).
  const names = (await readdir(knownDir)).filter((name) => !name.startsWith('.')).sort((a, b) => a.localeCompare(b));
  const entries: string[] = [];
  for (const name of names) if ((await stat(path.join(knownDir, name)).catch(() => undefined))?.isDirectory()) entries.push(name);
  return Promise.all(
    entries.map(async (name) => ({
      name,
      photos: (await readdir(path.join(knownDir, name), { withFileTypes: true }))
        .filter((e) => e.isFile() && isPhotoName(e.name) && !e.name.startsWith('.'))
        .map((e) => path.join(knownDir, name, e.name))
        .sort(),
    })),
  );
}
