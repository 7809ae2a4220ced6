/**
 * What releases before the relational store left behind, kept only to move it over once: the keyv
 * layout of the library (imported into the tables, then cleared) and the archiver's old face
 * cache (deleted). Nothing live reads these.
 */
export { importKeyvLibrary, IMPORT_MARKER, type ImportReport } from './import-keyv.ts';
export { retireKeyvFaceCache } from './retire-face-cache.ts';
export { openKeyv, connectKeyv, compact, closeKeyv, SQLITE_FILE, type KeyvLocation } from './keyv.ts';
export { KeyvSqliteFile } from './keyv-sqlite-file.ts';
export { KeyvGalleryStore, KeyvPhotoStore, KeyvSettingsStore, type IndexRepair } from './keyv-library-stores.ts';
export { KeyvAuditLog } from './keyv-audit-log.ts';
