// Clustering of unknown faces off the caller's event loop.
export { WorkerFaceClusterer, type WorkerClustererOptions } from './worker-clusterer.ts';
