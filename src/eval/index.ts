/** LFW-style verification statistics for `facefile eval` and the benchmark. */
export { accuracyAt, bestThreshold, centralFace, crossValidate, parsePairs, tarAtFar, type Pair, type ScoredPair } from './verification.ts';
