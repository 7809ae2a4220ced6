import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodedImage, FaceEngine, ImageDecoder, Log } from '../../src/core/index.ts';
import { Metrics, TimeoutError, depthFromJobCounts, timedDecoder, timedEngine, withTimeout, type QueueDepth } from '../../src/observability/index.ts';

/** One sample of the registry: metric name (with `_count`, `_sum`, `_bucket` for histograms) and labels. */
interface Sample {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** Every sample of one metric, read as a scrape reads it (its collect function runs). */
async function series(metrics: Metrics, metric: string): Promise<Sample[]> {
  const read = await metrics.registry.getSingleMetric(metric)?.get();
  assert.ok(read, `no metric ${metric}`);
  return read.values as Sample[];
}

/**
 * The value of the one sample of `metric` named `name` (`_count`, `_sum`, `_bucket` for histograms)
 * whose labels include `labels`; undefined when none. Reads only that metric (its collect runs).
 */
async function value(metrics: Metrics, metric: string, name: string, labels: Record<string, string | number>): Promise<number | undefined> {
  const found = (await series(metrics, metric)).filter((s) => (s.metricName ?? metric) === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `several samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

function recordingLog(): Log & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, error: () => undefined, warn: (context, message) => warnings.push(`${message} ${JSON.stringify(context)}`) };
}

const IMAGE: DecodedImage = { width: 1, height: 1, channels: 3, pixels: new Uint8Array(3), format: 'jpeg' } as unknown as DecodedImage;

describe('Metrics: jobs', () => {
  it('GIVEN jobs done with outcomes THEN facefile_jobs_total counts each queue and outcome apart', async () => {
    const metrics = new Metrics();
    metrics.jobDone('photos', 'filed');
    metrics.jobDone('photos', 'filed');
    metrics.jobDone('photos', 'retried');
    metrics.jobDone('refile', 'filed');
    assert.equal(await value(metrics, 'facefile_jobs_total', 'facefile_jobs_total', { queue: 'photos', outcome: 'filed' }), 2);
    assert.equal(await value(metrics, 'facefile_jobs_total', 'facefile_jobs_total', { queue: 'photos', outcome: 'retried' }), 1);
    assert.equal(await value(metrics, 'facefile_jobs_total', 'facefile_jobs_total', { queue: 'refile', outcome: 'filed' }), 1);
    assert.equal(await value(metrics, 'facefile_jobs_total', 'facefile_jobs_total', { queue: 'photos', outcome: 'dead_letter' }), undefined);
  });

  it('GIVEN wait and run times THEN the histograms count them and sum the seconds; a negative wait counts as 0', async () => {
    const metrics = new Metrics();
    metrics.jobDone('photos', 'filed', { waitSeconds: 3, runSeconds: 0.5 });
    metrics.jobDone('photos', 'duplicate', { waitSeconds: -2, runSeconds: 0.25 });
    metrics.jobDone('photos', 'failed');
    assert.equal(await value(metrics, 'facefile_job_wait_seconds', 'facefile_job_wait_seconds_count', { queue: 'photos' }), 2);
    assert.equal(await value(metrics, 'facefile_job_wait_seconds', 'facefile_job_wait_seconds_sum', { queue: 'photos' }), 3);
    assert.equal(await value(metrics, 'facefile_job_run_seconds', 'facefile_job_run_seconds_count', { queue: 'photos' }), 2);
    assert.equal(await value(metrics, 'facefile_job_run_seconds', 'facefile_job_run_seconds_sum', { queue: 'photos' }), 0.75);
    // 3 s falls in the 5 s bucket and not the 2.5 s one.
    assert.equal(await value(metrics, 'facefile_job_wait_seconds', 'facefile_job_wait_seconds_bucket', { queue: 'photos', le: 2.5 }), 1);
    assert.equal(await value(metrics, 'facefile_job_wait_seconds', 'facefile_job_wait_seconds_bucket', { queue: 'photos', le: 5 }), 2);
  });

  it('GIVEN a job enqueued 4 s ago that runs a moment THEN jobStarted records a wait of about 4 s and a short run', async () => {
    const metrics = new Metrics();
    const done = metrics.jobStarted('photos', Date.now() - 4_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    done('filed');
    const wait = await value(metrics, 'facefile_job_wait_seconds', 'facefile_job_wait_seconds_sum', { queue: 'photos' });
    const run = await value(metrics, 'facefile_job_run_seconds', 'facefile_job_run_seconds_sum', { queue: 'photos' });
    assert.ok(wait !== undefined && wait >= 4 && wait < 5, `wait ${wait}`);
    assert.ok(run !== undefined && run >= 0.015 && run < 4, `run ${run}`);
    assert.equal(await value(metrics, 'facefile_jobs_total', 'facefile_jobs_total', { queue: 'photos', outcome: 'filed' }), 1);
  });

  it('GIVEN two Metrics THEN they share no values and no registry', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.jobDone('photos', 'filed');
    a.countError('storage');
    assert.notEqual(a.registry, b.registry);
    assert.equal(await value(a, 'facefile_jobs_total', 'facefile_jobs_total', { queue: 'photos', outcome: 'filed' }), 1);
    assert.equal(await value(b, 'facefile_jobs_total', 'facefile_jobs_total', { queue: 'photos', outcome: 'filed' }), undefined);
    assert.equal(await value(b, 'facefile_errors_total', 'facefile_errors_total', { kind: 'storage' }), undefined);
  });

  it('GIVEN a new Metrics THEN the default process metrics are there, with the facefile_ prefix', async () => {
    const names = (await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of [
      'facefile_process_cpu_seconds_total',
      'facefile_process_resident_memory_bytes',
      'facefile_nodejs_eventloop_lag_seconds',
      'facefile_nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
    }
  });

  it('GIVEN errors counted THEN facefile_errors_total counts by kind', async () => {
    const metrics = new Metrics();
    metrics.countError('engine');
    metrics.countError('engine');
    metrics.countError('platform');
    assert.equal(await value(metrics, 'facefile_errors_total', 'facefile_errors_total', { kind: 'engine' }), 2);
    assert.equal(await value(metrics, 'facefile_errors_total', 'facefile_errors_total', { kind: 'platform' }), 1);
  });
});

describe('Metrics: recognition stages', () => {
  it('GIVEN a stage that resolves and one that throws THEN both are timed, the value passes and the error is rethrown', async () => {
    const metrics = new Metrics();
    assert.equal(await metrics.timeStage('decode', () => new Promise((resolve) => setTimeout(() => resolve(42), 20))), 42);
    await assert.rejects(
      metrics.timeStage('decode', () => Promise.reject(new Error('corrupt'))),
      /corrupt/,
    );
    assert.equal(await value(metrics, 'facefile_recognition_seconds', 'facefile_recognition_seconds_count', { stage: 'decode' }), 2);
    const sum = await value(metrics, 'facefile_recognition_seconds', 'facefile_recognition_seconds_sum', { stage: 'decode' });
    assert.ok(sum !== undefined && sum >= 0.015, `sum ${sum}`);
    assert.equal(await value(metrics, 'facefile_recognition_seconds', 'facefile_recognition_seconds_count', { stage: 'detect' }), undefined);
  });

  it('GIVEN a timed decoder and engine THEN each decode and detection is one observation of its stage, and the answers pass through', async () => {
    const metrics = new Metrics();
    let closed = false;
    const decoder: ImageDecoder = { decode: () => Promise.resolve({ ok: true, image: IMAGE }) };
    const engine: FaceEngine = {
      info: { backend: 'fake', embedder: 'fake@1', dimensions: 8, workers: 1 },
      detect: () => Promise.resolve([]),
      close: () => {
        closed = true;
        return Promise.resolve();
      },
    };
    const timedD = timedDecoder(decoder, metrics);
    const timedE = timedEngine(engine, metrics);
    assert.deepEqual(await timedD.decode(new Uint8Array(1)), { ok: true, image: IMAGE });
    await timedD.decode(new Uint8Array(1));
    assert.deepEqual(await timedE.detect(IMAGE), []);
    assert.equal(timedE.info.embedder, 'fake@1');
    await timedE.close();
    assert.ok(closed);
    assert.equal(await value(metrics, 'facefile_recognition_seconds', 'facefile_recognition_seconds_count', { stage: 'decode' }), 2);
    assert.equal(await value(metrics, 'facefile_recognition_seconds', 'facefile_recognition_seconds_count', { stage: 'detect' }), 1);
  });
});

describe('Metrics: queue depth', () => {
  it('GIVEN a depth reader THEN each scrape reads it anew, and a state gone from its answer is gone from the gauge', async () => {
    const metrics = new Metrics();
    let answer: QueueDepth[] = [
      { queue: 'photos', state: 'waiting', jobs: 7 },
      { queue: 'photos', state: 'active', jobs: 2 },
    ];
    let reads = 0;
    metrics.onQueueDepth(() => {
      reads++;
      return Promise.resolve(answer);
    });
    assert.equal(await value(metrics, 'facefile_queue_depth', 'facefile_queue_depth', { queue: 'photos', state: 'waiting' }), 7);
    answer = [{ queue: 'photos', state: 'waiting', jobs: 1 }];
    assert.equal(await value(metrics, 'facefile_queue_depth', 'facefile_queue_depth', { queue: 'photos', state: 'waiting' }), 1);
    assert.equal(await value(metrics, 'facefile_queue_depth', 'facefile_queue_depth', { queue: 'photos', state: 'active' }), undefined);
    assert.equal(reads, 3);
  });

  it('GIVEN a reader that throws, one that hangs and one that works THEN the scrape ends with the working one only and two scrape errors', async () => {
    const log = recordingLog();
    const metrics = new Metrics({ log, depthTimeoutMs: 50 });
    metrics.onQueueDepth(() => Promise.reject(new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.1:6379')));
    metrics.onQueueDepth(() => new Promise(() => undefined));
    metrics.onQueueDepth(() => Promise.resolve([{ queue: 'refile', state: 'delayed', jobs: 3 }]));
    assert.deepEqual(
      (await series(metrics, 'facefile_queue_depth')).map((s) => [s.labels, s.value]),
      [[{ queue: 'refile', state: 'delayed' }, 3]],
    );
    assert.equal(await value(metrics, 'facefile_errors_total', 'facefile_errors_total', { kind: 'scrape' }), 2);
    assert.equal(log.warnings.length, 2);
    assert.ok(!log.warnings.join('\n').includes('hunter2'), log.warnings.join('\n'));
  });

  it('GIVEN a reader unregistered THEN it is no longer read', async () => {
    const metrics = new Metrics();
    const stop = metrics.onQueueDepth(() => Promise.resolve([{ queue: 'photos', state: 'waiting', jobs: 5 }]));
    assert.equal(await value(metrics, 'facefile_queue_depth', 'facefile_queue_depth', { queue: 'photos', state: 'waiting' }), 5);
    stop();
    assert.equal(await value(metrics, 'facefile_queue_depth', 'facefile_queue_depth', { queue: 'photos', state: 'waiting' }), undefined);
  });

  it('GIVEN BullMQ job counts with a state facefile does not know THEN that state is left out', () => {
    assert.deepEqual(depthFromJobCounts('photos', { waiting: 4, active: 1, delayed: 0, failed: 2, 'some-new-state': 9 }), [
      { queue: 'photos', state: 'waiting', jobs: 4 },
      { queue: 'photos', state: 'active', jobs: 1 },
      { queue: 'photos', state: 'delayed', jobs: 0 },
      { queue: 'photos', state: 'failed', jobs: 2 },
    ]);
  });
});

describe('withTimeout', () => {
  it('GIVEN work that answers in time THEN its value; GIVEN work that hangs THEN a TimeoutError; GIVEN work that throws at once THEN a rejection', async () => {
    assert.equal(await withTimeout(() => Promise.resolve('ok'), 1_000), 'ok');
    await assert.rejects(
      withTimeout(() => new Promise(() => undefined), 20),
      (error: unknown) => error instanceof TimeoutError && error.ms === 20,
    );
    await assert.rejects(
      withTimeout(() => {
        throw new Error('sync');
      }, 1_000),
      /sync/,
    );
  });
});
