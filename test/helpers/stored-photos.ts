import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { GroupId } from '../../src/core/index.ts';

/** A photo of a group as the SQLite library holds it. */
export interface StoredPhoto {
  readonly hash: string;
  readonly postedAt: string;
  readonly postedBy: string | null;
  readonly takenAt: string | null;
  /** The record's source ids, as stored (JSON). */
  readonly source: string | null;
  /** The people its faces are filed under, by name. */
  readonly people: string[];
}

/**
 * What the library holds of a group, by hash, read straight from the data folder's SQLite file
 * (read-only, so a test can look while the CLI writes); empty when there is no library yet.
 */
export function storedPhotos(dataDir: string, group: GroupId): Map<string, StoredPhoto> {
  const file = path.join(dataDir, 'library.sqlite');
  if (!existsSync(file)) return new Map();
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        `select p.hash, p.posted_at as postedAt, p.posted_by as postedBy, p.taken_at as takenAt, p.source, group_concat(distinct pe.name) as people
         from photos p left join faces f on f.group_id = p.group_id and f.photo_hash = p.hash
         left join people pe on pe.group_id = f.group_id and pe.id = f.person_id
         where p.group_id = ? group by p.hash`,
      )
      .all(group) as (Omit<StoredPhoto, 'people'> & { people: string | null })[];
    return new Map(rows.map((r) => [r.hash, { ...r, people: r.people ? r.people.split(',') : [] }]));
  } finally {
    db.close();
  }
}

/** A file's content hash, as the library keys photos. */
export async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}
