import type { Box } from '../faces.ts';
import type { GroupId } from '../group-id.ts';
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

/** One photo of the group with its named faces, or undefined when there is none the asker may see. */
export async function browsePhoto(ctx: LibraryContext, group: GroupId, hash: string, canSee?: SourceFilter): Promise<BrowsedPhotoDetail | undefined> {
  const record = await ctx.deps.photos.get(group, hash);
  if (!record) return undefined;
  if (canSee && record.source !== undefined && !(await canSee(record.source))) return undefined;
  const names = new Map((await ctx.deps.gallery.list(group)).map((p) => [p.id, p.name]));
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

/** The stored original of a photo the asker may see, or undefined. */
export async function browseOriginal(
  ctx: LibraryContext,
  group: GroupId,
  hash: string,
  canSee?: SourceFilter,
): Promise<{ bytes: Buffer; ext: string } | undefined> {
  const record = await ctx.deps.photos.get(group, hash);
  if (!record) return undefined;
  if (canSee && record.source !== undefined && !(await canSee(record.source))) return undefined;
  return { bytes: await ctx.deps.albums.readOriginal(group, photoRef(record)), ext: record.ext };
}

/** Makes a preview from a photo's original and its faces (the web layer's renderer). */
export type PreviewMaker = (original: Buffer, photo: BrowsedPhotoDetail) => Promise<Uint8Array | undefined>;

/**
 * A preview of a photo the asker may see (`key` names which: a thumbnail, one centred on a face),
 * made once from the original by `make` and kept beside it; undefined when there is no such photo
 * or it cannot be rendered. Forgetting a face or the photo deletes its previews.
 */
export async function browsePreview(
  ctx: LibraryContext,
  group: GroupId,
  hash: string,
  key: string,
  make: PreviewMaker,
  canSee?: SourceFilter,
): Promise<Uint8Array | undefined> {
  const photo = await browsePhoto(ctx, group, hash, canSee);
  if (!photo) return undefined;
  const kept = await ctx.deps.albums.readPreview(group, hash, key);
  if (kept) return kept;
  const made = await make(await ctx.deps.albums.readOriginal(group, photoRef({ ...photo, hash })), photo);
  if (made) await ctx.deps.albums.storePreview(group, hash, key, made);
  return made;
}
