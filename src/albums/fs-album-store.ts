import type { Dirent } from 'node:fs';
import { constants, copyFile, lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AlbumEntry, AlbumExport, AlbumStore, GroupId, PhotoRecord, PhotoRef, PhotoTagger, RepairReport, TagsOf } from '../core/index.ts';
import { describeError, StorageError } from '../core/index.ts';
import { placeAt, syncPath, temporaryBeside } from '../files/index.ts';
import { groupFolderName, groupFromFolderName, isHashedGroupFolder, safeFolderName } from './safe-name.ts';
import type { EntryEstimate, PartEntry, PartStage } from './zip-parts.ts';
import { estimateEntryBytes, zipParts } from './zip-parts.ts';
import { streamZip, type ZipBatch } from './zip.ts';
import { errorCode, isFile } from './fs.ts';

const HASH = /^[0-9a-f]{64}$/;
const EXT = /^[a-z0-9]{1,5}$/;
const ORIGINAL_NAME = /^([0-9a-f]{64})\.([a-z0-9]{1,5})$/;
const ENTRY_NAME = /^(\d{4})-(\d{2})-(\d{2})_(\d{2})(\d{2})(\d{2})_([0-9a-f]{8})\.([a-z0-9]{1,5})$/;
const TEMPORARY_SUFFIX = '.partial';
/** Beside a group folder whose name ends in a hash: the group id it cannot be decoded back to. */
const GROUP_ID_FILE = 'group-id';
/** Photos staged at a time by a streamed zip: a bounded number of tagged copies on disk. */
const STREAM_BATCH = 20;
/** From this many photos, `deletePreviews` lists the previews folder once instead of trying each. */
const PREVIEWS_LISTED_FROM = 64;

/** `<date>_<hash8>.<ext>`, the date in UTC as `YYYY-MM-DD_HHMMSS`, so that names sort by date. */
export function albumEntryName(photo: PhotoRef): string {
  checkPhoto(photo);
  const date = new Date(photo.date);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 0 || year > 9999) throw new RangeError(`not a usable ISO date: ${JSON.stringify(photo.date)}`);
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = `${String(year).padStart(4, '0')}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}`;
  const time = `${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}`;
  return `${day}_${time}_${photo.hash.slice(0, 8)}.${photo.ext}`;
}

/** The date an album entry's name carries, or undefined for a name the store did not make. */
function dateOfEntryName(name: string): Date | undefined {
  const m = ENTRY_NAME.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  date.setUTCFullYear(y);
  return date;
}

function checkPhoto(photo: { readonly hash: string; readonly ext: string }): void {
  if (typeof photo.hash !== 'string' || !HASH.test(photo.hash)) throw new RangeError(`not a content hash (64 lowercase hex): ${JSON.stringify(photo.hash)}`);
  if (typeof photo.ext !== 'string' || !EXT.test(photo.ext)) throw new RangeError(`not a file extension: ${JSON.stringify(photo.ext)}`);
}

function checkFolder(folder: string): void {
  if (typeof folder !== 'string' || folder !== safeFolderName(folder)) throw new RangeError(`not a safe folder name: ${JSON.stringify(folder)}`);
}

/** `child`, once it is certain to lie strictly inside `parent`: the last line against path tricks. */
function inside(parent: string, child: string): string {
  const relative = path.relative(parent, child);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new RangeError(`${child} is not inside ${parent}`);
  }
  return child;
}

/** The entries of a folder; none when it does not exist (yet). */
async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Creates `dir` and any missing parents, and flushes the folders that gained an entry, so that a
 * photo acknowledged inside it is not lost with its folder at a power cut.
 */
async function makeDurableFolder(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  const created = [];
  for (let at = dir; at !== path.dirname(first); at = path.dirname(at)) created.push(at);
  for (const folder of created) await syncPath(path.dirname(folder));
}

/**
 * Writes `bytes` to `target` unless a file is there already: to a temporary name, synced, then
 * linked (or, where links fail, copied and renamed) into place, so `target` is whole or absent.
 * The folder is flushed after: the new name is on the disk before the photo is acknowledged.
 */
async function writeOnce(target: string, bytes: Uint8Array): Promise<void> {
  const temporary = temporaryBeside(target);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await placeAt(temporary, target);
  } finally {
    await rm(temporary, { force: true });
  }
  await syncPath(path.dirname(target));
}

/** Removes every `.partial` file below `dir`, without following symbolic links; returns how many. */
async function removeTemporaries(dir: string): Promise<number> {
  let removed = 0;
  for (const entry of await entriesOf(dir)) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) removed += await removeTemporaries(full);
    else if (entry.name.endsWith(TEMPORARY_SUFFIX)) {
      await rm(full, { force: true });
      removed++;
    }
  }
  return removed;
}

interface GroupPaths {
  readonly folder: string;
  readonly root: string;
  readonly photos: string;
  readonly albums: string;
}

/**
 * `AlbumStore` on the local file system, under `<dataDir>/groups/<group>/`. Every name that reaches
 * a path is checked (hashes, extensions, safe folder names) and every path is checked to lie inside
 * its group's folder, so one group's operations can never touch another's files or anything else.
 * Export zips are written under `<dataDir>/tmp/` (or `exportsDir`), one fresh folder per export.
 */
export class FsAlbumStore implements AlbumStore {
  private readonly groupsDir: string;
  private readonly tmpDir: string;

  /**
   * `exportsDir` is where this process builds album zips; it is this process's alone, since
   * `clearExports` empties it at start. Processes that share `dataDir` (scale-out) each pass one.
   */
  constructor(
    dataDir: string,
    exportsDir?: string,
    /** Writes the names and dates into the copies that go into zips; without one, zips hold the album's files as they are. */
    private readonly tagger?: PhotoTagger,
  ) {
    if (typeof dataDir !== 'string' || dataDir.trim() === '') throw new Error('FsAlbumStore needs a data folder');
    this.groupsDir = path.resolve(dataDir, 'groups');
    this.tmpDir = path.resolve(dataDir, exportsDir ?? 'tmp');
  }

  /** Stores the original once, crash-safely; a second call with the same hash writes nothing. */
  async storeOriginal(group: GroupId, photo: PhotoRef, bytes: Uint8Array): Promise<void> {
    const paths = this.paths(group);
    const target = this.originalPath(paths, photo);
    await this.run('storeOriginal', group, async () => {
      if (await isFile(target)) return;
      await this.ensureGroup(paths, group);
      await makeDurableFolder(paths.photos);
      await writeOnce(target, bytes);
    });
  }

  /** The original's bytes; a missing original is a `StorageError` (ask `hasOriginal` first). */
  async readOriginal(group: GroupId, photo: PhotoRef): Promise<Buffer> {
    const target = this.originalPath(this.paths(group), photo);
    return this.run('readOriginal', group, () => readFile(target));
  }

  /** Whether the original is on disk. Failing to look is an error, never "no". */
  async hasOriginal(group: GroupId, photo: PhotoRef): Promise<boolean> {
    const target = this.originalPath(this.paths(group), photo);
    return this.run('hasOriginal', group, () => isFile(target));
  }

  /** Deletes the original and its previews (idempotent). Album entries are separate links and stay until unlinked. */
  async deleteOriginal(group: GroupId, photo: PhotoRef): Promise<void> {
    const paths = this.paths(group);
    const target = this.originalPath(paths, photo);
    const previews = this.previewsPath(paths, photo.hash);
    await this.run('deleteOriginal', group, async () => {
      await rm(target, { force: true });
      await rm(previews, { recursive: true, force: true });
    });
  }

  /** A preview of the photo, from `previews/<hash>/<key>.webp` in the group's folder. */
  async readPreview(group: GroupId, hash: string, key: string): Promise<Buffer | undefined> {
    const target = this.previewPath(this.paths(group), hash, key);
    return this.run('readPreview', group, () =>
      readFile(target).catch((error: unknown) => (errorCode(error) === 'ENOENT' ? undefined : Promise.reject(error as Error))),
    );
  }

  /** Stores a preview crash-safely (a reader sees the whole file or none); a second store replaces it. */
  async storePreview(group: GroupId, hash: string, key: string, bytes: Uint8Array): Promise<void> {
    const paths = this.paths(group);
    const target = this.previewPath(paths, hash, key);
    await this.run('storePreview', group, async () => {
      await this.ensureGroup(paths, group);
      await mkdir(path.dirname(target), { recursive: true });
      const temporary = temporaryBeside(target);
      try {
        await writeFile(temporary, bytes);
        await rename(temporary, target);
      } finally {
        await rm(temporary, { force: true });
      }
    });
  }

  async deletePreviews(group: GroupId, hashes: readonly string[]): Promise<void> {
    const paths = this.paths(group);
    const targets = new Map(hashes.map((hash) => [hash, this.previewsPath(paths, hash)]));
    await this.run('deletePreviews', group, async () => {
      // Few photos: each folder removed where it may be. Many (a forget at 100k photos reaches
      // 20k): the folder listed once and only the photos that have previews touched.
      const present = targets.size < PREVIEWS_LISTED_FROM ? targets.keys() : await this.withPreviews(paths, targets);
      for (const hash of present) await rm(targets.get(hash)!, { recursive: true, force: true });
    });
  }

  /** Which of these photos have a folder of previews. */
  private async withPreviews(paths: GroupPaths, targets: ReadonlyMap<string, string>): Promise<string[]> {
    try {
      return (await readdir(path.join(paths.root, 'previews'))).filter((name) => targets.has(name));
    } catch (cause) {
      if (errorCode(cause) === 'ENOENT') return [];
      throw cause;
    }
  }

  /** Hard-links the original into the album (a copy where links fail); already there is fine. */
  async link(group: GroupId, folder: string, photo: PhotoRef): Promise<void> {
    const paths = this.paths(group);
    const source = this.originalPath(paths, photo);
    const dir = this.albumPath(paths, folder);
    const target = inside(dir, path.join(dir, albumEntryName(photo)));
    await this.run('link', group, async () => {
      await this.ensureGroup(paths, group);
      await mkdir(dir, { recursive: true });
      // placeAt's copy fallback expects callers not to overlap on one target; here two overlapping
      // links of one photo can at worst replace its copy with an identical one, atomically.
      await placeAt(source, target);
    });
  }

  /** Removes the photo's entry from the album (idempotent); the folder stays, even when empty. */
  async unlink(group: GroupId, folder: string, photo: PhotoRef): Promise<void> {
    const dir = this.albumPath(this.paths(group), folder);
    const target = inside(dir, path.join(dir, albumEntryName(photo)));
    await this.run('unlink', group, () => rm(target, { force: true }));
  }

  /** Deletes the album folder and its entries (idempotent). Originals stay. */
  async removeAlbum(group: GroupId, folder: string): Promise<void> {
    const dir = this.albumPath(this.paths(group), folder);
    await this.run('removeAlbum', group, () => rm(dir, { recursive: true, force: true }));
  }

  /**
   * The album's entries in date order. `hash` is the full hash of the original the entry was made
   * from; for an entry whose original is gone it is only the 8 characters its name carries.
   */
  async list(group: GroupId, folder: string): Promise<AlbumEntry[]> {
    const paths = this.paths(group);
    const dir = this.albumPath(paths, folder);
    return this.run('list', group, async () => {
      const names = (await entriesOf(dir)).map((e) => e.name).sort();
      if (names.length === 0) return [];
      const originals = await this.originalsByPrefix(paths);
      const entries: AlbumEntry[] = [];
      for (const name of names) {
        const m = ENTRY_NAME.exec(name);
        if (!m) continue;
        const [prefix, ext] = [m[7]!, m[8]!];
        const full = path.join(dir, name);
        let info;
        try {
          info = await lstat(full);
        } catch (error) {
          // Unlinked between the listing and now: no longer in the album.
          if (errorCode(error) === 'ENOENT') continue;
          throw error;
        }
        if (!info.isFile()) continue;
        const candidates = originals.get(`${prefix}.${ext}`) ?? [];
        const hash = candidates.find((c) => c.ino === info.ino && c.dev === info.dev)?.hash ?? (candidates.length === 1 ? candidates[0]!.hash : prefix);
        entries.push({ name, path: full, bytes: info.size, hash });
      }
      return entries;
    });
  }

  /**
   * Zips the album, or the `entries` of it given, into parts of at most `maxPartBytes` each (see
   * `zipParts`), named "<title>.zip" or "<title> (part 2 of 3).zip", in a folder of their own under
   * `<dataDir>/tmp/`, so concurrent exports never share a file. Only the plan is made here; each
   * part is written when `parts` asks for it. An empty album gives no parts.
   */
  async export(group: GroupId, folder: string, title: string, maxPartBytes: number, entries?: readonly AlbumEntry[], tags?: TagsOf): Promise<AlbumExport> {
    const album = this.albumPath(this.paths(group), folder); // validates group and folder before anything is written
    if (!Number.isSafeInteger(maxPartBytes) || maxPartBytes <= 0) throw new RangeError(`maxPartBytes must be a positive integer, not ${maxPartBytes}`);
    this.checkEntries(album, folder, entries ?? []);
    const name = safeFolderName(title, 'album');
    const fileName = (index: number, count: number): string => (count === 1 ? `${name}.zip` : `${name} (part ${index} of ${count}).zip`);
    return this.run('export', group, async () => {
      const sources = (entries ?? (await this.list(group, folder))).map((entry): AlbumEntry & PartEntry => {
        const date = dateOfEntryName(entry.name);
        return { ...entry, source: entry.path, ...(date ? { date } : {}) };
      });
      await mkdir(this.tmpDir, { recursive: true });
      const dir = await mkdtemp(path.join(this.tmpDir, 'export-'));
      const tagging = this.tagger && tags ? { stage: tagCopies(this.tagger, tags, dir), estimate: TAGGED_ESTIMATE } : {};
      const zips = zipParts(sources, { dir, maxPartBytes, fileName, ...tagging });
      const entryOf = ({ name: n, path: p, bytes, hash }: AlbumEntry): AlbumEntry => ({ name: n, path: p, bytes, hash });
      return {
        plannedParts: zips.planned,
        parts: this.guarded('export', group, zips.parts),
        get tooLarge() {
          return zips.tooLarge.map(entryOf);
        },
        get skipped() {
          return zips.missing.map(entryOf);
        },
        dispose: () => rm(dir, { recursive: true, force: true }),
      };
    });
  }

  /**
   * Streams one zip of `entries` to `out`, staged 20 at a time (tagged copies in a folder of its
   * own under `<dataDir>/tmp/`, removed as each batch is zipped and at the end, and by
   * `clearExports` after a crash), so a download of thousands of photos starts at once and never
   * holds more than a batch of copies.
   */
  async streamZip(
    group: GroupId,
    folder: string,
    entries: readonly AlbumEntry[],
    out: NodeJS.WritableStream,
    tags?: TagsOf,
  ): Promise<{ readonly photos: number; readonly skipped: readonly AlbumEntry[] }> {
    const album = this.albumPath(this.paths(group), folder);
    this.checkEntries(album, folder, entries);
    await mkdir(this.tmpDir, { recursive: true });
    const dir = await mkdtemp(path.join(this.tmpDir, 'export-'));
    const stage = this.tagger && tags ? tagCopies(this.tagger, tags, dir) : undefined;
    const skipped: AlbumEntry[] = [];
    async function* batches(): AsyncGenerator<ZipBatch> {
      for (let i = 0; i < entries.length; i += STREAM_BATCH) {
        const present: (AlbumEntry & PartEntry)[] = [];
        for (const entry of entries.slice(i, i + STREAM_BATCH)) {
          // Taken out of the album since the snapshot (forgotten, "not this"): rightly left out.
          if (!(await isFile(entry.path))) skipped.push(entry);
          else {
            const date = dateOfEntryName(entry.name);
            present.push({ ...entry, source: entry.path, ...(date ? { date } : {}) });
          }
        }
        yield stage ? await stage(present) : { files: present, done: () => Promise.resolve() };
      }
    }
    try {
      const { files } = await streamZip(batches(), out);
      return { photos: files, skipped };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Bytes of the originals plus album files that are not links to them, each file counted once. */
  async diskUsage(group: GroupId): Promise<number> {
    const paths = this.paths(group);
    return this.run('diskUsage', group, async () => {
      const seen = new Set<string>();
      let total = 0;
      const count = async (file: string): Promise<void> => {
        let info;
        try {
          info = await lstat(file, { bigint: true });
        } catch (error) {
          if (errorCode(error) === 'ENOENT') return;
          throw error;
        }
        const key = `${info.dev}:${info.ino}`;
        if (!info.isFile() || seen.has(key)) return;
        seen.add(key);
        total += Number(info.size);
      };
      // Originals first, so that album links to them are recognised as already counted.
      for (const entry of await entriesOf(paths.photos)) if (ORIGINAL_NAME.test(entry.name)) await count(path.join(paths.photos, entry.name));
      for (const album of await entriesOf(paths.albums)) {
        if (!album.isDirectory()) continue;
        const dir = path.join(paths.albums, album.name);
        for (const entry of await entriesOf(dir)) if (ENTRY_NAME.test(entry.name)) await count(path.join(dir, entry.name));
      }
      return total;
    });
  }

  /**
   * Makes the group's files match `records` and `albums` (album folder -> hashes it should hold).
   * The store owns these folders: any file in `photos/` that no record names, and any file in an
   * album folder that is not an expected entry, is removed, except that an album file of an
   * expected photo whose original is missing is kept (it may be the last copy). An entry under an
   * outdated name is replaced by one under the record's date. Run it while nothing else writes to
   * the group: it removes `.partial` files, which an ongoing write is still using.
   */
  async repair(group: GroupId, records: readonly PhotoRecord[], albums: ReadonlyMap<string, readonly string[]>): Promise<RepairReport> {
    const paths = this.paths(group);
    const byHash = new Map<string, PhotoRecord>();
    for (const record of records) {
      checkPhoto(record);
      byHash.set(record.hash, record);
    }
    for (const [folder, hashes] of albums) {
      this.albumPath(paths, folder); // validates
      for (const hash of hashes) if (typeof hash !== 'string' || !HASH.test(hash)) throw new RangeError(`not a content hash: ${JSON.stringify(hash)}`);
    }
    return this.run('repair', group, async () => {
      const temporaryFilesRemoved = await removeTemporaries(paths.root);

      let orphanOriginalsRemoved = 0;
      for (const entry of await entriesOf(paths.photos)) {
        if (entry.isDirectory()) continue;
        const m = ORIGINAL_NAME.exec(entry.name);
        if (m && byHash.get(m[1]!)?.ext === m[2]) continue;
        await rm(path.join(paths.photos, entry.name), { force: true });
        orphanOriginalsRemoved++;
      }

      const present = new Set<string>();
      const recordsWithoutOriginal: string[] = [];
      for (const record of records) {
        if (await isFile(this.originalPath(paths, record))) present.add(record.hash);
        else recordsWithoutOriginal.push(record.hash);
      }
      if (present.size > 0) await this.ensureGroup(paths, group);

      let albumLinksRestored = 0;
      let strayAlbumFilesRemoved = 0;
      const onDisk = (await entriesOf(paths.albums)).filter((e) => e.isDirectory()).map((e) => e.name);
      for (const folder of new Set([...onDisk, ...albums.keys()])) {
        // Folders found on disk need not be safe names (made by hand): they are emptied and removed.
        const dir = inside(paths.albums, path.join(paths.albums, folder));
        const wanted = new Map<string, string>();
        const keep = new Set<string>();
        for (const hash of albums.get(folder) ?? []) {
          const record = byHash.get(hash);
          if (record && present.has(hash)) {
            wanted.set(albumEntryName({ hash, ext: record.ext, date: record.takenAt ?? record.postedAt }), this.originalPath(paths, record));
          } else keep.add(hash.slice(0, 8));
        }
        for (const entry of await entriesOf(dir)) {
          if (entry.isDirectory() || wanted.has(entry.name)) continue;
          const prefix = ENTRY_NAME.exec(entry.name)?.[7];
          if (prefix !== undefined && keep.has(prefix)) continue;
          await rm(path.join(dir, entry.name), { force: true });
          strayAlbumFilesRemoved++;
        }
        for (const [name, source] of wanted) {
          await mkdir(dir, { recursive: true });
          if (await placeAt(source, path.join(dir, name))) albumLinksRestored++;
        }
        try {
          await rmdir(dir);
        } catch (error) {
          if (!['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(errorCode(error) ?? '')) throw error;
        }
      }
      return { temporaryFilesRemoved, orphanOriginalsRemoved, recordsWithoutOriginal, albumLinksRestored, strayAlbumFilesRemoved };
    });
  }

  /** Every group with a folder on disk, sorted. */
  async groups(): Promise<GroupId[]> {
    return this.run('groups', undefined, async () => {
      const found: GroupId[] = [];
      for (const entry of await entriesOf(this.groupsDir)) {
        if (!entry.isDirectory()) continue;
        const group = groupFromFolderName(entry.name) ?? (isHashedGroupFolder(entry.name) ? await this.storedGroupId(entry.name) : undefined);
        if (group !== undefined && groupFolderName(group) === entry.name) found.push(group);
      }
      return found.sort();
    });
  }

  async moveGroup(from: GroupId, to: GroupId): Promise<void> {
    const source = this.paths(from);
    const target = this.paths(to);
    await this.run('moveGroup', from, async () => {
      if (!(await isDirectory(source.root))) return;
      await this.ensureGroup(target, to);
      // Merge file by file: the new id may already hold photos posted after the upgrade.
      for (const sub of ['photos', 'albums'] as const) await mergeInto(source[sub], target[sub]);
      await rm(source.root, { recursive: true, force: true });
    });
  }

  async clearExports(): Promise<void> {
    await this.run('clearExports', undefined, () => rm(this.tmpDir, { recursive: true, force: true }));
  }

  async removeGroup(group: GroupId): Promise<void> {
    const paths = this.paths(group);
    await this.run('removeGroup', group, () => rm(paths.root, { recursive: true, force: true }));
  }

  private paths(group: GroupId): GroupPaths {
    const folder = groupFolderName(group);
    const root = inside(this.groupsDir, path.join(this.groupsDir, folder));
    return { folder, root, photos: path.join(root, 'photos'), albums: path.join(root, 'albums') };
  }

  private originalPath(paths: GroupPaths, photo: { readonly hash: string; readonly ext: string }): string {
    checkPhoto(photo);
    return inside(paths.root, path.join(paths.photos, `${photo.hash}.${photo.ext}`));
  }

  private previewsPath(paths: GroupPaths, hash: string): string {
    checkPhoto({ hash, ext: 'webp' });
    return inside(paths.root, path.join(paths.root, 'previews', hash));
  }

  private previewPath(paths: GroupPaths, hash: string, key: string): string {
    if (!/^[a-z0-9-]{1,80}$/.test(key)) throw new RangeError(`not a preview key: ${JSON.stringify(key.slice(0, 100))}`);
    return path.join(this.previewsPath(paths, hash), `${key}.webp`);
  }

  /** Paths handed back must be this album's own entries: nothing else may end up in a zip. */
  private checkEntries(album: string, folder: string, entries: readonly AlbumEntry[]): void {
    for (const entry of entries) {
      if (!ENTRY_NAME.test(entry.name) || entry.path !== path.join(album, entry.name))
        throw new RangeError(`not an entry of album ${folder}: ${JSON.stringify(entry.path)}`);
    }
  }

  private albumPath(paths: GroupPaths, folder: string): string {
    checkFolder(folder);
    return inside(paths.root, path.join(paths.albums, folder));
  }

  /** Creates the group folder; one whose name ends in a hash gets the id written beside it. */
  private async ensureGroup(paths: GroupPaths, group: GroupId): Promise<void> {
    await makeDurableFolder(paths.root);
    if (!isHashedGroupFolder(paths.folder)) return;
    const file = path.join(paths.root, GROUP_ID_FILE);
    if (!(await isFile(file))) await writeOnce(file, Buffer.from(group, 'utf8'));
  }

  private async storedGroupId(folder: string): Promise<GroupId | undefined> {
    try {
      return await readFile(path.join(this.groupsDir, folder, GROUP_ID_FILE), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** The originals of a group by `<hash8>.<ext>`, with their inodes to tell apart (rare) prefix twins. */
  private async originalsByPrefix(paths: GroupPaths): Promise<Map<string, { hash: string; ino: number; dev: number }[]>> {
    const byPrefix = new Map<string, { hash: string; ino: number; dev: number }[]>();
    for (const entry of await entriesOf(paths.photos)) {
      const m = ORIGINAL_NAME.exec(entry.name);
      if (!m) continue;
      let info;
      try {
        info = await lstat(path.join(paths.photos, entry.name));
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        throw error;
      }
      const key = `${m[1]!.slice(0, 8)}.${m[2]!}`;
      byPrefix.set(key, [...(byPrefix.get(key) ?? []), { hash: m[1]!, ino: info.ino, dev: info.dev }]);
    }
    return byPrefix;
  }

  /** Turns failures of the file system into `StorageError`s; bad arguments (RangeError) stay as they are. */
  private async run<T>(operation: string, group: GroupId | undefined, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (cause) {
      throw storageError(operation, group, cause);
    }
  }

  /** `run` for what is done while iterating. */
  private async *guarded<T>(operation: string, group: GroupId, items: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* items;
    } catch (cause) {
      throw storageError(operation, group, cause);
    }
  }
}

/** Room planned for what a tagged copy adds (its XMP packet and EXIF date), so that parts are rarely re-split. */
const TAG_ALLOWANCE = 8 * 1024;
const TAGGED_ESTIMATE: EntryEstimate = (nameBytes, dataBytes) => estimateEntryBytes(nameBytes, dataBytes + TAG_ALLOWANCE);

/**
 * Stages a part's photos as copies carrying their tags, in the export's own folder: the album
 * entries are hard links to the originals, so writing into them would change the originals. The
 * copies are clones where the file system can, and are deleted once their part is written: one
 * part's worth of copies on disk at a time. A photo whose format cannot carry the tags, or that
 * exiftool fails on, goes in as it is: a zip without one photo's names beats no zip.
 */
function tagCopies(tagger: PhotoTagger, tagsOf: TagsOf, dir: string): PartStage<AlbumEntry & PartEntry> {
  let serial = 0;
  return async (entries) => {
    const byHash = await tagsOf(entries.map((e) => e.hash));
    const copies: string[] = [];
    const done = async (): Promise<void> => {
      await Promise.all(copies.map((copy) => rm(copy, { force: true })));
    };
    try {
      const files = [];
      for (const entry of entries) {
        const tags = byHash.get(entry.hash);
        if (!tags) {
          files.push(entry);
          continue;
        }
        // Hidden names: the parts' own names come from a safe title, which never starts with a dot.
        const copy = path.join(dir, `.tagged-${++serial}${path.extname(entry.name)}`);
        await copyFile(entry.source, copy, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        copies.push(copy);
        const tagged = await tagger.embed(copy, tags).catch(() => false);
        files.push(tagged ? { ...entry, source: copy } : entry);
      }
      return { files, done };
    } catch (error) {
      await done();
      throw error;
    }
  };
}

function storageError(operation: string, group: GroupId | undefined, cause: unknown): unknown {
  if (cause instanceof RangeError || cause instanceof StorageError) return cause;
  const whose = group === undefined ? '' : ` of group ${group}`;
  return new StorageError(`album files${whose}: ${operation} failed: ${describeError(cause)}`, `albums.${operation}`, { cause });
}

/** Moves every file under `from` to the same place under `to`, keeping what `to` already has. */
async function mergeInto(from: string, to: string): Promise<void> {
  for (const entry of await entriesOf(from)) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await mkdir(target, { recursive: true });
      await mergeInto(source, target);
    } else if (!(await isFile(target))) {
      await mkdir(to, { recursive: true });
      await rename(source, target);
    }
  }
}

async function isDirectory(target: string): Promise<boolean> {
  try {
    return (await lstat(target)).isDirectory();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}
