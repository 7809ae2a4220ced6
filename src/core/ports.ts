import type { Box, DecodedImage, DetectedFace, Embedding } from './faces.ts';
import type { NearFace } from './face-matrix.ts';
import type { GroupSettings, Person, PhotoRecord, UnknownCluster } from './records.ts';
import type { GroupId } from './group-id.ts';

export type { NearFace };

/** Why a file could not be turned into pixels. Each has a short user-facing message. */
export type DecodeFailureReason = 'empty' | 'too-large' | 'too-many-pixels' | 'unsupported-format' | 'corrupt';

export interface DecodeFailure {
  readonly reason: DecodeFailureReason;
  /** The decoder's own words, for the log. */
  readonly detail: string;
}

export type DecodeResult = { readonly ok: true; readonly image: DecodedImage } | { readonly ok: false; readonly failure: DecodeFailure };

/** Turns image bytes into oriented RGB pixels, within limits against decompression bombs. */
export interface ImageDecoder {
  decode(bytes: Uint8Array): Promise<DecodeResult>;
  /**
   * Says that nothing holds this image's pixels any more (the caller has found its faces and keeps
   * no view of them), so that their memory may take a later photo's pixels. Optional: a decoder
   * without it, or an image never released, is simply left to the garbage collector.
   */
  release?(image: DecodedImage): void;
}

/** What a running engine says about itself, for the start-up line and the benchmark. */
export interface EngineInfo {
  /** Where the models run: 'onnx' (onnxruntime-node), 'tensorflow' (tfjs-node) or 'wasm' (tfjs). */
  readonly backend: string;
  /** The embedder's name and version, stored beside embeddings so that a change is detected. */
  readonly embedder: string;
  readonly dimensions: number;
  readonly workers: number;
}

/** Finds every face in an image and describes each one. */
export interface FaceEngine {
  readonly info: EngineInfo;
  detect(image: DecodedImage): Promise<DetectedFace[]>;
  close(): Promise<void>;
}

/**
 * Remembers what the engine found in a file, keyed by the file's content hash, so that a second
 * run over the same known faces does not recompute them. Implementations key by embedder too.
 */
export interface FaceCache {
  get(contentHash: string): Promise<readonly DetectedFace[] | undefined>;
  set(contentHash: string, faces: readonly DetectedFace[]): Promise<void>;
  /** Forgets what was found in these files (their faces belonged to someone who asked to be forgotten). */
  delete(contentHashes: readonly string[]): Promise<void>;
}

/** The enrolled people of each group. */
/**
 * Runs a group's changes one at a time, in order of arrival: within one process (a keyed queue),
 * or across every process that shares the library (a lock the database holds for a connection,
 * released by the database itself if the process dies).
 */
export interface GroupLocks {
  /**
   * Runs `task` alone in the group. `held` aborts when the lock is lost while it runs (the
   * connection holding it died): the task must then commit nothing more, and `run` rejects with
   * the reason even if the task went on to resolve.
   */
  run<T>(group: GroupId, task: (held: AbortSignal) => Promise<T>): Promise<T>;
}

export interface GalleryStore {
  list(group: GroupId): Promise<Person[]>;
  save(group: GroupId, person: Person): Promise<void>;
  delete(group: GroupId, personId: string): Promise<void>;
}

/** The photo records of each group. */
export interface PhotoStore {
  get(group: GroupId, hash: string): Promise<PhotoRecord | undefined>;
  /** The records of these photos that exist, in no particular order. */
  getMany(group: GroupId, hashes: readonly string[]): Promise<PhotoRecord[]>;
  /** Stores the record with its faces, replacing the one with the same hash: all of it or nothing. */
  save(group: GroupId, record: PhotoRecord): Promise<void>;
  delete(group: GroupId, hash: string): Promise<void>;
  /** Saves, deletes and erases as one change: all of it or nothing, and one sync to disk. */
  writeMany(group: GroupId, change: PhotoChange): Promise<void>;
  /**
   * Names faces anew (or none, without `personId`) as one change: what a re-file writes. Faces
   * of photos that are gone are skipped.
   */
  assign(group: GroupId, faces: readonly FaceAssignment[]): Promise<void>;
  /** Every record of the group, in no particular order (consistency checks and moves, not commands). */
  list(group: GroupId): Promise<PhotoRecord[]>;
  /**
   * The faces with an embedding by `embedder` at least `min` similar to one of `probes` (embeddings
   * by the same): what an enrolment, a "not this" or a threshold change could re-decide. Costs a
   * scan of the group's embeddings in memory, not a read of its records.
   */
  near(group: GroupId, probes: readonly Embedding[], min: number, embedder: string): Promise<NearFace[]>;
  /**
   * The photos with a face (embedded by `embedder`) whose closest probe of some owner lies at or
   * above `from` and below `below`; `owners[i]` numbers the owner of `probes[i]`, from 0. What a
   * threshold change from one value to the other can re-decide, from the same scan as `near`.
   */
  between(group: GroupId, probes: readonly Embedding[], owners: readonly number[], range: { from: number; below: number }, embedder: string): Promise<string[]>;
  /**
   * The faces (embedded by `embedder`) whose closest probe of `owner` is at least `from` and not
   * below another owner's closest by more than `margin`; `owners[i]` numbers the owner of
   * `probes[i]`. The faces that look like that owner as much as like anyone: what forgetting them takes.
   */
  claimed(
    group: GroupId,
    probes: readonly Embedding[],
    owners: readonly number[],
    claim: { owner: number; from: number; margin: number },
    embedder: string,
  ): Promise<Omit<NearFace, 'hits'>[]>;
  /** The photos with a face named as this person: their album. */
  filedUnder(group: GroupId, personId: string): Promise<string[]>;
  /**
   * The photos that show every one of `query.people` (a face named as each), posted within the
   * period: one query for `/album Anna + Ben 2024`, in order of posting (then hash).
   */
  albumPhotos(group: GroupId, query: AlbumQuery): Promise<AlbumPhoto[]>;
  /**
   * Each person's newest photo (by posting, then hash: the first of their album as the gallery
   * shows it), by person id, for everyone with a face named in the group: the people page's
   * covers, in one query rather than one album each.
   */
  newestFiled(group: GroupId): Promise<Map<string, AlbumPhoto>>;
  /** The faces with an embedding by `embedder` that nobody was recognised in, for clustering. */
  unknownFaces(group: GroupId, embedder: string): Promise<UnknownFace[]>;
  /**
   * The photos with a face embedding not made by `embedder` (or by none recorded), at most `limit`
   * of them, in hash order: what is left to re-describe after a change of embedder.
   */
  describedOtherwise(group: GroupId, embedder: string, limit?: number): Promise<string[]>;
  /** Removes the embeddings of unknown faces recorded before `before` (ISO); returns how many. */
  eraseUnknownEmbeddings(group: GroupId, before: string): Promise<number>;
  /** The group's totals, counted by the store. */
  counts(group: GroupId): Promise<PhotoCounts>;
}

/**
 * Which photos an album asks for. A photo's date here is when it was posted (`postedAt`, the
 * message's date; an import's file or message date), compared as ISO text: every stored date is UTC.
 */
export interface AlbumQuery {
  /** Person ids, at least one: a photo must show each of them. */
  readonly people: readonly string[];
  /** ISO instant, inclusive: photos posted at or after it. */
  readonly from?: string;
  /** ISO instant, exclusive: photos posted before it. */
  readonly to?: string;
}

/** A photo an album query found: enough to pick its album entry and check its walls. */
export interface AlbumPhoto {
  readonly hash: string;
  readonly postedAt: string;
  readonly source?: Readonly<Record<string, string>>;
}

/**
 * One change to a group's photo records (`PhotoStore.writeMany`), applied in this order: records
 * saved (each replacing the one with its hash), records deleted, faces erased.
 */
export interface PhotoChange {
  readonly save?: readonly PhotoRecord[];
  readonly delete?: readonly string[];
  /**
   * Faces whose name and embedding go where they are stored, without reading or rewriting their
   * records: what a forget takes from photos that stay. Each keeps its place in its photo (box,
   * score, position), as an unknown face does once its embedding has expired, so that no other
   * face of the photo moves. Faces of photos that are gone, or positions a photo does not have,
   * are skipped.
   */
  readonly erase?: readonly FaceRef[];
}

/** One stored face: the photo and its position among the photo's faces. */
export interface FaceRef {
  readonly photoHash: string;
  readonly faceIndex: number;
}

/** Who one stored face is, after a re-file. */
export interface FaceAssignment {
  readonly photoHash: string;
  readonly faceIndex: number;
  readonly personId?: string;
}

/** An unknown face, as clustering takes it. */
export interface UnknownFace {
  readonly photoHash: string;
  readonly faceIndex: number;
  readonly embedding: Embedding;
  readonly seenAt: string;
}

export interface PhotoCounts {
  readonly photos: number;
  /** The originals' bytes: what the group's photos take on disk (album entries are links to them). */
  readonly bytes: number;
  readonly faces: number;
  /** Faces with an embedding and no name. */
  readonly unknownFaces: number;
  /** Photos filed under each person, by person id. */
  readonly byPerson: ReadonlyMap<string, number>;
}

/** Per-group settings and the last clustering of unknown faces. */
export interface SettingsStore {
  get(group: GroupId): Promise<GroupSettings | undefined>;
  save(group: GroupId, settings: GroupSettings): Promise<void>;
  getClusters(group: GroupId): Promise<UnknownCluster[] | undefined>;
  saveClusters(group: GroupId, clusters: readonly UnknownCluster[]): Promise<void>;
  /** Removes everything this store holds for the group. */
  forgetGroup?(group: GroupId): Promise<void>;
}

/** One change to a group's library, for its admins: who did what, when. */
export interface AuditEntry {
  /** ISO time. */
  readonly at: string;
  /** The platform user id, when a member asked for it (not the retention sweep, say). */
  readonly by?: string;
  /** Their display name at the time, for reading. */
  readonly byName?: string;
  readonly action: 'enroll' | 'name' | 'not-this' | 'forget' | 'threshold' | 'settings';
  /** What changed, in words; a forgotten person's name is not kept. */
  readonly detail: string;
}

/** The audit log of each group: appended to, read newest first, and only ever the last entries kept. */
export interface AuditLog {
  record(group: GroupId, entry: AuditEntry): Promise<void>;
  /** The newest `limit` entries of the group, newest first. */
  list(group: GroupId, limit: number): Promise<AuditEntry[]>;
  /** Deletes the group's log (the group itself is being erased). */
  forgetGroup(group: GroupId): Promise<void>;
  /**
   * After a person is forgotten: their name in earlier entries becomes "a forgotten person", and
   * entries they made about themselves lose their account id and display name. What they did to
   * others stays theirs: a forget erases a person, not their actions.
   */
  scrub(group: GroupId, person: { readonly name: string; readonly userId?: string }): Promise<void>;
}

/** A photo as it sits in an album folder. */
export interface AlbumEntry {
  /** The entry's file name, `<date>_<hash8>.<ext>`: also its name inside a zip. */
  readonly name: string;
  readonly path: string;
  readonly bytes: number;
  readonly hash: string;
}

/** One zip of an album export: a complete archive on its own, under the size asked for. */
export interface ZipPart {
  readonly path: string;
  readonly bytes: number;
  readonly photos: number;
  /** "Anna (part 2 of 3).zip" */
  readonly fileName: string;
}

/**
 * An album export, planned from the files' sizes; the zips are built one at a time as `parts` is
 * iterated, so temporary disk never holds more than one part, however large the album.
 */
export interface AlbumExport {
  /** How many parts the plan gives, before any is built. */
  readonly plannedParts: number;
  /**
   * Each part is built when asked for, after the one before it is deleted; the last is deleted when
   * the iteration ends. Iterate once. A split of a part measured over the limit adds one to the
   * count in the names of the parts after it.
   */
  readonly parts: AsyncIterable<ZipPart>;
  /** Photos too large to fit in any part under the limit: left out, listed for the reply. Complete once `parts` is done. */
  readonly tooLarge: readonly AlbumEntry[];
  /** Photos whose file was gone when their part was built (taken out of the album since): left out. */
  readonly skipped: readonly AlbumEntry[];
  /** Deletes what is left of the temporary files; call it in every case, after stopping early too. */
  dispose(): Promise<void>;
}

/** What the consistency check found and did. */
export interface RepairReport {
  readonly temporaryFilesRemoved: number;
  readonly orphanOriginalsRemoved: number;
  readonly recordsWithoutOriginal: readonly string[];
  readonly albumLinksRestored: number;
  readonly strayAlbumFilesRemoved: number;
}

/**
 * The files of each group on disk: originals once under `groups/<group>/photos/<hash>.<ext>`, and
 * album folders `groups/<group>/albums/<folder>/<date>_<hash8>.<ext>` of hard links (copies where
 * links are impossible). Writes are temp-file-and-rename: a crash never leaves a half file under a
 * real name. Every path is built from safe names; nothing reaches outside the group's folder.
 */
export interface AlbumStore {
  /** Stores the original once (a second call with the same hash does nothing). */
  storeOriginal(group: GroupId, photo: PhotoRef, bytes: Uint8Array): Promise<void>;
  readOriginal(group: GroupId, photo: PhotoRef): Promise<Buffer>;
  /**
   * A small rendition of a photo kept beside its original (a gallery thumbnail), by a key of the
   * caller's (`[a-z0-9-]`, up to 80): made once, read many times. Undefined until stored.
   */
  readPreview(group: GroupId, hash: string, key: string): Promise<Buffer | undefined>;
  storePreview(group: GroupId, hash: string, key: string, bytes: Uint8Array): Promise<void>;
  /** Deletes every preview of these photos (idempotent): when their faces change or are forgotten. */
  deletePreviews(group: GroupId, hashes: readonly string[]): Promise<void>;
  hasOriginal(group: GroupId, photo: PhotoRef): Promise<boolean>;
  /** Deletes the original and its previews (idempotent). */
  deleteOriginal(group: GroupId, photo: PhotoRef): Promise<void>;
  /** Files the photo into the album folder (idempotent). */
  link(group: GroupId, folder: string, photo: PhotoRef): Promise<void>;
  /** Takes the photo out of the album folder (idempotent). */
  unlink(group: GroupId, folder: string, photo: PhotoRef): Promise<void>;
  /** Deletes an album folder and everything in it. */
  removeAlbum(group: GroupId, folder: string): Promise<void>;
  list(group: GroupId, folder: string): Promise<AlbumEntry[]>;
  /**
   * Zip parts of the album, each under `maxPartBytes`, entries in date order, store method. With
   * `entries` (some of what `list` gave for this album: a snapshot, or the photos the asker may
   * see), just those; else the album as it is now. With `tags`, each photo in a zip is a copy
   * carrying its named faces and date (see `PhotoTags`), asked for part by part; the album's files
   * are never written to. Resolves once planned; see `AlbumExport`.
   */
  export(group: GroupId, folder: string, title: string, maxPartBytes: number, entries?: readonly AlbumEntry[], tags?: TagsOf): Promise<AlbumExport>;
  /**
   * One zip of `entries` (some of what `list` gave for this album), in their order, streamed to
   * `out` as it is made (a download), with `tags` in copies as `export` writes them. An entry whose
   * file is gone by the time it is reached is left out and listed. Ends `out`; rejects when `out`
   * fails or closes first, leaving nothing behind.
   */
  streamZip(
    group: GroupId,
    folder: string,
    entries: readonly AlbumEntry[],
    out: NodeJS.WritableStream,
    tags?: TagsOf,
  ): Promise<{ readonly photos: number; readonly skipped: readonly AlbumEntry[] }>;
  /** Bytes used by the group's originals and album copies that are not links. */
  diskUsage(group: GroupId): Promise<number>;
  /**
   * Brings the files in line with the records after an interrupted run: removes temporary files
   * and originals no record names (never acknowledged), restores missing album links, removes
   * album files no record accounts for, and lists records whose original is gone.
   */
  repair(group: GroupId, records: readonly PhotoRecord[], albums: ReadonlyMap<string, readonly string[]>): Promise<RepairReport>;
  /** The groups that have a folder on disk. */
  groups(): Promise<GroupId[]>;
  /**
   * Gives a group's files to another id (a Telegram group upgraded to a supergroup): what `to`
   * already has is kept, what it lacks is moved from `from`, and `from` is gone afterwards.
   */
  moveGroup(from: GroupId, to: GroupId): Promise<void>;
  /** Deletes every file of the group: originals, albums, everything. */
  removeGroup(group: GroupId): Promise<void>;
  /** Deletes the export zips an earlier run left behind (killed while sending an album). */
  clearExports(): Promise<void>;
}

/** Enough of a photo to name its files. */
export interface PhotoRef {
  readonly hash: string;
  readonly ext: string;
  /** The date in the album file name: taken-at when known, else posted-at (ISO). */
  readonly date: string;
}

/** A face to show on a contact sheet: cut from its decoded photo by its box. */
export interface SheetFace {
  readonly image: DecodedImage;
  readonly box: Box;
  /** The number (or short text) drawn on the face's tile: what the user types to pick it. */
  readonly label: string;
}

/** Same-person and different-person similarities, for the threshold report. */
export interface SimilarityPlotData {
  readonly same: readonly number[];
  readonly different: readonly number[];
  /**
   * Unlabelled: each face found in the photos, its best similarity to any known person, drawn as
   * an outline over the two labelled groups. It shows how many faces lie near the threshold, which
   * faces already named at the threshold (all above it by construction) cannot.
   */
  readonly closest?: readonly number[];
  readonly threshold: number;
  readonly proposed?: number;
  readonly title?: string;
}

/** Draws the pictures the library answers with. Outputs are PNG bytes. */
export interface Renderer {
  /** A grid of face crops, each labelled, with an optional caption line. */
  contactSheet(faces: readonly SheetFace[], caption?: string): Promise<Uint8Array>;
  /** Two histograms over the similarity axis, with the threshold (and a proposed one) marked. */
  similarityPlot(data: SimilarityPlotData): Promise<Uint8Array>;
}

/** A named face on a photo that leaves facefile. */
export interface TaggedFace {
  readonly name: string;
  /** In the decoded photo's pixels, as the engine saw it: EXIF orientation applied, scaled to the decoder's largest side. */
  readonly box: Box;
}

/**
 * What a photo carries when it leaves facefile (zips, archive copies): its named faces as XMP face
 * regions, and a capture date. Unknown faces are left out on purpose: strangers stay unnamed.
 */
export interface PhotoTags {
  readonly faces: readonly TaggedFace[];
  /** ISO date written only when the photo carries no capture date of its own (the message date, a file's time). */
  readonly fallbackDate?: string;
}

/** The tags of the photos with these content hashes (those it has none for are left out). */
export type TagsOf = (hashes: readonly string[]) => Promise<ReadonlyMap<string, PhotoTags>>;

/** Where the tags of a copy go: into the copy, beside it as `<name>.xmp`, or nowhere. */
export type XmpMode = 'embed' | 'sidecar' | 'off';

/**
 * Writes `PhotoTags` as XMP (Metadata Working Group face regions, EXIF and XMP dates). It is only
 * ever given files facefile owns alone: copies and temporary files, never an original or a hard
 * link to one.
 */
export interface PhotoTagger {
  /** Writes the tags into `file`; false when its format cannot carry them (the file is then unchanged). */
  embed(file: string, tags: PhotoTags): Promise<boolean>;
  /** Writes an XMP sidecar at `target` for the photo `photo` (read, never changed); false when there is nothing to write. */
  sidecar(photo: string, target: string, tags: PhotoTags): Promise<boolean>;
  /** Ends the writer's helper process; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Where a chat-history import (a backfill) of one channel has got to: it pages from the newest
 * message back, and `before` is the oldest message whose photos are queued, so a restart goes on
 * from there. An import from files keeps one too (channel `FILE_IMPORT_CHANNEL`), counting photos:
 * `queued` filed (or there already), `skipped` not filed, of `total`.
 */
export interface ImportCursor {
  readonly group: GroupId;
  readonly channel: string;
  /** The oldest message done; absent before the first page. */
  readonly before?: string;
  /** The channel's history is read to its first message (or it could not be read at all). */
  readonly done: boolean;
  readonly scanned: number;
  readonly queued: number;
  readonly skipped: number;
  /** Why the channel was left, when it was: one line (it cannot be read, ...). */
  readonly problem?: string;
  readonly startedAt: string;
  /** When the counts last moved: with `startedAt`, the import's pace. */
  readonly updatedAt?: string;
  /** Photos in all, when known before it starts (an import from files; a channel's history is not). */
  readonly total?: number;
  /** Who started it (a member id). */
  readonly requestedBy?: string;
  /** The chat (a channel id) where `/import` was run: it hears there when the import ends. */
  readonly announceIn?: string;
}

/** The cursors of history imports, one per group and channel, kept with the library. */
export interface ImportCursors {
  /** Every cursor, or a group's. */
  list(group?: GroupId): Promise<ImportCursor[]>;
  save(cursor: ImportCursor): Promise<void>;
  /** Deletes a group's cursors, or only those of `channels` (a cancel, or before a new import); returns how many. */
  remove(group: GroupId, channels?: readonly string[]): Promise<number>;
}
