export { HumanFaceEngine, EMBEDDER, EMBEDDERS, DEFAULT_THRESHOLD, type EmbedderName, type EngineOptions } from './human-engine.ts';
export { PooledFaceEngine } from './pooled-engine.ts';
export type { BackendPreference } from './runtime.ts';
