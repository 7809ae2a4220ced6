import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { memberId, type GroupId } from '../../src/core/index.ts';
import { POSTS, shouldBeFiled, type PostLabel } from './datasets.ts';
import type { GeneratedExport } from './telegram-export.ts';

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

/**
 * Every post of a generated Telegram export is in the library once, dated by its message, credited
 * to its poster, and filed under exactly the people the labels say (where they say).
 */
export async function assertExportFiled(
  stored: ReadonlyMap<string, StoredPhoto>,
  exported: GeneratedExport,
  labels: Readonly<Record<string, PostLabel>>,
): Promise<void> {
  for (const post of exported.posts) {
    const photo = stored.get(await sha256File(path.join(POSTS, post.post)));
    assert.ok(photo, `${post.post} not filed`);
    assert.equal(photo.postedAt, post.date.toISOString(), `${post.post}: its message's date`);
    assert.equal(photo.postedBy, memberId('telegram', post.fromId), `${post.post}: its poster`);
    for (const person of new Set([...labels[post.post]!.people, ...photo.people])) {
      const expected = shouldBeFiled(labels, post.post, person);
      if (expected !== undefined) assert.equal(photo.people.includes(person), expected, `${post.post}: ${person} ${expected ? 'missing' : 'filed wrongly'}`);
    }
  }
}
