/** LFW-style verification statistics for `facefile eval` and the benchmark. */
export { accuracyAt, bestThreshold, crossValidate, parsePairs, tarAtFar, type Pair, type ScoredPair } from './verification.ts';
