export { HumanFaceEngine, EMBEDDER, DEFAULT_THRESHOLD, type EngineOptions } from './human-engine.ts';
export { PooledFaceEngine } from './pooled-engine.ts';
export type { BackendPreference } from './runtime.ts';
