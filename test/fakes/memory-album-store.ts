import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AlbumEntry, AlbumExport, AlbumStore, GroupId, PhotoRecord, PhotoRef, RepairReport, ZipPart } from '../../src/core/index.ts';
import { StorageError } from '../../src/core/index.ts';
// Not from src/albums/index.ts: that loads archiver, which the fake does not need.
import { groupFolderName, safeFolderName } from '../../src/albums/safe-name.ts';
import { storedZip as rawZip, ZIP_END_BYTES } from '../helpers/zip.ts';

const HASH = /^[0-9a-f]{64}$/;
const EXT = /^[a-z0-9]{1,5}$/;
const ORIGINAL_NAME = /^([0-9a-f]{64})\.([a-z0-9]{1,5})$/;
const ENTRY_NAME = /^(\d{4})-(\d{2})-(\d{2})_(\d{2})(\d{2})(\d{2})_([0-9a-f]{8})\.([a-z0-9]{1,5})$/;

/** What a missing file is on disk: tests can tell "absent" from other failures by the same code. */
function notFound(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file: ${path}`), { code: 'ENOENT' });
}

function checkPhoto(photo: { readonly hash: string; readonly ext: string }): void {
  if (typeof photo.hash !== 'string' || !HASH.test(photo.hash)) throw new RangeError(`not a content hash (64 lowercase hex): ${JSON.stringify(photo.hash)}`);
  if (typeof photo.ext !== 'string' || !EXT.test(photo.ext)) throw new RangeError(`not a file extension: ${JSON.stringify(photo.ext)}`);
}

/** `<date>_<hash8>.<ext>`, the date in UTC as `YYYY-MM-DD_HHMMSS`: the names the contract expects. */
function albumEntryName(photo: PhotoRef): string {
  checkPhoto(photo);
  const date = new Date(photo.date);
  // Years outside 0..9999 come out as "+012345-...": no name of that shape.
  const iso = Number.isNaN(date.getTime()) ? '' : date.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new RangeError(`not a usable ISO date: ${JSON.stringify(photo.date)}`);
  return `${iso.slice(0, 10)}_${iso.slice(11, 19).replaceAll(':', '')}_${photo.hash.slice(0, 8)}.${photo.ext}`;
}

function checkFolder(folder: string): void {
  if (typeof folder !== 'string' || folder !== safeFolderName(folder)) throw new RangeError(`not a safe folder name: ${JSON.stringify(folder)}`);
}

/** One group's files: originals by `<hash>.<ext>`, album folders of entries by name. */
interface GroupFiles {
  readonly originals: Map<string, Buffer>;
  readonly albums: Map<string, Map<string, Buffer>>;
  /** By photo hash, then key. */
  readonly previews: Map<string, Map<string, Buffer>>;
}

/**
 * `AlbumStore` in memory, with `FsAlbumStore`'s semantics: the same checks of names (RangeError),
 * the same entry names, links that share the original's bytes (an entry outlives its original and
 * is counted once), zip parts under the limit, and the same repair. Paths are `memory:` names that
 * `read` resolves; export zips are built in memory, stored method. Nothing touches the disk.
 */
export class MemoryAlbumStore implements AlbumStore {
  private readonly files = new Map<GroupId, GroupFiles>();
  private readonly exports = new Map<string, Buffer>();
  private exportCount = 0;

  storeOriginal(group: GroupId, photo: PhotoRef, bytes: Uint8Array): Promise<void> {
    return settle(() => {
      const key = originalName(photo);
      const originals = this.group(group, true).originals;
      if (!originals.has(key)) originals.set(key, Buffer.from(bytes));
    });
  }

  readOriginal(group: GroupId, photo: PhotoRef): Promise<Buffer> {
    return settle(() => Buffer.from(this.original(group, photo, 'readOriginal')));
  }

  hasOriginal(group: GroupId, photo: PhotoRef): Promise<boolean> {
    return settle(() => {
      const key = originalName(photo);
      return this.group(group)?.originals.has(key) ?? false;
    });
  }

  deleteOriginal(group: GroupId, photo: PhotoRef): Promise<void> {
    return settle(() => {
      const key = originalName(photo);
      this.group(group)?.originals.delete(key);
      this.group(group)?.previews.delete(photo.hash);
    });
  }

  readPreview(group: GroupId, hash: string, key: string): Promise<Buffer | undefined> {
    return settle(() => {
      checkPreview(hash, key);
      const bytes = this.group(group)?.previews.get(hash)?.get(key);
      return bytes && Buffer.from(bytes);
    });
  }

  storePreview(group: GroupId, hash: string, key: string, bytes: Uint8Array): Promise<void> {
    return settle(() => {
      checkPreview(hash, key);
      const previews = this.group(group, true).previews;
      const ofPhoto = previews.get(hash) ?? new Map<string, Buffer>();
      ofPhoto.set(key, Buffer.from(bytes));
      previews.set(hash, ofPhoto);
    });
  }

  deletePreviews(group: GroupId, hashes: readonly string[]): Promise<void> {
    return settle(() => {
      for (const hash of hashes) checkPreview(hash, 'any');
      for (const hash of hashes) this.group(group)?.previews.delete(hash);
    });
  }

  link(group: GroupId, folder: string, photo: PhotoRef): Promise<void> {
    return settle(() => {
      checkFolder(folder);
      const name = albumEntryName(photo);
      this.album(group, folder, true).set(name, this.original(group, photo, 'link'));
    });
  }

  unlink(group: GroupId, folder: string, photo: PhotoRef): Promise<void> {
    return settle(() => {
      checkFolder(folder);
      const name = albumEntryName(photo);
      this.album(group, folder)?.delete(name);
    });
  }

  removeAlbum(group: GroupId, folder: string): Promise<void> {
    return settle(() => {
      checkFolder(folder);
      this.group(group)?.albums.delete(folder);
    });
  }

  list(group: GroupId, folder: string): Promise<AlbumEntry[]> {
    return settle(() => {
      checkFolder(folder);
      return this.entries(group, folder);
    });
  }

  export(group: GroupId, folder: string, title: string, maxPartBytes: number, entries?: readonly AlbumEntry[]): Promise<AlbumExport> {
    return settle(() => this.exportNow(group, folder, title, maxPartBytes, entries));
  }

  async streamZip(
    group: GroupId,
    folder: string,
    entries: readonly AlbumEntry[],
    out: NodeJS.WritableStream,
  ): Promise<{ readonly photos: number; readonly skipped: readonly AlbumEntry[] }> {
    checkFolder(folder);
    groupFolderName(group);
    const prefix = `memory:/groups/${groupFolderName(group)}/albums/${folder}/`;
    for (const entry of entries) if (entry.path !== prefix + entry.name) throw new RangeError(`not an entry of album ${folder}: ${JSON.stringify(entry.path)}`);
    const skipped: AlbumEntry[] = [];
    const files = entries.flatMap((entry) => {
      const bytes = this.album(group, folder)?.get(entry.name);
      if (!bytes) skipped.push(entry);
      return bytes ? [{ name: entry.name, bytes }] : [];
    });
    // In 16 KB chunks, as a file is read: a download closed part way stops it part way.
    const zip = storedZip(files);
    await pipeline(Readable.from(Array.from({ length: Math.ceil(zip.length / 16_384) }, (_, i) => zip.subarray(i * 16_384, (i + 1) * 16_384))), out);
    return { photos: files.length, skipped };
  }

  /** The export zips that exist now, by path: what `FsAlbumStore` would have under `tmp/`. */
  exportFiles(): string[] {
    return [...this.exports.keys()];
  }

  private exportNow(group: GroupId, folder: string, title: string, maxPartBytes: number, snapshot: readonly AlbumEntry[] | undefined): AlbumExport {
    checkFolder(folder);
    groupFolderName(group);
    if (!Number.isSafeInteger(maxPartBytes) || maxPartBytes <= 0) throw new RangeError(`maxPartBytes must be a positive integer, not ${maxPartBytes}`);
    const prefix = `memory:/groups/${groupFolderName(group)}/albums/${folder}/`;
    for (const entry of snapshot ?? [])
      if (entry.path !== prefix + entry.name) throw new RangeError(`not an entry of album ${folder}: ${JSON.stringify(entry.path)}`);
    const name = safeFolderName(title, 'album');
    const dir = `memory:/tmp/export-${++this.exportCount}`;
    const tooLarge: AlbumEntry[] = [];
    const skipped: AlbumEntry[] = [];
    // The plan is exact here (the fake knows its zip's size), so it is never re-split.
    const plan: AlbumEntry[][] = [];
    let size = ZIP_END_BYTES;
    for (const entry of snapshot ?? this.entries(group, folder)) {
      const added = zipEntrySize(entry.name, entry.bytes);
      if (ZIP_END_BYTES + added > maxPartBytes) {
        tooLarge.push(entry);
        continue;
      }
      if (plan.length === 0 || size + added > maxPartBytes) {
        plan.push([]);
        size = ZIP_END_BYTES;
      }
      plan.at(-1)!.push(entry);
      size += added;
    }
    const planned = plan.length;
    const exports = this.exports;
    let disposed = false;
    // Like the disk: a part is made when asked for, from the entries still in the album, after the
    // one before it is deleted.
    const build = async function* (this: MemoryAlbumStore): AsyncGenerator<ZipPart> {
      let sent = 0;
      let previous: string | undefined;
      try {
        while (plan.length > 0 && !disposed) {
          const part = plan.shift()!;
          if (previous !== undefined) exports.delete(previous);
          previous = undefined;
          const files = part.flatMap((entry) => {
            const bytes = this.album(group, folder)?.get(entry.name);
            if (!bytes) skipped.push(entry);
            return bytes ? [{ name: entry.name, bytes }] : [];
          });
          await Promise.resolve();
          if (files.length === 0) continue;
          const fileName = sent + 1 + plan.length === 1 ? `${name}.zip` : `${name} (part ${sent + 1} of ${sent + 1 + plan.length}).zip`;
          const zip = storedZip(files);
          previous = `${dir}/${fileName}`;
          exports.set(previous, zip);
          sent++;
          yield { path: previous, bytes: zip.length, photos: files.length, fileName };
        }
      } finally {
        if (previous !== undefined) exports.delete(previous);
      }
    };
    return {
      plannedParts: planned,
      parts: build.call(this),
      tooLarge,
      skipped,
      dispose: () => {
        disposed = true;
        for (const path of [...exports.keys()]) if (path.startsWith(`${dir}/`)) exports.delete(path);
        return Promise.resolve();
      },
    };
  }

  diskUsage(group: GroupId): Promise<number> {
    return settle(() => {
      const files = this.group(group);
      // A link shares its original's bytes: each distinct buffer is counted once, like an inode.
      const counted = new Set<Buffer>([...(files?.originals.values() ?? []), ...[...(files?.albums.values() ?? [])].flatMap((album) => [...album.values()])]);
      return [...counted].reduce((sum, bytes) => sum + bytes.length, 0);
    });
  }

  repair(group: GroupId, records: readonly PhotoRecord[], albums: ReadonlyMap<string, readonly string[]>): Promise<RepairReport> {
    return settle(() => this.repairNow(group, records, albums));
  }

  private repairNow(group: GroupId, records: readonly PhotoRecord[], albums: ReadonlyMap<string, readonly string[]>): RepairReport {
    groupFolderName(group);
    const byHash = new Map<string, PhotoRecord>();
    for (const record of records) {
      checkPhoto(record);
      byHash.set(record.hash, record);
    }
    for (const [folder, hashes] of albums) {
      checkFolder(folder);
      for (const hash of hashes) if (typeof hash !== 'string' || !HASH.test(hash)) throw new RangeError(`not a content hash: ${JSON.stringify(hash)}`);
    }
    const files = this.group(group);
    let orphanOriginalsRemoved = 0;
    for (const key of [...(files?.originals.keys() ?? [])]) {
      const m = ORIGINAL_NAME.exec(key);
      if (m && byHash.get(m[1]!)?.ext === m[2]) continue;
      files!.originals.delete(key);
      orphanOriginalsRemoved++;
    }
    const present = new Set<string>();
    const recordsWithoutOriginal: string[] = [];
    for (const record of records) {
      if (files?.originals.has(originalName(record))) present.add(record.hash);
      else recordsWithoutOriginal.push(record.hash);
    }
    let albumLinksRestored = 0,
      strayAlbumFilesRemoved = 0;
    for (const folder of new Set([...(files?.albums.keys() ?? []), ...albums.keys()])) {
      const wanted = new Map<string, Buffer>();
      const keep = new Set<string>();
      for (const hash of albums.get(folder) ?? []) {
        const record = byHash.get(hash);
        if (record && present.has(hash))
          wanted.set(albumEntryName({ hash, ext: record.ext, date: record.takenAt ?? record.postedAt }), files!.originals.get(originalName(record))!);
        else keep.add(hash.slice(0, 8));
      }
      const album = files?.albums.get(folder);
      for (const name of [...(album?.keys() ?? [])]) {
        const prefix = ENTRY_NAME.exec(name)?.[7];
        if (wanted.has(name) || (prefix !== undefined && keep.has(prefix))) continue;
        album!.delete(name);
        strayAlbumFilesRemoved++;
      }
      for (const [name, source] of wanted) {
        const target = this.album(group, folder, true);
        if (target.has(name)) continue;
        target.set(name, source);
        albumLinksRestored++;
      }
      if (files?.albums.get(folder)?.size === 0) files.albums.delete(folder);
    }
    // Nothing here is ever half written, so there are no temporary files to remove.
    return { temporaryFilesRemoved: 0, orphanOriginalsRemoved, recordsWithoutOriginal, albumLinksRestored, strayAlbumFilesRemoved };
  }

  groups(): Promise<GroupId[]> {
    return Promise.resolve([...this.files.keys()].sort());
  }

  moveGroup(from: GroupId, to: GroupId): Promise<void> {
    return settle(() => {
      groupFolderName(from);
      groupFolderName(to);
      const source = this.files.get(from);
      if (!source) return;
      // Previews are made again on demand: a move leaves them behind.
      const target = this.files.get(to) ?? { originals: new Map<string, Buffer>(), albums: new Map<string, Map<string, Buffer>>(), previews: new Map() };
      for (const [name, bytes] of source.originals) if (!target.originals.has(name)) target.originals.set(name, bytes);
      for (const [folder, entries] of source.albums) {
        const album = target.albums.get(folder) ?? new Map<string, Buffer>();
        for (const [name, bytes] of entries) if (!album.has(name)) album.set(name, bytes);
        target.albums.set(folder, album);
      }
      this.files.set(to, target);
      this.files.delete(from);
    });
  }

  clearExports(): Promise<void> {
    this.exports.clear();
    return Promise.resolve();
  }

  removeGroup(group: GroupId): Promise<void> {
    return settle(() => {
      groupFolderName(group);
      this.files.delete(group);
    });
  }

  /** The bytes at a path this store handed out (album entries, export parts); rejects like a missing file. */
  read(path: string): Promise<Buffer> {
    const exported = this.exports.get(path);
    if (exported) return Promise.resolve(Buffer.from(exported));
    const m = /^memory:\/groups\/([^/]+)\/albums\/([^/]+)\/([^/]+)$/.exec(path);
    const group = m ? [...this.files.keys()].find((g) => groupFolderName(g) === m[1]) : undefined;
    const bytes = m && group !== undefined ? this.files.get(group)?.albums.get(m[2]!)?.get(m[3]!) : undefined;
    return bytes ? Promise.resolve(Buffer.from(bytes)) : Promise.reject(notFound(path));
  }

  /** The original's bytes; a missing one is a StorageError caused by ENOENT, as on disk. */
  private original(group: GroupId, photo: PhotoRef, operation: string): Buffer {
    const key = originalName(photo);
    const bytes = this.group(group)?.originals.get(key);
    if (!bytes) throw new StorageError(`album files of group ${group}: ${operation} failed: no ${key}`, `albums.${operation}`, { cause: notFound(key) });
    return bytes;
  }

  /** The album's entries in date order (names sort by date), hashed as `FsAlbumStore.list` does. */
  private entries(group: GroupId, folder: string): AlbumEntry[] {
    const album = this.album(group, folder);
    if (!album) return [];
    const originals = [...this.files.get(group)!.originals];
    return [...album.keys()].sort().map((name) => {
      const bytes = album.get(name)!;
      const prefix = name.slice(18, 26),
        ext = name.slice(27);
      const candidates = originals.filter(([key]) => key.startsWith(prefix) && key.endsWith(`.${ext}`));
      // Like a hard link's inode: the original whose bytes these are; else the only candidate; else the name's prefix.
      const hash = (candidates.find(([, b]) => b === bytes) ?? (candidates.length === 1 ? candidates[0] : undefined))?.[0].slice(0, 64) ?? prefix;
      return { name, path: `memory:/groups/${groupFolderName(group)}/albums/${folder}/${name}`, bytes: bytes.length, hash };
    });
  }

  /** The group's files; with `create`, a group that has none gets them (as a group folder is made). */
  private group(group: GroupId, create: true): GroupFiles;
  private group(group: GroupId): GroupFiles | undefined;
  private group(group: GroupId, create = false): GroupFiles | undefined {
    groupFolderName(group);
    let files = this.files.get(group);
    if (!files && create) {
      files = { originals: new Map(), albums: new Map(), previews: new Map() };
      this.files.set(group, files);
    }
    return files;
  }

  private album(group: GroupId, folder: string, create: true): Map<string, Buffer>;
  private album(group: GroupId, folder: string): Map<string, Buffer> | undefined;
  private album(group: GroupId, folder: string, create = false): Map<string, Buffer> | undefined {
    const files = create ? this.group(group, true) : this.group(group);
    let album = files?.albums.get(folder);
    if (!album && files && create) {
      album = new Map();
      files.albums.set(folder, album);
    }
    return album;
  }
}

/** Runs `body` as an async store method would: whatever it throws (RangeError included) rejects. */
function checkPreview(hash: string, key: string): void {
  originalName({ hash, ext: 'webp' });
  if (!/^[a-z0-9-]{1,80}$/.test(key)) throw new RangeError(`not a preview key: ${JSON.stringify(key.slice(0, 100))}`);
}

function settle<T>(body: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(body());
  });
}

function originalName(photo: { readonly hash: string; readonly ext: string }): string {
  checkPhoto(photo);
  return `${photo.hash}.${photo.ext}`;
}

/** Local header (30) and central header (46), the name in each, and the data: no descriptor, no extras. */
function zipEntrySize(name: string, dataBytes: number): number {
  return 30 + 46 + 2 * Buffer.byteLength(name) + dataBytes;
}

/** A zip of `entries` with the store method, dated by the date each entry's name carries. */
function storedZip(entries: readonly { name: string; bytes: Buffer }[]): Buffer {
  return rawZip(
    entries.map(({ name, bytes }) => {
      const m = ENTRY_NAME.exec(name)?.slice(1, 7).map(Number) ?? [1980, 1, 1, 0, 0, 0];
      const [y, mo, d, h, mi, s] = m as [number, number, number, number, number, number];
      return { name, bytes, dos: { time: (h << 11) | (mi << 5) | (s >> 1), date: ((Math.max(1980, y) - 1980) << 9) | (mo << 5) | d } };
    }),
  );
}
