import { createHash } from 'node:crypto';
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeZip } from '../albums/zip.ts';
import { describeError } from '../core/index.ts';
import { fileInto, type PlacementMode } from '../files/index.ts';
import { CHECK_FOLDER } from './sheets.ts';
import { compareWithRecord, recordOf, type Manifest, type PlacedFile } from './manifest.ts';
import { isSidecarName, sidecarOf, tagCopy, tagsFingerprint, tagsOfPhoto, type CopyTagging, type FaceVerdict } from './tag-copies.ts';

/** Where one analysed photo belongs now. */
export interface Placement {
  readonly file: string;
  readonly hash: string;
  /** Output sub-folders: people, `_unknown` or `_no_faces`. */
  readonly folders: readonly string[];
  /** The faces found and who they are: the names its copies carry. */
  readonly decisions?: readonly FaceVerdict[];
}

/** One sorted copy added or taken away, as `<folder>/<name>` relative to the output folder. */
export interface CopyChange {
  readonly path: string;
  readonly source: string;
}

/** A person's zip after the run (in a dry run, `bytes` is 0 for a zip not yet written). */
export interface ZipWritten {
  readonly person: string;
  readonly path: string;
  readonly photos: number;
  readonly bytes: number;
}

/** What a run changed (or, in a dry run, would change) in the output and zip folders. */
export interface SyncChanges {
  readonly added: readonly CopyChange[];
  readonly removed: readonly CopyChange[];
  /** Copies facefile placed that no longer hold, kept because someone changed them since. */
  readonly keptChanged: readonly string[];
  /** Copies that could not be placed or removed (a full disk, say), with the reason. */
  readonly failed: readonly { readonly path: string; readonly source: string; readonly reason: string }[];
  readonly zipsWritten: readonly string[];
  readonly zipsRemoved: readonly string[];
}

export interface SyncOptions {
  readonly outputDir: string;
  readonly mode: PlacementMode;
  readonly dryRun: boolean;
  /** Names and dates written for each copy; none without. */
  readonly tagging?: CopyTagging;
}

const key = (folder: string, hash: string): string => `${folder}\u0000${hash}`;
const folderOf = (relative: string): string => relative.split('/')[0] ?? '';

/**
 * Brings the output folder in line with `placements`: adds what is missing, and removes the copies
 * facefile placed (per the manifest) that no longer hold, unless changed since. Copies of photos
 * outside this run (another input, a photo that failed to read, an edited original) are left
 * alone, so a later run never deletes the only copy left of a photo. Mutates `manifest`.
 */
export async function syncCopies(
  placements: readonly Placement[],
  manifest: Manifest,
  options: SyncOptions,
): Promise<Omit<SyncChanges, 'zipsWritten' | 'zipsRemoved'>> {
  const wanted = new Map<string, { placement: Placement; folder: string }>();
  // The same bytes under two names are filed once, under the first name in the order given.
  for (const placement of placements)
    for (const folder of placement.folders) if (!wanted.has(key(folder, placement.hash))) wanted.set(key(folder, placement.hash), { placement, folder });
  const inScope = new Set(placements.map((p) => p.hash));

  const removed: CopyChange[] = [];
  const keptChanged: string[] = [];
  const failed: SyncChanges['failed'][number][] = [];
  const held = new Set<string>();
  for (const [relative, record] of [...manifest.files].sort(([a], [b]) => a.localeCompare(b))) {
    const state = await compareWithRecord(path.join(options.outputDir, relative), record);
    const entryKey = key(folderOf(relative), record.hash);
    const stillWanted = wanted.has(entryKey);
    if (state === 'missing') {
      // Taken away by hand: placed again below if it still holds.
      if (!options.dryRun) manifest.files.delete(relative);
    } else if (stillWanted) {
      // Changed or not, it is there: no second copy beside it.
      held.add(entryKey);
      // Names learnt since it was placed (a second known person in it, say) are written again;
      // a copy someone changed is theirs and is left alone.
      if (state === 'unchanged' && options.tagging && !options.dryRun) {
        const retagged = await tagPlaced(options, wanted.get(entryKey)!.placement, relative, record);
        if ('reason' in retagged) failed.push({ path: relative, source: record.source, reason: retagged.reason });
        else manifest.files.set(relative, retagged);
      }
    } else if (!inScope.has(record.hash)) {
      continue;
    } else if (state === 'changed') {
      keptChanged.push(relative);
      if (!options.dryRun) manifest.files.delete(relative);
    } else {
      if (!options.dryRun) {
        try {
          await rm(path.join(options.outputDir, relative), { force: true });
          await rm(sidecarOf(path.join(options.outputDir, relative)), { force: true });
        } catch (error) {
          failed.push({ path: relative, source: record.source, reason: `could not be removed: ${describeError(error)}` });
          continue;
        }
        manifest.files.delete(relative);
        // The folder goes with its last photo; a folder still holding anything stays.
        await rmdir(path.join(options.outputDir, folderOf(relative))).catch(() => undefined);
      }
      removed.push({ path: relative, source: record.source });
    }
  }

  const added: CopyChange[] = [];
  for (const [entryKey, { placement, folder }] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    if (held.has(entryKey)) continue;
    const name = path.basename(placement.file);
    if (options.dryRun) {
      added.push({ path: `${folder}/${name}`, source: placement.file });
      continue;
    }
    try {
      const placed = await fileInto(placement.file, placement.hash, path.join(options.outputDir, folder), name, options.mode);
      const relative = `${folder}/${path.basename(placed.path)}`;
      const placedRecord: PlacedFile = { source: placement.file, hash: placement.hash, ...(await recordOf(placed.path)) };
      const record = options.tagging ? await tagPlaced(options, placement, relative, placedRecord) : placedRecord;
      if ('reason' in record) {
        failed.push({ path: relative, source: placement.file, reason: record.reason });
        manifest.files.set(relative, placedRecord);
      } else manifest.files.set(relative, record);
      // A copy of the same bytes already under this name is taken as facefile's own: an
      // interrupted run leaves such copies before its manifest is saved, and removing one
      // later loses nothing (the original is among the inputs).
      if (placed.outcome === 'filed') added.push({ path: relative, source: placement.file });
    } catch (error) {
      failed.push({ path: `${folder}/${name}`, source: placement.file, reason: `could not be filed: ${describeError(error)}` });
    }
  }
  return { added, removed, keptChanged, failed };
}

/**
 * Writes the names and date of `placement` for its copy at `relative`, unless the record says they
 * are already there; the record as the copy now is (its time changed), or why it could not be done.
 */
async function tagPlaced(options: SyncOptions, placement: Placement, relative: string, record: PlacedFile): Promise<PlacedFile | { reason: string }> {
  const tagging = options.tagging!;
  const copy = path.join(options.outputDir, relative);
  try {
    const tags = await tagsOfPhoto(placement.file, placement.decisions ?? []);
    const fingerprint = tagsFingerprint(tags, tagging.mode);
    if (record.tags === fingerprint) return record;
    await tagCopy(tagging, options.mode, copy, tags);
    return { ...record, ...(await recordOf(copy)), tags: fingerprint };
  } catch (error) {
    return { reason: `names and dates could not be written: ${describeError(error)}` };
  }
}

/** The photos now in each output sub-folder (hidden files and facefile's sidecars aside), by folder name. */
export async function listOutput(outputDir: string): Promise<Map<string, string[]>> {
  const folders = new Map<string, string[]>();
  const entries = await readdir(outputDir, { withFileTypes: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === CHECK_FOLDER) continue;
    const names = (await readdir(path.join(outputDir, entry.name), { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.') && !isSidecarName(e.name))
      .map((e) => e.name)
      .sort((a, b) => a.localeCompare(b));
    folders.set(entry.name, names);
  }
  return folders;
}

/**
 * What the output folder will hold after the changes: the folders as they are, with the additions
 * and removals applied. After a real run that is the folders as they are.
 */
export function projectOutput(current: Map<string, string[]>, changes: Pick<SyncChanges, 'added' | 'removed'>): Map<string, string[]> {
  const projected = new Map([...current].map(([folder, names]) => [folder, new Set(names)]));
  for (const change of changes.removed) projected.get(folderOf(change.path))?.delete(path.posix.basename(change.path));
  for (const change of changes.added) {
    const folder = folderOf(change.path);
    projected.set(folder, (projected.get(folder) ?? new Set()).add(path.posix.basename(change.path)));
  }
  return new Map([...projected].map(([folder, names]) => [folder, [...names].sort((a, b) => a.localeCompare(b))]));
}

/**
 * One `<Person>.zip` per known person with photos, holding exactly their folder; zips facefile
 * wrote earlier for people who no longer have any are removed (unless changed since). A zip whose
 * folder did not change since it was written is left as it is.
 */
export async function syncZips(
  people: readonly string[],
  folders: ReadonlyMap<string, readonly string[]>,
  manifest: Manifest,
  options: SyncOptions & { readonly zipDir: string; /** Folders the copies' sync changed (or would change). */ readonly touched: ReadonlySet<string> },
): Promise<Pick<SyncChanges, 'zipsWritten' | 'zipsRemoved'> & { zips: ZipWritten[] }> {
  const zips: ZipWritten[] = [];
  const zipsWritten: string[] = [];
  const current = new Set<string>();
  for (const person of people) {
    const names = folders.get(person) ?? [];
    if (names.length === 0) continue;
    const destination = path.join(options.zipDir, `${person}.zip`);
    current.add(destination);
    // In a dry run a touched folder is not yet as `names` says: its zip is stale anyway.
    const contents = options.dryRun && options.touched.has(person) ? undefined : await fingerprint(path.join(options.outputDir, person), names);
    const record = manifest.generated.get(destination);
    if (contents !== undefined && record?.contents === contents && (await compareWithRecord(destination, record)) === 'unchanged') {
      zips.push({ person, path: destination, photos: names.length, bytes: record.size });
      continue;
    }
    zipsWritten.push(destination);
    if (options.dryRun || contents === undefined) {
      zips.push({ person, path: destination, photos: names.length, bytes: 0 });
      continue;
    }
    const { bytes } = await writeZip(
      names.map((name) => ({ source: path.join(options.outputDir, person, name), name })),
      destination,
    );
    manifest.generated.set(destination, { ...(await recordOf(destination)), contents });
    zips.push({ person, path: destination, photos: names.length, bytes });
  }
  const zipsRemoved: string[] = [];
  for (const [file, record] of [...manifest.generated]) {
    if (path.dirname(file) !== path.resolve(options.zipDir) || !file.endsWith('.zip') || current.has(file)) continue;
    const state = await compareWithRecord(file, record);
    if (state === 'unchanged') zipsRemoved.push(file);
    if (options.dryRun) continue;
    if (state === 'unchanged') await rm(file, { force: true });
    manifest.generated.delete(file);
  }
  return { zips, zipsWritten, zipsRemoved };
}

/** Names, sizes and times of a folder's files: equal fingerprints, equal zips. */
async function fingerprint(folder: string, names: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const name of names) {
    const info = await stat(path.join(folder, name));
    hash.update(`${name}\u0000${info.size}\u0000${info.mtimeMs}\n`);
  }
  return hash.digest('hex');
}
