export { MeshFaceEngine, EMBEDDER, EMBEDDERS, DEFAULT_THRESHOLD, type EmbedderName, type EngineOptions } from './mesh-engine.ts';
export { PooledFaceEngine } from './pooled-engine.ts';
export type { BackendPreference } from './model-backends.ts';
