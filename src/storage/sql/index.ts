export {
  openLibraryDatabase,
  migrate,
  snapshotSqlite,
  sqliteProblem,
  withoutPassword,
  LIBRARY_DB_FILE,
  type LibraryDatabase,
  type DatabaseLocation,
} from './database.ts';
export { SqlGalleryStore, SqlPhotoStore } from './sql-library-stores.ts';
export { MatrixSnapshots } from './matrix-snapshots.ts';
export { SqlSettingsStore, SqlAuditLog } from './sql-group-stores.ts';
export type { SqlDialectName } from './migrations.ts';
export { SqlFaceCache } from './sql-face-cache.ts';
export { SqlImportCursors } from './sql-import-cursors.ts';
export { LEGACY_EMBEDDER } from './migrations.ts';
export { PgGroupLocks } from './pg-group-locks.ts';
export { verifyPostgres } from './verify-postgres.ts';
export { checkSharedVolume, VOLUME_MARKER } from './shared-volume.ts';
