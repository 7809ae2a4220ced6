export { openKeyv } from './keyv.ts';
export { KeyvFaceCache, encodeEmbedding, decodeEmbedding } from './face-cache.ts';
