import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DetectedFace, FaceCache, FaceEngine, GalleryPerson, ImageDecoder, MatchPolicy } from '../core/index.ts';
import { DECODE_FAILURE_MESSAGES, PathError, SerialQueue, sha256Hex, describeError, forEachConcurrent, matchFaces } from '../core/index.ts';
import { writeZip } from '../albums/zip.ts';
import { ensureFolder, fileInto, inspectPath, isPhotoName, listPhotos } from '../files/index.ts';

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
}

/** What a run will work on, found before any model is loaded. */
export interface ArchivePlan {
  readonly request: ArchiveRequest;
  readonly photos: readonly string[];
  readonly known: readonly { readonly name: string; readonly photos: readonly string[] }[];
}

export interface ArchiveProgress {
  begin(phase: 'known' | 'photos', total: number): void;
  advance(file: string): void;
  end(): void;
}

export interface ArchiveDependencies {
  readonly engine: FaceEngine;
  readonly decoder: ImageDecoder;
  readonly cache: FaceCache;
  readonly log: Logger;
  readonly progress?: ArchiveProgress;
  /** Photos in flight at once: enough to keep every engine worker busy while others decode. */
  readonly concurrency?: number;
}

export interface KnownPerson {
  readonly name: string;
  readonly samples: number;
  readonly problems: readonly { readonly file: string; readonly reason: string }[];
}

export interface PhotoError {
  readonly file: string;
  readonly reason: string;
}

export interface PhotoOutcome {
  readonly file: string;
  readonly faces: number;
  readonly people: readonly string[];
  readonly unknownFaces: number;
  readonly folders: readonly string[];
  /** How many of its copies were new this run (0 on a re-run). */
  readonly newlyFiled: number;
}

export interface ArchiveReport {
  readonly known: readonly KnownPerson[];
  readonly photos: number;
  readonly faces: number;
  readonly perPerson: Readonly<Record<string, number>>;
  readonly unknown: number;
  readonly noFaces: number;
  readonly newlyFiled: number;
  readonly errors: readonly PhotoError[];
  readonly outcomes: readonly PhotoOutcome[];
  readonly zips: readonly { readonly person: string; readonly path: string; readonly photos: number; readonly bytes: number }[];
  readonly elapsedMs: number;
  readonly photosPerSecond: number;
}

/**
 * The automatic photo archiver: learns the known people from `<known>/<Person Name>/*`, then files
 * every input photo into `<output>/<Person Name>/` for each person it shows, `_unknown/` when it
 * shows only unrecognised faces, or `_no_faces/`. Originals are never modified or moved.
 */
export class ArchiveJob {
  private readonly filing = new SerialQueue();

  constructor(private readonly deps: ArchiveDependencies) {}

  /**
   * Checks every path (a wrong one throws `PathError` naming it, before any work), creates the
   * default folders, and lists the photos and the known people.
   */
  static async plan(request: ArchiveRequest): Promise<ArchivePlan> {
    const inputs = await checkPaths(request);
    const photos = await collectPhotos(inputs, [request.outputDir, ...(request.zipDir ? [request.zipDir] : [])]);
    return { request, photos, known: await listKnown(request.knownDir) };
  }

  async run(plan: ArchivePlan): Promise<ArchiveReport> {
    const started = performance.now();
    const { request, photos } = plan;
    const { gallery, known } = await this.learnKnown(plan.known);

    const outcomes: PhotoOutcome[] = [];
    const errors: PhotoError[] = [];
    this.deps.progress?.begin('photos', photos.length);
    await forEachConcurrent(photos, this.deps.concurrency ?? this.deps.engine.info.workers * 2, async (file) => {
      try {
        const result = await this.archivePhoto(file, gallery, request);
        if ('reason' in result) errors.push(result);
        else outcomes.push(result);
      } finally {
        this.deps.progress?.advance(file);
      }
    });
    this.deps.progress?.end();

    const zips = request.zipDir ? await this.writeZips(request.outputDir, request.zipDir, known) : [];
    const elapsedMs = performance.now() - started;
    const perPerson: Record<string, number> = Object.fromEntries(known.map((k) => [k.name, 0]));
    for (const outcome of outcomes) for (const person of outcome.people) perPerson[person] = (perPerson[person] ?? 0) + 1;
    outcomes.sort((a, b) => a.file.localeCompare(b.file));
    errors.sort((a, b) => a.file.localeCompare(b.file));
    return {
      known,
      photos: photos.length,
      faces: outcomes.reduce((sum, o) => sum + o.faces, 0),
      perPerson,
      unknown: outcomes.filter((o) => o.folders.includes(UNKNOWN_FOLDER)).length,
      noFaces: outcomes.filter((o) => o.folders.includes(NO_FACES_FOLDER)).length,
      newlyFiled: outcomes.reduce((sum, o) => sum + o.newlyFiled, 0),
      errors,
      outcomes,
      zips,
      elapsedMs,
      photosPerSecond: photos.length / Math.max(elapsedMs / 1000, 1e-9),
    };
  }

  /** One gallery person per sub-folder of `knownDir`, a sample from each photo with a usable face. */
  private async learnKnown(files: ArchivePlan['known']): Promise<{ gallery: GalleryPerson[]; known: KnownPerson[] }> {
    this.deps.progress?.begin('known', files.reduce((sum, f) => sum + f.photos.length, 0));
    const gallery: GalleryPerson[] = [];
    const known: KnownPerson[] = [];
    for (const { name, photos } of files) {
      const samples: Float32Array[] = [];
      const problems: { file: string; reason: string }[] = [];
      await forEachConcurrent(photos, this.deps.concurrency ?? this.deps.engine.info.workers * 2, async (file) => {
        const result = await this.facesOf(file);
        this.deps.progress?.advance(file);
        if ('reason' in result) {
          problems.push(result);
          return;
        }
        const usable = result.faces.filter((f) => f.embedding).sort((a, b) => b.eyeDistance - a.eyeDistance);
        if (usable.length === 0) {
          problems.push({ file, reason: result.faces.length === 0 ? 'no face found' : 'the face is too small or unclear' });
          return;
        }
        // A reference photo with bystanders: the largest face is the person the folder is named after.
        if (usable.length > 1) this.deps.log.info({ file, faces: usable.length }, 'several faces in a known photo: using the largest');
        samples.push(usable[0]!.embedding!);
      });
      known.push({ name, samples: samples.length, problems });
      if (samples.length > 0) gallery.push({ id: name, name, samples });
    }
    this.deps.progress?.end();
    return { gallery, known };
  }

  private async archivePhoto(file: string, gallery: readonly GalleryPerson[], request: ArchiveRequest): Promise<PhotoOutcome | PhotoError> {
    const result = await this.facesOf(file);
    if ('reason' in result) return result;
    const { faces, hash } = result;
    const matches = matchFaces(faces, gallery, request.policy);
    const people = matches.flatMap((m) => (m.kind === 'person' ? [m.personId] : []));
    const folders = faces.length === 0 ? [NO_FACES_FOLDER] : people.length === 0 ? [UNKNOWN_FOLDER] : people;
    let newlyFiled = 0;
    try {
      for (const folder of folders) {
        const placed = await this.filing.run(() => fileInto(file, hash, path.join(request.outputDir, folder), path.basename(file)));
        if (placed.outcome === 'filed') newlyFiled++;
      }
    } catch (error) {
      this.deps.log.error({ err: error, file }, 'filing failed');
      return { file, reason: `could not be filed: ${describeError(error)}` };
    }
    return { file, faces: faces.length, people, unknownFaces: matches.length - people.length, folders, newlyFiled };
  }

  /** The faces in a photo: from the cache when these exact bytes were seen before. */
  private async facesOf(file: string): Promise<{ faces: readonly DetectedFace[]; hash: string } | PhotoError> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      this.deps.log.warn({ err: error, file }, 'photo unreadable');
      return { file, reason: 'the file cannot be read' };
    }
    const hash = sha256Hex(bytes);
    const cached = await this.deps.cache.get(hash);
    if (cached) return { faces: cached, hash };
    const decoded = await this.deps.decoder.decode(bytes);
    if (!decoded.ok) {
      this.deps.log.warn({ file, reason: decoded.failure.reason, detail: decoded.failure.detail }, 'photo not decodable');
      return { file, reason: DECODE_FAILURE_MESSAGES[decoded.failure.reason] };
    }
    let faces: DetectedFace[];
    try {
      faces = await this.deps.engine.detect(decoded.image);
    } catch (error) {
      this.deps.log.error({ err: error, file }, 'face recognition failed');
      return { file, reason: 'face recognition failed on this photo' };
    }
    await this.deps.cache.set(hash, faces);
    return { faces, hash };
  }

  private async writeZips(outputDir: string, zipDir: string, known: readonly KnownPerson[]): Promise<ArchiveReport['zips']> {
    const zips: { person: string; path: string; photos: number; bytes: number }[] = [];
    for (const { name } of known) {
      const folder = path.join(outputDir, name);
      let names: string[];
      try {
        names = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if (names.length === 0) continue;
      const destination = path.join(zipDir, `${name}.zip`);
      const { bytes } = await writeZip(names.map((n) => ({ source: path.join(folder, n), name: n })), destination);
      zips.push({ person: name, path: destination, photos: names.length, bytes });
    }
    return zips;
  }
}

/** Every path checked before any work: a wrong path ends the run at once with its name. */
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
  await ensureFolder(request.outputDir);
  if (request.zipDir) await ensureFolder(request.zipDir);
  return checked;
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
