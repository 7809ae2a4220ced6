export { MeshFaceEngine, SHIPPED_EMBEDDER, FALLBACK_EMBEDDER, DEFAULT_THRESHOLD, type EngineOptions } from './mesh-engine.ts';
export { EMBEDDERS, type EmbedderName } from './embedders.ts';
export { PooledFaceEngine } from './pooled-engine.ts';
export type { BackendPreference } from './model-backends.ts';
export { OnnxSimilarityKernel } from './onnx/index.ts';
