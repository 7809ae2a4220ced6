import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
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
}

interface Header extends SnapshotKey {
  readonly dimensions: number;
  readonly photos: readonly string[];
  readonly people: readonly string[];
  readonly rows: number;
}

/**
 * The face matrices written to files when the store closes, so that the first command after a
 * start reads one file instead of every face row (11 s against well under one at 100k photos on
 * a loaded 2-core machine). One file per group, of the one embedder its matrix was of. It is used
 * once, and only when the group's face version and face count are still those it was taken at:
 * every write to a group's faces bumps the version in the same transaction, so a snapshot of any
 * other state is never trusted. It is deleted as it is read, which the store does at the group's
 * first command or first write after a start, so an erasure never leaves embeddings in a file.
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
    const file = this.fileOf(key.group);
    const partial = `${file}.${process.pid}.partial`;
    const handle = await open(partial, 'w');
    try {
      await handle.writev([prefix, json, padding, bytes(snapshot.rows), bytes(snapshot.data)]);
    } finally {
      await handle.close();
    }
    await rename(partial, file);
  }

  /**
   * The group's kept matrix, with what it was taken at (the caller checks that against the store),
   * and the file deleted: it is read once at most, and no embedding stays on disk beyond that.
   */
  async take(group: GroupId): Promise<{ key: SnapshotKey; snapshot: MatrixSnapshot } | undefined> {
    const file = this.fileOf(group);
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch {
      return undefined;
    }
    await rm(file, { force: true });
    try {
      const length = content.readUInt32LE(0);
      const header = JSON.parse(content.subarray(4, 4 + length).toString('utf8')) as Header;
      if (header.group !== group) return undefined;
      const start = 4 + length + ((4 - (length % 4)) % 4);
      const aligned = new Uint8Array(content.subarray(start)).buffer;
      const rows = new Int32Array(aligned, 0, header.rows * 3);
      const data = new Float32Array(aligned, header.rows * 12, header.rows * header.dimensions);
      const key = { group, embedder: header.embedder, version: header.version, faces: header.faces };
      return { key, snapshot: { dimensions: header.dimensions, photos: header.photos, people: header.people, rows, data } };
    } catch {
      // A damaged or foreign file: the store's rows are the truth.
      return undefined;
    }
  }

  private fileOf(group: GroupId): string {
    return path.join(this.dir, `${createHash('sha256').update(group).digest('hex').slice(0, 32)}.matrix`);
  }
}

function bytes(array: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
