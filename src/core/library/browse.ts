import type { Box } from '../faces.ts';
import type { GroupId } from '../group-id.ts';
import type { PhotoRecord } from '../records.ts';
import type { LibraryContext } from './context.ts';
import { photoRef } from './context.ts';
import type { SourceFilter } from './results.ts';
import { photoVisibility } from './visibility.ts';

/** Which photos a gallery page asks for: every one of `people` on them, posted in the period. */
export interface BrowseQuery {
  /** Person ids, at least one. */
  readonly people: readonly string[];
  /** ISO instant, inclusive. */
  readonly from?: string;
  /** ISO instant, exclusive. */
  readonly to?: string;
}

/** One photo of a page: enough to place it in its month and ask for its thumbnail. */
export interface BrowsedPhoto {
  readonly hash: string;
  readonly postedAt: string;
  readonly takenAt?: string;
}

/** A page of photos, newest first, and how many the asker may see in all. */
export interface BrowsePage {
  readonly photos: readonly BrowsedPhoto[];
  readonly total: number;
}

/** An opened photo: its faces with their boxes, named where a face was filed as someone. */
export interface BrowsedPhotoDetail extends BrowsedPhoto {
  readonly ext: string;
  readonly bytes: number;
  readonly faces: readonly { readonly box: Box; readonly person?: { readonly id: string; readonly name: string } }[];
}

/**
 * A page of the photos that show every one of `query.people`, newest first (by when each was
 * posted), of those the asker may see. One album query, then the page's records: the page costs
 * its own photos' reads, not the album's.
 */
export async function browse(
  ctx: LibraryContext,
  group: GroupId,
  query: BrowseQuery,
  page: { readonly offset: number; readonly limit: number },
  canSee?: SourceFilter,
): Promise<BrowsePage> {
  const found = await ctx.deps.photos.albumPhotos(group, query);
  let hashes = found.map((p) => p.hash);
  if (canSee) {
    const visible = await photoVisibility(ctx, group, canSee)(hashes);
    hashes = hashes.filter((hash) => visible.has(hash));
  }
  hashes.reverse();
  const wanted = hashes.slice(page.offset, page.offset + page.limit);
  const records = new Map((await ctx.deps.photos.getMany(group, wanted)).map((r) => [r.hash, r]));
  const photos = wanted.flatMap((hash) => {
    const record = records.get(hash);
    return record ? [{ hash, postedAt: record.postedAt, ...(record.takenAt ? { takenAt: record.takenAt } : {}) }] : [];
  });
  return { photos, total: hashes.length };
}

/** The record of a photo of the group the asker may see, or undefined: one read. */
async function visibleRecord(ctx: LibraryContext, group: GroupId, hash: string, canSee: SourceFilter | undefined): Promise<PhotoRecord | undefined> {
  const record = await ctx.deps.photos.get(group, hash);
  if (!record) return undefined;
  if (canSee && record.source !== undefined && !(await canSee(record.source))) return undefined;
  return record;
}

function detailOf(record: PhotoRecord, names: ReadonlyMap<string, string>): BrowsedPhotoDetail {
  return {
    hash: record.hash,
    ext: record.ext,
    bytes: record.bytes,
    postedAt: record.postedAt,
    ...(record.takenAt ? { takenAt: record.takenAt } : {}),
    faces: record.faces.map((face) => {
      const name = face.personId === undefined ? undefined : names.get(face.personId);
      return { box: face.box, ...(name !== undefined && face.personId !== undefined ? { person: { id: face.personId, name } } : {}) };
    }),
  };
}

async function namesOf(ctx: LibraryContext, group: GroupId): Promise<Map<string, string>> {
  return new Map((await ctx.deps.gallery.list(group)).map((p) => [p.id, p.name]));
}

/** One photo of the group with its named faces, or undefined when there is none the asker may see. */
export async function browsePhoto(ctx: LibraryContext, group: GroupId, hash: string, canSee?: SourceFilter): Promise<BrowsedPhotoDetail | undefined> {
  const record = await visibleRecord(ctx, group, hash, canSee);
  return record && detailOf(record, await namesOf(ctx, group));
}

/** An opened photo: its named faces and its stored original, from one read of its record. */
export async function browseOpened(
  ctx: LibraryContext,
  group: GroupId,
  hash: string,
  canSee?: SourceFilter,
): Promise<{ photo: BrowsedPhotoDetail; original: Buffer } | undefined> {
  const record = await visibleRecord(ctx, group, hash, canSee);
  if (!record) return undefined;
  const [names, original] = await Promise.all([namesOf(ctx, group), ctx.deps.albums.readOriginal(group, photoRef(record))]);
  return { photo: detailOf(record, names), original };
}

/** The stored original of a photo the asker may see, or undefined. */
export async function browseOriginal(
  ctx: LibraryContext,
  group: GroupId,
  hash: string,
  canSee?: SourceFilter,
): Promise<{ bytes: Buffer; ext: string } | undefined> {
  const record = await visibleRecord(ctx, group, hash, canSee);
  return record && { bytes: await ctx.deps.albums.readOriginal(group, photoRef(record)), ext: record.ext };
}

/** A face as a preview needs it: where it is, and whose it is (a person id) when it was filed. */
export interface PreviewFace {
  readonly box: Box;
  readonly personId?: string;
}

/** Makes a preview from a photo's original and its faces (the web layer's renderer). */
export type PreviewMaker = (original: Buffer, faces: readonly PreviewFace[]) => Promise<Uint8Array | undefined>;

/**
 * A preview of a photo the asker may see (`key` names which: a thumbnail, one centred on a face),
 * made once from the original by `make` and kept beside it; undefined when there is no such photo
 * or it cannot be rendered. Forgetting a face or the photo deletes its previews. A kept preview
 * costs one read of the record (for the walls) and the file: no names, no original.
 */
export async function browsePreview(
  ctx: LibraryContext,
  group: GroupId,
  hash: string,
  key: string,
  make: PreviewMaker,
  canSee?: SourceFilter,
): Promise<Uint8Array | undefined> {
  const record = await visibleRecord(ctx, group, hash, canSee);
  if (!record) return undefined;
  const kept = await ctx.deps.albums.readPreview(group, hash, key);
  if (kept) return kept;
  const faces = record.faces.map((face) => ({ box: face.box, ...(face.personId !== undefined ? { personId: face.personId } : {}) }));
  const made = await make(await ctx.deps.albums.readOriginal(group, photoRef(record)), faces);
  if (made) await ctx.deps.albums.storePreview(group, hash, key, made);
  return made;
}

/**
 * Each person's cover, by id: the newest photo of their album the asker may see. One query for
 * everyone's newest; only a person whose newest is behind a wall the asker cannot pass costs an
 * album read.
 */
export async function covers(ctx: LibraryContext, group: GroupId, people: readonly string[], canSee?: SourceFilter): Promise<Map<string, string>> {
  const newest = await ctx.deps.photos.newestFiled(group);
  const found = new Map<string, string>();
  for (const id of people) {
    const photo = newest.get(id);
    if (!photo) continue;
    if (!canSee || photo.source === undefined || (await canSee(photo.source))) {
      found.set(id, photo.hash);
      continue;
    }
    const [first] = (await browse(ctx, group, { people: [id] }, { offset: 0, limit: 1 }, canSee)).photos;
    if (first) found.set(id, first.hash);
  }
  return found;
}
