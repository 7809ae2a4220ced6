import type { Generated } from 'kysely';

// The library's tables. Every table is keyed by the group first: nothing crosses groups, and every
// query a command makes starts from its group. Times are ISO strings (they sort as they compare);
// embeddings are the raw bytes of a Float32Array (BLOB in SQLite, bytea in PostgreSQL).

export interface PeopleTable {
  group_id: string;
  id: string;
  name: string;
  folder: string;
  user_id: string | null;
  created_at: string;
}

export interface SamplesTable {
  group_id: string;
  person_id: string;
  position: number;
  embedding: Uint8Array;
  /** The embedder that made `embedding` (`EngineInfo.embedder`). */
  embedder: string | null;
  photo_hash: string | null;
  added_by: string | null;
  added_at: string;
}

export interface RejectionsTable {
  group_id: string;
  person_id: string;
  photo_hash: string;
}

export interface PhotosTable {
  group_id: string;
  hash: string;
  ext: string;
  bytes: number;
  original_name: string | null;
  posted_by: string | null;
  posted_at: string;
  taken_at: string | null;
  /** JSON of the platform's ids for the message and file. */
  source: string | null;
}

export interface FacesTable {
  group_id: string;
  photo_hash: string;
  position: number;
  box_x: number;
  box_y: number;
  box_width: number;
  box_height: number;
  score: number;
  eye_distance: number;
  embedding: Uint8Array | null;
  /**
   * The embedder that made `embedding`; null when none was made. A forget's erasure leaves it, so
   * read it only with an embedding (migration 0013); the retention sweep clears both.
   */
  embedder: string | null;
  unusable: string | null;
  person_id: string | null;
  seen_at: string;
  /** The photo's `posted_at`, written with the record: a person's newest photo is an index's end. */
  posted_at: string;
}

export interface SettingsTable {
  group_id: string;
  threshold: number;
  reply_mode: string;
  removed_at: string | null;
  moving_from: string | null;
  /** JSON of the work begun and not finished. */
  pending: string | null;
  /** When someone was last forgotten (ISO). */
  forgotten_at: string | null;
}

export interface ClustersTable {
  group_id: string;
  /** JSON of the last clustering: its ids are only meaningful until the next one. */
  clusters: string;
}

/** Bumped in the transaction of every write to a group's faces: in-memory copies compare it. */
export interface FaceVersionsTable {
  group_id: string;
  version: number;
  /** The first version `face_changes` reaches back to: a kept matrix of an older one is not brought up to date. */
  changes_from: number;
  /** The mark of the matrix file last kept for the group (`SnapshotKey.token`). */
  kept: string | null;
}

/** Which photos each version's write changed (not erasing ones): a kept matrix is brought up to date from it. */
export interface FaceChangesTable {
  group_id: string;
  version: number;
  photo_hash: string;
}

export interface AuditTable {
  id: Generated<number>;
  group_id: string;
  at: string;
  by_user: string | null;
  by_name: string | null;
  action: string;
  detail: string;
}

/**
 * Each group's totals, kept in the transaction of every write to photos and faces: by triggers for
 * rows added and deleted, by the store for faces updated in place (migration 0012).
 */
export interface GroupTotalsTable {
  group_id: string;
  photos: number | string;
  bytes: number | string;
  faces: number | string;
  unknown_faces: number | string;
}

/** How many photos have a face named as each person, kept as `group_totals` is. */
export interface PersonPhotosTable {
  group_id: string;
  person_id: string;
  photos: number | string;
}

/** Facts about the whole deployment, such as the id of the photo volume its processes share. */
export interface DeploymentTable {
  key: string;
  value: string;
}

/** The archiver's faces of a photo (by content), per embedder: JSON, embeddings as base64. */
export interface FaceCacheTable {
  hash: string;
  embedder: string;
  faces: string;
}

/** Where each channel's history import has got to (`ImportCursors`). */
export interface HistoryImportsTable {
  group_id: string;
  channel_id: string;
  before_id: string | null;
  done: number;
  scanned: number;
  queued: number;
  skipped: number;
  problem: string | null;
  started_at: string;
  requested_by: string | null;
  total: number | null;
  updated_at: string | null;
  announce_in: string | null;
}

export interface LibrarySchema {
  people: PeopleTable;
  samples: SamplesTable;
  rejections: RejectionsTable;
  photos: PhotosTable;
  faces: FacesTable;
  settings: SettingsTable;
  clusters: ClustersTable;
  face_versions: FaceVersionsTable;
  face_changes: FaceChangesTable;
  audit: AuditTable;
  deployment: DeploymentTable;
  face_cache: FaceCacheTable;
  history_imports: HistoryImportsTable;
  group_totals: GroupTotalsTable;
  person_photos: PersonPhotosTable;
}
