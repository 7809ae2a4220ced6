/** What operators see of a long-running process: Prometheus metrics, liveness and readiness. */
export {
  ERROR_KINDS,
  JOB_OUTCOMES,
  Metrics,
  QUEUE_NAMES,
  QUEUE_STATES,
  RECOGNITION_STAGES,
  depthFromJobCounts,
  type ErrorKind,
  type JobOutcome,
  type JobTimes,
  type MetricsOptions,
  type QueueDepth,
  type QueueDepthReader,
  type QueueName,
  type QueueState,
  type RecognitionStage,
  type StageTimer,
} from './metrics.ts';
export { serveObservability, type ObservabilityOptions, type ObservabilityServer, type Readiness, type ReadinessCheck } from './http.ts';
export { timedDecoder, timedEngine } from './timed-ports.ts';
export { TimeoutError, withTimeout } from './timeout.ts';
