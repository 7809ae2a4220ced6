import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { GroupId, MatrixSnapshot } from '../../core/index.ts';

/** What a snapshot is checked against before it is trusted: the store as it is now. */
export interface SnapshotKey {
  readonly group: GroupId;
  readonly embedder: string;
  /** The group's face version (face_versions) the snapshot was taken at. */
  readonly version: number;
  /** How many faces of `embedder` the group has in the store. */
  readonly faces: number;
  /**
   * The store's mark of this file (`face_versions.kept`, set as it is written): a file the store
   * did not mark last (an older one, or one newer than a database restored from a backup) is not used.
   */
  readonly token: string;
}

interface Header extends SnapshotKey {
  readonly dimensions: number;
  readonly photos: readonly string[];
  readonly people: readonly string[];
  readonly rows: number;
}

/**
 * The face matrices kept in files, so that the first command after a start (a clean one, or a
 * crash) reads one file and the few photos changed since instead of every face row. One file per
 * group, of the one embedder its matrix was of, written when the store closes and after a full
 * load. It is trusted only at the face version it was taken at, or brought up to date from the
 * store's log of the photos written since (`face_changes`); a write that erases anything deletes
 * the file before it and empties the log, so no erased embedding stays in a file, and no file
 * older than an erasure is ever used.
 */
export class MatrixSnapshots {
  constructor(private readonly dir: string) {}

  async save(key: SnapshotKey, snapshot: MatrixSnapshot): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const header: Header = {
      ...key,
      dimensions: snapshot.dimensions,
      photos: snapshot.photos,
      people: snapshot.people,
      rows: snapshot.rows.length / 3,
    };
    const json = Buffer.from(JSON.stringify(header));
    // The header's length, the header padded to whole floats, the rows' numbers, the embeddings.
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(json.length);
    const padding = Buffer.alloc((4 - (json.length % 4)) % 4);
    const file = this.pathOf(key.group);
    const partial = `${file}.${process.pid}.partial`;
    const handle = await open(partial, 'w');
    try {
      await handle.writev([prefix, json, padding, bytes(snapshot.rows), bytes(snapshot.data)]);
      // On the disk before it is named: after a power cut, a file of the right version but with
      // pages never written would be trusted.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, file);
  }

  /** The group's kept matrix, with what it was taken at (the caller checks that against the store). */
  async read(group: GroupId): Promise<{ key: SnapshotKey; snapshot: MatrixSnapshot } | undefined> {
    let content: Buffer;
    try {
      content = await readWhole(this.pathOf(group));
    } catch {
      return undefined;
    }
    try {
      const length = content.readUInt32LE(0);
      const header = JSON.parse(content.subarray(4, 4 + length).toString('utf8')) as Header;
      if (header.group !== group) return undefined;
      // The rows and embeddings start on a whole float of the file, and the file's buffer is its own.
      const start = 4 + length + ((4 - (length % 4)) % 4);
      const rows = new Int32Array(content.buffer, content.byteOffset + start, header.rows * 3);
      const data = new Float32Array(content.buffer, content.byteOffset + start + header.rows * 12, header.rows * header.dimensions);
      const key = { group, embedder: header.embedder, version: header.version, faces: header.faces, token: header.token };
      return { key, snapshot: { dimensions: header.dimensions, photos: header.photos, people: header.people, rows, data } };
    } catch {
      // A damaged or foreign file: the store's rows are the truth.
      return undefined;
    }
  }

  /** The group's file: when it was written (ms since the epoch) and its size; undefined when there is none. */
  async fileOf(group: GroupId): Promise<{ writtenAt: number; bytes: number } | undefined> {
    const found = await stat(this.pathOf(group)).catch(() => undefined);
    return found && { writtenAt: found.mtimeMs, bytes: found.size };
  }

  /** Deletes the group's file, and any a process died while writing: before anything is erased. */
  async drop(group: GroupId): Promise<void> {
    const file = this.pathOf(group);
    const partials = (await readdir(this.dir).catch(() => [] as string[])).filter((name) => name.startsWith(`${path.basename(file)}.`));
    await Promise.all([file, ...partials.map((name) => path.join(this.dir, name))].map((f) => rm(f, { force: true })));
  }

  private pathOf(group: GroupId): string {
    return path.join(this.dir, `${createHash('sha256').update(group).digest('hex').slice(0, 32)}.matrix`);
  }
}

/** How much room `readWhole` leaves after a file's bytes: a part of its size, and at least this much. */
const SPARE_PART = 16;
const SPARE_MIN_BYTES = 1 << 20;

/** How many reads of a kept file run at once, each into its own part of the buffer. */
const READS_AT_ONCE = Math.min(4, availableParallelism());

/**
 * The file in one buffer of its own, read straight into it: a matrix file is 150 MB at 100k photos,
 * and each copy of it (readFile's, then one to align the floats) cost a few hundred milliseconds.
 * Its parts are read at once: most of a read's time is the kernel faulting in the new buffer's
 * pages, which each core does for its own part (at 150 MB on 2 cores, 0.27-0.30 s against 0.45-0.48 s).
 */
async function readWhole(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    // Room to spare after the embeddings, the file's last part: the matrix grows into it (the
    // photos written since the file, the next ones filed) instead of copying 150 MB at its first
    // new face (`FaceMatrix.reserve`).
    const content = Buffer.from(new ArrayBuffer(size + Math.max(SPARE_MIN_BYTES, Math.ceil(size / SPARE_PART))), 0, size);
    const part = Math.ceil(size / READS_AT_ONCE);
    await Promise.all(
      Array.from({ length: READS_AT_ONCE }, async (_, i) => {
        const end = Math.min(size, (i + 1) * part);
        for (let at = i * part; at < end;) {
          const { bytesRead } = await handle.read(content, at, end - at, at);
          if (bytesRead === 0) throw new Error(`${file} ended early`);
          at += bytesRead;
        }
      }),
    );
    return content;
  } finally {
    await handle.close();
  }
}

function bytes(array: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
