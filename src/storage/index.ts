export { openKeyv, connectKeyv, compact, closeKeyv, SQLITE_FILE } from './keyv.ts';
export type { KeyvLocation } from './keyv.ts';
export { KeyvFaceCache, encodeEmbedding, decodeEmbedding } from './face-cache.ts';
export { KeyvGalleryStore, KeyvPhotoStore, KeyvSettingsStore } from './keyv-library-stores.ts';
export type { IndexRepair } from './keyv-library-stores.ts';
export { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
export { KeyvAuditLog, AUDIT_ENTRIES_KEPT } from './keyv-audit-log.ts';
