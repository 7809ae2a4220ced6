import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Log } from '../core/index.ts';
import { describeError, silentLog } from '../core/index.ts';
import { redactSecrets } from '../logger.ts';
import { withTimeout } from './timeout.ts';

// Every label below takes its values from a closed, typed set, so that the number of series stays
// bounded however many groups and users the bot serves. Never put a group id, a user id, a person,
// a hash or an error message in a label: each distinct value is a new series kept for ever by
// Prometheus. Per-group detail belongs in the log, not here.

/** The BullMQ queues (and the single process's folder queue, as `photos`) whose jobs are counted. */
export const QUEUE_NAMES = ['photos', 'refile', 'export', 'clustering'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * How one attempt at a job ended. Every job ends exactly once in `filed`, `duplicate`,
 * `undecodable`, `failed` (given up at once: an unreadable job, an `UnrecoverableError`) or
 * `dead_letter` (its last try failed; set aside); `retried` counts the failed tries before that.
 */
export const JOB_OUTCOMES = ['filed', 'duplicate', 'undecodable', 'failed', 'retried', 'dead_letter'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** The steps of one photo's recognition: pixels from bytes, faces from pixels, albums and records. */
export const RECOGNITION_STAGES = ['decode', 'detect', 'file'] as const;
export type RecognitionStage = (typeof RECOGNITION_STAGES)[number];

/** Job states as BullMQ's `getJobCounts()` names them; the folder queue uses the first four. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized', 'paused', 'waiting-children', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Where a failure came from, for `facefile_errors_total`. */
export const ERROR_KINDS = ['job', 'storage', 'engine', 'queue', 'platform', 'handler', 'scrape', 'other'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** One reading of a queue's depth, taken at scrape time. */
export interface QueueDepth {
  readonly queue: QueueName;
  readonly state: QueueState;
  readonly jobs: number;
}

/** Reads the depth of the queues the owner holds; called on every scrape, so never stale. */
export type QueueDepthReader = () => Promise<readonly QueueDepth[]>;

/** How long one attempt waited and ran, in seconds; either may be left out when unknown. */
export interface JobTimes {
  /** From enqueue to start. */
  readonly waitSeconds?: number;
  /** From start to end. */
  readonly runSeconds?: number;
}

/** Times an async step of a photo; what the library's decoder, engine and filing are timed with. */
export interface StageTimer {
  timeStage<T>(stage: RecognitionStage, work: () => Promise<T>): Promise<T>;
}

export interface MetricsOptions {
  /** Where a failing depth reader is reported; silent by default. */
  readonly log?: Log;
  /** How long a scrape waits for each depth reader before leaving its queue out (default 2 s). */
  readonly depthTimeoutMs?: number;
}

/** A wait spans a burst's backlog (minutes); a run, one photo's decode, detect and filing (seconds). */
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600];
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
const STAGE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The metrics of one facefile process (`bot`, `worker`, or the single process), on a registry of
 * its own rather than prom-client's global one, so that tests and several instances never share
 * values. Holds Node's default process metrics (`facefile_process_*`, `facefile_nodejs_*`) and:
 *
 * - `facefile_jobs_total{queue,outcome}`: jobs by how they ended. Jobs per second is
 *   `rate(facefile_jobs_total[1m])` in Prometheus; finished jobs per second (without the retried
 *   tries) `sum by (queue) (rate(facefile_jobs_total{outcome!="retried"}[1m]))`.
 * - `facefile_job_wait_seconds{queue}` and `facefile_job_run_seconds{queue}`: histograms.
 * - `facefile_recognition_seconds{stage}`: histogram per photo and stage.
 * - `facefile_queue_depth{queue,state}`: read from the queue itself at scrape time (`onQueueDepth`).
 * - `facefile_errors_total{kind}`.
 *
 * Readiness is not a metric: `/readyz` answers it (see `serveObservability`).
 */
export class Metrics implements StageTimer {
  /** The registry `/metrics` exposes. */
  readonly registry = new Registry();
  private readonly jobs: Counter<'queue' | 'outcome'>;
  private readonly jobWait: Histogram<'queue'>;
  private readonly jobRun: Histogram<'queue'>;
  private readonly stages: Histogram<'stage'>;
  private readonly errors: Counter<'kind'>;
  private readonly depthReaders = new Set<QueueDepthReader>();
  private readonly log: Log;
  private readonly depthTimeoutMs: number;

  constructor(options: MetricsOptions = {}) {
    this.log = options.log ?? silentLog;
    this.depthTimeoutMs = options.depthTimeoutMs ?? 2_000;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'facefile_' });
    this.jobs = new Counter({
      name: 'facefile_jobs_total',
      help: 'Jobs (attempts, for outcome="retried") by queue and outcome, a count; rate() gives jobs per second.',
      labelNames: ['queue', 'outcome'],
      registers,
    });
    this.jobWait = new Histogram({
      name: 'facefile_job_wait_seconds',
      help: 'Time from a job being enqueued to its start, in seconds.',
      labelNames: ['queue'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.jobRun = new Histogram({
      name: 'facefile_job_run_seconds',
      help: 'Time from a job’s start to its end, in seconds.',
      labelNames: ['queue'],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.stages = new Histogram({
      name: 'facefile_recognition_seconds',
      help: 'Time one photo spends in a recognition stage (decode, detect, file), in seconds.',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.errors = new Counter({
      name: 'facefile_errors_total',
      help: 'Errors by where they came from, a count.',
      labelNames: ['kind'],
      registers,
    });
    const readDepth = (gauge: Gauge<'queue' | 'state'>): Promise<void> => this.readDepth(gauge);
    new Gauge({
      name: 'facefile_queue_depth',
      help: 'Jobs in a queue by state, a count read from the queue at scrape time.',
      labelNames: ['queue', 'state'],
      registers,
      // prom-client calls this on each scrape and awaits it.
      async collect() {
        await readDepth(this);
      },
    });
  }

  /** Counts an attempt at a job and records how long it waited and ran. */
  jobDone(queue: QueueName, outcome: JobOutcome, times: JobTimes = {}): void {
    this.jobs.inc({ queue, outcome });
    if (times.waitSeconds !== undefined) this.jobWait.observe({ queue }, nonNegative(times.waitSeconds));
    if (times.runSeconds !== undefined) this.jobRun.observe({ queue }, nonNegative(times.runSeconds));
  }

  /**
   * Marks a job's start; call what it returns once, with the outcome, when it ends. The wait is
   * now minus `enqueuedAtMs` (BullMQ's `job.timestamp`, wall clock: another host's clock may be a
   * little off, so a negative wait counts as 0; a retried job's wait includes its backoff), the
   * run is measured on this process's monotonic clock.
   */
  jobStarted(queue: QueueName, enqueuedAtMs: number): (outcome: JobOutcome) => void {
    const waitSeconds = (Date.now() - enqueuedAtMs) / 1000;
    const started = performance.now();
    return (outcome) => this.jobDone(queue, outcome, { waitSeconds, runSeconds: (performance.now() - started) / 1000 });
  }

  /** Runs `work` and records its duration under `stage`, whether it resolves or throws. */
  async timeStage<T>(stage: RecognitionStage, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.stages.observe({ stage }, (performance.now() - started) / 1000);
    }
  }

  /** Counts an error of this kind. */
  countError(kind: ErrorKind): void {
    this.errors.inc({ kind });
  }

  /**
   * Registers what reads the depth of the owner's queues (BullMQ: `depthFromJobCounts(name, await
   * queue.getJobCounts())`); it is called on every scrape, with a timeout, so the gauge is never
   * stale. A reader that fails or hangs leaves its queues out of that scrape (absent, not stale)
   * and counts an error of kind `scrape` (shown from the next scrape on: prom-client reads the
   * counters while the readers run). Returns a function that unregisters it.
   */
  onQueueDepth(reader: QueueDepthReader): () => void {
    this.depthReaders.add(reader);
    return () => this.depthReaders.delete(reader);
  }

  private async readDepth(gauge: Gauge<'queue' | 'state'>): Promise<void> {
    const readings = await Promise.allSettled([...this.depthReaders].map((read) => withTimeout(read, this.depthTimeoutMs)));
    // Cleared each time: a queue whose reader failed or went away must not show its last value.
    gauge.reset();
    for (const reading of readings) {
      if (reading.status === 'rejected') {
        this.countError('scrape');
        this.log.warn({ reason: redactSecrets(describeError(reading.reason)) }, 'could not read a queue depth for /metrics');
        continue;
      }
      for (const { queue, state, jobs } of reading.value) gauge.set({ queue, state }, jobs);
    }
  }
}

/**
 * The depths of one queue from BullMQ's `getJobCounts()` answer, keeping only the states in
 * `QUEUE_STATES` so that a state a later BullMQ adds cannot grow the label set unnoticed.
 */
export function depthFromJobCounts(queue: QueueName, counts: Readonly<Record<string, number>>): QueueDepth[] {
  const known = new Set<string>(QUEUE_STATES);
  return Object.entries(counts)
    .filter((entry): entry is [QueueState, number] => known.has(entry[0]))
    .map(([state, jobs]) => ({ queue, state, jobs }));
}

function nonNegative(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}
