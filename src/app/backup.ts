import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import BetterSqlite3 from 'better-sqlite3';
import { extract, pack } from 'tar-stream';
import type { Config } from '../config.ts';
import type { GroupId, Log } from '../core/index.ts';
import { ConfigError, FacefileError, InputError, PathError, sha256Hex } from '../core/index.ts';
import { albumsOf } from '../core/library/index.ts';
import { FsAlbumStore } from '../albums/index.ts';
import { syncPath } from '../files/index.ts';
import { lockDataDir } from '../storage/index.ts';
import { LIBRARY_DB_FILE, SqlGalleryStore, SqlPhotoStore, openLibraryDatabase, snapshotSqlite, sqliteProblem } from '../storage/sql/index.ts';

/** The backup's own description, its first entry. */
const MANIFEST = 'facefile-backup.json';
const FORMAT = 1;
const PHOTO_ENTRY = /^groups\/(\d{1,6})\/([0-9a-f]{64})\.([a-z0-9]{1,5})$/;

interface Manifest {
  readonly format: number;
  readonly createdAt: string;
  /** Entry `groups/<index>/...` belongs to `groups[index]`. */
  readonly groups: readonly GroupId[];
  readonly photos: number;
}

export interface BackupReport {
  readonly file: string;
  readonly groups: number;
  readonly photos: number;
  /** Photos whose original went (a forget) between the snapshot and their copy: left out. */
  readonly photosGone: number;
  readonly bytes: number;
}

/**
 * `facefile backup`: the embedded library and the originals it names, in one tar file, taken
 * while a bot goes on filing. The database is copied first with SQLite's online backup (a
 * consistent snapshot); then the original of every photo that snapshot records. Originals are
 * stored once by content and never changed, so the pair is consistent: a photo filed after the
 * snapshot is in neither, one forgotten after it is left out (and its record dropped at restore).
 * Albums are not copied: they are links the records define, rebuilt at restore. The file is
 * written beside its final name and renamed when complete.
 */
export async function backupLibrary(config: Config, file: string, progress?: (done: number, total: number) => void): Promise<BackupReport> {
  if (config.databaseUrl) {
    throw new ConfigError([
      'DATABASE_URL is set: facefile backup copies the embedded SQLite library. On PostgreSQL, back up the database with pg_dump and DATA_DIR/groups with your file backup',
    ]);
  }
  const dbFile = path.join(config.dataDir, LIBRARY_DB_FILE);
  if (!(await stat(dbFile).catch(() => undefined))) throw new PathError(dbFile, 'missing');
  const target = path.resolve(file);
  await checkWritableFolder(path.dirname(target));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-backup-'));
  const partial = `${target}.partial`;
  try {
    const snapshot = await snapshotSqlite(config.dataDir, path.join(scratch, LIBRARY_DB_FILE));
    const photos = listPhotos(snapshot);
    const groups = [...new Set(photos.map((p) => p.group))];
    const albums = new FsAlbumStore(config.dataDir);
    const tar = pack();
    const written = pipeline(tar, createWriteStream(partial));
    const manifest: Manifest = { format: FORMAT, createdAt: new Date().toISOString(), groups, photos: photos.length };
    await entry(tar, MANIFEST, Buffer.from(JSON.stringify(manifest, null, 2)));
    await fileEntry(tar, LIBRARY_DB_FILE, snapshot);
    let gone = 0;
    for (const [i, photo] of photos.entries()) {
      // The original's path needs only its hash and extension; the date is for album entries.
      const ref = { hash: photo.hash, ext: photo.ext, date: '' };
      const bytes = await albums.readOriginal(photo.group, ref).catch(async (error: unknown) => {
        if (!(await albums.hasOriginal(photo.group, ref))) return undefined;
        throw error;
      });
      if (bytes) await entry(tar, `groups/${groups.indexOf(photo.group)}/${photo.hash}.${photo.ext}`, bytes);
      else gone++;
      progress?.(i + 1, photos.length);
    }
    tar.finalize();
    await written;
    await syncPath(partial);
    await rename(partial, target);
    await syncPath(path.dirname(target));
    return { file: target, groups: groups.length, photos: photos.length - gone, photosGone: gone, bytes: (await stat(target)).size };
  } finally {
    await rm(partial, { force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface RestoreReport {
  readonly groups: number;
  readonly photos: number;
  readonly albumLinks: number;
}

/**
 * `facefile restore`: a backup into an empty DATA_DIR (a library is never overwritten), with the
 * data folder's lock held, so never beside a running bot. Every entry is checked before it is
 * written: only the backup's own names, each photo's bytes against the hash that names it, the
 * database by SQLite's integrity check. The schema is then brought up to date (a backup of an
 * earlier release restores into this one) and the album folders rebuilt from the records. A
 * failure removes what was restored.
 */
export async function restoreLibrary(config: Config, log: Log, file: string, progress?: (done: number, total: number) => void): Promise<RestoreReport> {
  if (config.databaseUrl) throw new ConfigError(['DATABASE_URL is set: facefile restore restores the embedded SQLite library; on PostgreSQL use pg_restore']);
  const source = path.resolve(file);
  const info = await stat(source).catch(() => undefined);
  if (!info) throw new PathError(source, 'missing');
  if (!info.isFile()) throw new PathError(source, 'not-a-file');
  const dataDir = config.dataDir;
  if (await holdsLibrary(dataDir)) {
    throw new ConfigError([
      `DATA_DIR ${dataDir} already holds a library: restore into an empty DATA_DIR (set DATA_DIR to a new folder), so that nothing is overwritten`,
    ]);
  }
  const lock = await lockDataDir(dataDir, (error) => log.error({ err: error }, 'the lock on the data folder was lost during a restore'));
  const dbFile = path.join(dataDir, LIBRARY_DB_FILE);
  const partialDb = `${dbFile}.partial`;
  const albums = new FsAlbumStore(dataDir);
  try {
    const manifest = await unpack(source, partialDb, albums, progress);
    const problem = sqliteProblem(partialDb);
    if (problem) throw new InputError(source, `the library database in it is damaged (${problem})`);
    await rename(partialDb, dbFile);
    const database = await openLibraryDatabase({ dataDir });
    let albumLinks = 0;
    try {
      const photos = new SqlPhotoStore(database.db);
      const gallery = new SqlGalleryStore(database.db);
      for (const group of await albums.groups()) {
        const [records, people] = await Promise.all([photos.list(group), gallery.list(group)]);
        const report = await albums.repair(group, records, albumsOf(records, people));
        albumLinks += report.albumLinksRestored;
        for (const hash of report.recordsWithoutOriginal) await photos.delete(group, hash);
      }
    } finally {
      await database.close();
    }
    return { groups: manifest.groups.length, photos: manifest.photos, albumLinks };
  } catch (error) {
    // Nothing half-restored is left to be taken for a library.
    await rm(partialDb, { force: true });
    await rm(dbFile, { force: true });
    for (const suffix of ['-wal', '-shm']) await rm(`${dbFile}${suffix}`, { force: true });
    await rm(path.join(dataDir, 'groups'), { recursive: true, force: true });
    throw error;
  } finally {
    await lock.release();
  }
}

/** Reads the tar: the manifest first, then the database and the photos, each checked. */
async function unpack(source: string, partialDb: string, albums: FsAlbumStore, progress?: (done: number, total: number) => void): Promise<Manifest> {
  const notBackup = (why: string) => new InputError(source, `not a facefile backup (${why})`);
  const tar = extract();
  const reading = pipeline(createReadStream(source), tar).catch((cause: unknown) => {
    throw new InputError(source, 'not a tar file, or cut short', { cause });
  });
  const consuming = (async () => {
    let manifest: Manifest | undefined;
    let photos = 0;
    let sawDb = false;
    for await (const item of tar) {
      const { name, type } = item.header;
      if (type !== 'file') throw notBackup(`${name} is a ${type}, not a file`);
      if (!manifest) {
        if (name !== MANIFEST) throw notBackup(`it does not start with ${MANIFEST}`);
        manifest = parseManifest(await readAll(item), notBackup);
        continue;
      }
      if (name === LIBRARY_DB_FILE) {
        await pipeline(item, createWriteStream(partialDb));
        sawDb = true;
        continue;
      }
      const photo = PHOTO_ENTRY.exec(name);
      const group = photo ? manifest.groups[Number(photo[1])] : undefined;
      if (!photo || group === undefined) throw notBackup(`unexpected entry ${JSON.stringify(name)}`);
      const bytes = await readAll(item);
      if (sha256Hex(bytes) !== photo[2]) throw new InputError(source, `the photo ${name} in it is damaged (its content does not match its name)`);
      await albums.storeOriginal(group, { hash: photo[2], ext: photo[3]!, date: '' }, bytes);
      progress?.(++photos, manifest.photos);
    }
    if (!manifest) throw notBackup('it is empty');
    if (!sawDb) throw notBackup(`it has no ${LIBRARY_DB_FILE}`);
    return manifest;
  })();
  // Both settle, whichever fails first: a broken file fails the reading, a wrong entry the loop
  // (and a broken file the loop too, with the reader's own words).
  const checked = consuming.catch((cause: unknown) => {
    throw cause instanceof FacefileError ? cause : new InputError(source, 'not a tar file, or cut short', { cause });
  });
  const [, manifest] = await Promise.all([reading, checked]);
  return manifest;
}

function parseManifest(bytes: Buffer, notBackup: (why: string) => Error): Manifest {
  let value: Partial<Manifest>;
  try {
    value = JSON.parse(bytes.toString('utf8')) as Partial<Manifest>;
  } catch {
    throw notBackup(`${MANIFEST} is not JSON`);
  }
  if (value.format !== FORMAT) throw notBackup(`format ${String(value.format)}; this facefile reads format ${FORMAT}`);
  if (!Array.isArray(value.groups) || !value.groups.every((g) => typeof g === 'string') || typeof value.photos !== 'number')
    throw notBackup(`${MANIFEST} is incomplete`);
  return value as Manifest;
}

function listPhotos(snapshot: string): { group: GroupId; hash: string; ext: string }[] {
  const db = new BetterSqlite3(snapshot, { readonly: true });
  try {
    return db
      .prepare<[], { group_id: string; hash: string; ext: string }>('select group_id, hash, ext from photos order by group_id, hash')
      .all()
      .map((r) => ({ group: r.group_id, hash: r.hash, ext: r.ext }));
  } finally {
    db.close();
  }
}

async function holdsLibrary(dataDir: string): Promise<boolean> {
  if (await stat(path.join(dataDir, LIBRARY_DB_FILE)).catch(() => undefined)) return true;
  const groups = await readdir(path.join(dataDir, 'groups')).catch(() => [] as string[]);
  return groups.length > 0;
}

async function checkWritableFolder(folder: string): Promise<void> {
  const info = await stat(folder).catch(() => undefined);
  if (!info) throw new PathError(folder, 'missing');
  if (!info.isDirectory()) throw new PathError(folder, 'not-a-folder');
}

function entry(tar: ReturnType<typeof pack>, name: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => tar.entry({ name, size: bytes.length, mode: 0o644 }, bytes, (error) => (error ? reject(error) : resolve())));
}

async function fileEntry(tar: ReturnType<typeof pack>, name: string, file: string): Promise<void> {
  const { size } = await stat(file);
  await new Promise<void>((resolve, reject) => {
    const sink = tar.entry({ name, size, mode: 0o644 }, (error) => (error ? reject(error) : resolve()));
    createReadStream(file).on('error', reject).pipe(sink);
  });
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
