export { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
export { encodeEmbedding, decodeEmbedding } from './embedding-text.ts';
