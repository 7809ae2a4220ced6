import { constants } from 'node:fs';
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Box, Log, Renderer } from '../core/index.ts';
import { describeError, PathError, safeFolderName } from '../core/index.ts';
import { cleanPersonName, confusableNames, sameName, SUGGEST_BELOW } from '../core/library/index.ts';
import { addNotThis, removeNotThis } from '../archive/index.ts';
import {
  NO_FACES,
  UNKNOWN,
  baselineFolders,
  faceFiledAs,
  matchPhoto,
  previewThreshold,
  runDistributions,
  unknownClusters,
  type ThresholdPreview,
  type UnknownCluster,
} from './analysis.ts';
import type { ArchiveFolders, ArchiveRunner, KnownPhotoProblem, RunPhoto, RunProgress, RunResult } from './archive-runner.ts';
import { resolveInside, type PathRefusal } from './security.ts';
import type { Thumbnails } from './thumbnails.ts';

/** Where the zips go when the page asks for them: inside the save folder, beside `_unknown`. */
export const ZIP_FOLDER = '_zips';
/** Samples copied into a new known person's folder when a cluster is named. */
const SAMPLES_PER_NAME = 3;

/** The folders the page can read from, by the name it uses for them in URLs. */
export type FolderRole = 'photos' | 'known' | 'output';

export interface SessionState {
  readonly folders: Readonly<Record<FolderRole, string>> | undefined;
  readonly zips: boolean;
  readonly threshold: number;
  readonly status: 'idle' | 'running' | 'failed';
  readonly progress: RunProgress | undefined;
  readonly error: string | undefined;
  /** Goes up by one with each finished run, so the page knows when to fetch the results again. */
  readonly runs: number;
}

export interface UiSessionOptions {
  readonly runner: ArchiveRunner;
  readonly renderer: Renderer;
  readonly thumbnails: Thumbnails;
  /** Real paths the folder browser may show and the chosen folders must lie in. */
  readonly roots: readonly string[];
  readonly minClusterPhotos: number;
  readonly log: Log;
}

export type ChooseResult = { readonly ok: true } | { readonly ok: false; readonly role: FolderRole; readonly refusal: PathRefusal | 'not-a-folder' };
export type NameResult =
  | { readonly ok: true; readonly name: string; readonly samples: number }
  | { readonly ok: false; readonly problem: 'no-cluster' | 'busy' | 'empty' | 'too-long' | 'invisible' | 'no-sample' }
  /** `exists`: a known person has that name; asked again with `merge`, the photos are added to them. `confusable`: a different name that reads like theirs. */
  | { readonly ok: false; readonly problem: 'exists' | 'confusable'; readonly existing: string };

/**
 * The page's state on the server: the chosen folders, the run in progress or the last run's
 * result, and what is derived from it (previews, clusters). One run at a time.
 */
export class UiSession {
  private folders: Record<FolderRole, string> | undefined;
  private zips = false;
  private threshold: number;
  private status: SessionState['status'] = 'idle';
  private progress: RunProgress | undefined;
  private error: string | undefined;
  private runs = 0;
  private result: RunResult | undefined;
  private clusters: UnknownCluster[] = [];
  private suggested: { readonly file: string; readonly face: number; readonly person: string; readonly score: number }[] | undefined;
  private distributions: ReturnType<typeof runDistributions> | undefined;
  private baseline: string[][] | undefined;
  private readonly listeners = new Set<(state: SessionState) => void>();

  constructor(private readonly options: UiSessionOptions) {
    this.threshold = options.runner.defaultThreshold;
  }

  get roots(): readonly string[] {
    return this.options.roots;
  }

  state(): SessionState {
    return {
      folders: this.folders,
      zips: this.zips,
      threshold: this.threshold,
      status: this.status,
      progress: this.progress,
      error: this.error,
      runs: this.runs,
    };
  }

  /** Calls `listener` with every change of state until the returned function is called. */
  subscribe(listener: (state: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sets the three folders; each must be an existing folder inside the browser's roots. */
  async choose(requested: Readonly<Record<FolderRole, string>>, zips: boolean): Promise<ChooseResult | 'busy'> {
    // The running job writes to the folders chosen when it started; its result must stay readable.
    if (this.status === 'running') return 'busy';
    const chosen: Partial<Record<FolderRole, string>> = {};
    for (const role of ['photos', 'known', 'output'] as const) {
      const checked = await resolveInside(requested[role], this.options.roots);
      if (!checked.ok) return { ok: false, role, refusal: checked.refusal };
      if (!(await isFolder(checked.path))) return { ok: false, role, refusal: 'not-a-folder' };
      chosen[role] = checked.path;
    }
    this.folders = chosen as Record<FolderRole, string>;
    this.zips = zips;
    // Results of other folders would point at files the page may no longer read.
    this.result = undefined;
    this.clusters = [];
    this.emit();
    return { ok: true };
  }

  /** A chosen folder's real path, for the server's path checks. */
  folder(role: FolderRole): string | undefined {
    return this.folders?.[role];
  }

  /** Starts a run in the background; its progress and end arrive through `subscribe`. */
  startRun(threshold: number = this.threshold): 'started' | 'busy' | 'no-folders' {
    if (this.status === 'running') return 'busy';
    const folders = this.folders;
    if (!folders) return 'no-folders';
    this.threshold = threshold;
    this.status = 'running';
    this.error = undefined;
    this.progress = { phase: 'starting', done: 0, total: 0 };
    this.emit();
    const archiveFolders: ArchiveFolders = { ...folders, ...(this.zips ? { zips: path.join(folders.output, ZIP_FOLDER) } : {}) };
    void this.options.runner
      .run(archiveFolders, threshold, (progress) => {
        this.progress = progress;
        this.emit();
      })
      .then(
        (result) => {
          this.result = result;
          this.distributions = undefined;
          this.baseline = undefined;
          this.suggested = undefined;
          this.clusters = unknownClusters(result, this.options.minClusterPhotos);
          this.status = 'idle';
          this.runs++;
        },
        (error: unknown) => {
          this.options.log.error({ err: error }, 'ui: archive run failed');
          this.status = 'failed';
          this.error = error instanceof PathError ? error.message : `The archive run failed: ${describeError(error)}`;
        },
      )
      .finally(() => {
        this.progress = undefined;
        this.emit();
      });
    return 'started';
  }

  /** The last run's result, for the page: grids per folder, clusters, zips, errors. */
  results(): ResultsView | undefined {
    const result = this.result;
    const folders = this.folders;
    if (!result || !folders) return undefined;
    const grids = new Map<string, string[]>(result.known.map((k) => [k.name, []]));
    for (const photo of result.photos) {
      for (const folder of photo.folders) {
        const list = grids.get(folder) ?? [];
        list.push(path.relative(folders.photos, photo.file));
        grids.set(folder, list);
      }
    }
    const kindOf = (name: string): 'person' | 'unknown' | 'no-faces' => (name === UNKNOWN ? 'unknown' : name === NO_FACES ? 'no-faces' : 'person');
    const order = (name: string): number => (name === UNKNOWN ? 1 : name === NO_FACES ? 2 : 0);
    return {
      threshold: result.threshold,
      elapsedMs: Math.round(result.elapsedMs),
      photos: result.photos.length,
      folders: [...grids.entries()]
        .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
        .map(([name, photos]) => ({ name, kind: kindOf(name), photos: photos.sort() })),
      known: result.known.map((k) => ({
        name: k.name,
        samples: k.samples,
        problems: k.problems.map((p) => ({
          file: path.relative(folders.known, p.file),
          reason: p.reason,
          ...(p.sheet ? { sheet: path.relative(folders.output, p.sheet) } : {}),
        })),
      })),
      errors: result.errors.map((e) => ({ file: path.relative(folders.photos, e.file), reason: e.reason })),
      zips: result.zips.map((z) => ({
        person: z.person,
        photos: z.photos,
        bytes: z.bytes,
        path: path.relative(path.join(folders.output, ZIP_FOLDER), z.path),
      })),
      clusters: this.clusters.map((c) => ({ id: c.id, photos: c.photos, faces: Math.min(c.faces.length, 12) })),
    };
  }

  preview(threshold: number): ThresholdPreview | undefined {
    const result = this.result;
    if (!result) return undefined;
    // Asked at every step of the slider: the run's own decisions are worked out once.
    this.baseline ??= baselineFolders(result);
    return previewThreshold(result, threshold, this.baseline);
  }

  /** The similarity plot of the last run, with `proposed` marked; undefined before a run. */
  async plot(proposed: number | undefined): Promise<Uint8Array | undefined> {
    const result = this.result;
    if (!result) return undefined;
    this.distributions ??= runDistributions(result);
    return this.options.renderer.similarityPlot({
      ...this.distributions,
      threshold: result.threshold,
      ...(proposed === undefined || proposed === result.threshold ? {} : { proposed }),
      title: 'Same person and different people, by similarity',
    });
  }

  /** Where `person`'s face is in the photo at `file` (a checked real path), so that its thumbnail can be centred on it. */
  faceOf(file: string, person: string): Box | undefined {
    const result = this.result;
    const photo = result?.photos.find((p) => p.file === file);
    return result && photo ? faceFiledAs(result, photo, person) : undefined;
  }

  /** A face of an unknown cluster as a small JPEG; its photo too must lie inside the photos folder. */
  async clusterFace(id: number, index: number): Promise<Buffer | undefined> {
    const ref = this.clusters.find((c) => c.id === id)?.faces[index];
    const photo = ref && this.result?.photos[ref.photo];
    const face = ref && photo?.faces[ref.face];
    const root = this.folders?.photos;
    if (!photo || !face || !root) return undefined;
    const checked = await resolveInside(photo.file, [root]);
    return checked.ok ? this.options.thumbnails.face(checked.path, face.box) : undefined;
  }

  /**
   * Names an unknown cluster: copies a few of its photos into `known/<Name>/` (a crop of the face
   * where the photo shows other people too, so the folder never teaches the wrong face), then
   * runs the archive again so its photos move into the person's folder.
   */
  async nameCluster(id: number, rawName: string, merge = false): Promise<NameResult> {
    if (this.status === 'running') return { ok: false, problem: 'busy' };
    const cluster = this.clusters.find((c) => c.id === id);
    const result = this.result;
    const known = this.folders?.known;
    if (!cluster || !result || !known) return { ok: false, problem: 'no-cluster' };
    const target = this.nameTarget(result, known, rawName, merge);
    if (!target.ok) return target;
    const folder = target.folder;
    await mkdir(folder, { recursive: true });
    // Photos showing only this face first. A crop is the fallback: a known photo with two faces
    // in it teaches nothing (the archive cannot tell which face is meant).
    let samples = await this.addSamples(cluster, result, folder, 'whole');
    if (samples === 0) samples = await this.addSamples(cluster, result, folder, 'crop');
    if (samples === 0) return { ok: false, problem: 'no-sample' };
    this.options.log.info({ cluster: id, samples }, 'ui: named an unknown cluster');
    this.startRun();
    return { ok: true, name: path.basename(folder), samples };
  }

  /** The known folder a typed name goes to, with the bots' rules: a known name only when confirmed, no look-alike of one. */
  private nameTarget(result: RunResult, known: string, rawName: string, merge: boolean): { ok: true; folder: string } | Exclude<NameResult, { ok: true }> {
    const cleaned = cleanPersonName(rawName);
    if (!cleaned.ok) return { ok: false, problem: cleaned.reason };
    // A name already known adds to that person only when the user says so; a name that reads like
    // a known one (Ian and lan, a Cyrillic letter) is refused, as the bots refuse it.
    const names = result.known.map((k) => k.name);
    const same = names.find((name) => sameName(name, cleaned.name));
    if (same !== undefined && !merge) return { ok: false, problem: 'exists', existing: same };
    const lookalike = same === undefined ? names.find((name) => confusableNames(name, cleaned.name)) : undefined;
    if (lookalike !== undefined) return { ok: false, problem: 'confusable', existing: lookalike };
    return { ok: true, folder: path.join(known, same ?? safeFolderName(cleaned.name)) };
  }

  /** The faces of one photo of the last run (`file` a checked real path), as the viewer shows them. */
  photoFaces(file: string): readonly ViewerFace[] | undefined {
    const result = this.result;
    const photo = result?.photos.find((p) => p.file === file);
    return result && photo ? viewerFaces(result, photo) : undefined;
  }

  /**
   * Faces the last run left unknown whose best match is just below the threshold: "Is this Anna?".
   * The closest first; a face the user said is not that person is not asked again.
   */
  suggestions(limit = 60): { readonly file: string; readonly face: number; readonly person: string; readonly score: number }[] {
    const result = this.result;
    if (!result) return [];
    this.suggested ??= result.photos
      .flatMap((photo) => viewerFaces(result, photo).flatMap((face, index) => (face.suggestion ? [{ file: photo.file, face: index, ...face.suggestion }] : [])))
      .sort((a, b) => b.score - a.score || a.file.localeCompare(b.file));
    return this.suggested.slice(0, limit);
  }

  /** A face of a photo of the last run as a small JPEG. */
  async photoFace(file: string, index: number): Promise<Buffer | undefined> {
    const face = this.result?.photos.find((p) => p.file === file)?.faces[index];
    return face ? this.options.thumbnails.face(file, face.box) : undefined;
  }

  /**
   * "Not Anna" on a face filed under Anna, or "No" to "Is this Anna?": kept in the known folder's
   * corrections, so this face is never filed under Anna again (by this page or `facefile archive`),
   * then the photos are sorted again.
   */
  async notThis(file: string, index: number, person: string): Promise<CorrectionResult> {
    const found = this.faceFor(file, index);
    if (!found.ok) return found;
    const { result, photo, known } = found;
    const face = viewerFaces(result, photo)[index]!;
    if (face.person !== person && face.suggestion?.person !== person) return { ok: false, problem: 'stale' };
    await addNotThis(known, { hash: photo.hash, box: photo.faces[index]!.box, person }, this.options.log);
    this.options.log.info({ person }, 'ui: a face is not this person');
    this.startRun();
    return { ok: true, name: person };
  }

  /**
   * "Yes" to "Is this Anna?", "Move to…" on a named face, or a name for an unknown one: a crop of
   * the face becomes a sample of that person (a new one when the name is new), a face filed under
   * someone else is marked as not them, and the photos are sorted again.
   */
  async addFace(file: string, index: number, rawName: string, merge = false): Promise<CorrectionResult> {
    const found = this.faceFor(file, index);
    if (!found.ok) return found;
    const { result, photo, known } = found;
    const target = this.nameTarget(result, known, rawName, merge);
    if (!target.ok) return target;
    const name = path.basename(target.folder);
    const box = photo.faces[index]!.box;
    const crop = await this.options.thumbnails.faceSample(
      photo.file,
      box,
      photo.faces.map((f) => f.box),
    );
    if (!crop) return { ok: false, problem: 'no-sample' };
    await mkdir(target.folder, { recursive: true });
    const sample = path.join(target.folder, `${path.parse(photo.file).name} (face ${index + 1}).jpg`);
    // Already there from an earlier correction of this face: that face is a sample already.
    await writeFile(sample, crop, { flag: 'wx' }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
    const filed = viewerFaces(result, photo)[index]!.person;
    if (filed !== undefined && filed !== name) await addNotThis(known, { hash: photo.hash, box, person: filed }, this.options.log);
    // Said before to be "not them", now said to be them: the latest word counts.
    await removeNotThis(known, { hash: photo.hash, box, person: name }, this.options.log);
    this.options.log.info({ moved: filed !== undefined }, 'ui: a face added to a known person');
    this.startRun();
    return { ok: true, name };
  }

  /** The photo and face a correction is about, when there is a run to correct and nothing running. */
  private faceFor(
    file: string,
    index: number,
  ): { ok: true; result: RunResult; photo: RunPhoto; known: string } | { readonly ok: false; readonly problem: 'busy' | 'stale' } {
    if (this.status === 'running') return { ok: false, problem: 'busy' };
    const result = this.result;
    const known = this.folders?.known;
    const photo = result?.photos.find((p) => p.file === file);
    if (!result || !known || !photo || !Number.isInteger(index) || !photo.faces[index]) return { ok: false, problem: 'stale' };
    return { ok: true, result, photo, known };
  }

  private async addSamples(cluster: UnknownCluster, result: RunResult, folder: string, kind: 'whole' | 'crop'): Promise<number> {
    let samples = 0;
    for (const ref of cluster.faces) {
      if (samples >= SAMPLES_PER_NAME) break;
      const photo = result.photos[ref.photo]!;
      if ((photo.faces.length === 1) !== (kind === 'whole')) continue;
      try {
        if (kind === 'whole') await copyFile(photo.file, path.join(folder, path.basename(photo.file)), constants.COPYFILE_EXCL);
        else {
          const crop = await this.options.thumbnails.faceSample(
            photo.file,
            photo.faces[ref.face]!.box,
            photo.faces.map((f) => f.box),
          );
          if (!crop) continue;
          await writeFile(path.join(folder, `${path.parse(photo.file).name} (face ${ref.face + 1}).jpg`), crop, { flag: 'wx' });
        }
        samples++;
      } catch (error) {
        // Already there from an earlier naming: that photo is a sample already.
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') samples++;
        else this.options.log.warn({ err: error, file: photo.file }, 'ui: could not add a sample');
      }
    }
    return samples;
  }

  private emit(): void {
    const state = this.state();
    for (const listener of this.listeners) listener(state);
  }
}

/** The answer to a correction made on one face. */
export type CorrectionResult =
  { readonly ok: true; readonly name: string } | Exclude<NameResult, { ok: true }> | { readonly ok: false; readonly problem: 'stale' };

/** One face of an opened photo: who it is filed under, or who it may be. */
export interface ViewerFace {
  readonly box: Box;
  /** The person it is filed under. */
  readonly person?: string;
  /** Its best match's similarity (the filed person's, or the closest known person's). */
  readonly score?: number;
  /** A known person just below the threshold: asked as "Is this …?". */
  readonly suggestion?: { readonly person: string; readonly score: number };
}

/** A photo's faces decided as the run decides them, with the near misses worth asking about. */
function viewerFaces(result: RunResult, photo: RunPhoto): ViewerFace[] {
  const matches = matchPhoto(photo, result.gallery, { threshold: result.threshold, margin: result.margin });
  return photo.faces.map((face, i) => {
    const match = matches[i]!;
    if (match.kind === 'person') return { box: face.box, person: match.personId, score: match.similarity };
    const best = match.kind === 'unknown' ? match.best : undefined;
    const near = match.kind === 'unknown' && match.reason === 'below-threshold' && best && best.similarity >= result.threshold - SUGGEST_BELOW;
    return {
      box: face.box,
      ...(best ? { score: best.similarity } : {}),
      ...(near ? { suggestion: { person: best.personId, score: best.similarity } } : {}),
    };
  });
}

/** The last run as the page shows it; every path is relative to the folder it lies in. */
export interface ResultsView {
  readonly threshold: number;
  readonly elapsedMs: number;
  readonly photos: number;
  readonly folders: readonly { readonly name: string; readonly kind: 'person' | 'unknown' | 'no-faces'; readonly photos: readonly string[] }[];
  readonly known: readonly { readonly name: string; readonly samples: number; readonly problems: readonly KnownPhotoProblem[] }[];
  readonly errors: readonly { readonly file: string; readonly reason: string }[];
  readonly zips: readonly { readonly person: string; readonly photos: number; readonly bytes: number; readonly path: string }[];
  readonly clusters: readonly { readonly id: number; readonly photos: number; readonly faces: number }[];
}

async function isFolder(target: string): Promise<boolean> {
  return (await stat(target).catch(() => undefined))?.isDirectory() ?? false;
}
