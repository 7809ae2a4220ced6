import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { StartupError, type Log } from '../../src/core/index.ts';
import {
  Metrics,
  depthFromJobCounts,
  serveObservability,
  type ObservabilityServer,
  type QueueDepth,
  type ReadinessCheck,
} from '../../src/observability/index.ts';
import { dropSchemas, postgresUrl } from '../helpers/postgres.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const REDIS = { host: '127.0.0.1', port: 6379 };

/** A log that keeps every line, to look for secrets in it. */
function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const keep = (context: object, message: string) => lines.push(`${message} ${JSON.stringify(context)}`);
  return { lines, info: keep, warn: keep, error: keep };
}

/**
 * The samples of a Prometheus text exposition, keyed `name{label="value",...}` with the labels
 * sorted, so that a test names a series the way PromQL does.
 */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not an exposition line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

/** The key `parseExposition` gives a series. */
function series(name: string, labels: Record<string, string | number> = {}): string {
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
}

async function scrape(server: ObservabilityServer): Promise<{ type: string | null; samples: Map<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  assert.equal(res.status, 200);
  return { type: res.headers.get('content-type'), samples: parseExposition(await res.text()) };
}

async function readyz(server: ObservabilityServer): Promise<{ status: number; body: { ready: boolean; checks: Record<string, string> }; text: string }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as { ready: boolean; checks: Record<string, string> }, text };
}

describe('serveObservability: /metrics', () => {
  let metrics: Metrics;
  let server: ObservabilityServer;
  let depth: QueueDepth[] = [];

  before(async () => {
    metrics = new Metrics();
    metrics.onQueueDepth(() => Promise.resolve(depth));
    server = await serveObservability({ port: 0, host: '127.0.0.1', metrics, checks: {}, log: recordingLog() });
  });
  after(() => server.close());

  it('GIVEN jobs and stage timings recorded THEN a scrape shows the counts, the histograms and the process metrics, as Prometheus text', async () => {
    metrics.jobDone('photos', 'filed', { waitSeconds: 2, runSeconds: 1.5 });
    metrics.jobDone('photos', 'filed', { waitSeconds: 4, runSeconds: 0.5 });
    metrics.jobDone('photos', 'undecodable', { waitSeconds: 1, runSeconds: 0.25 });
    metrics.jobDone('photos', 'retried', { runSeconds: 0.25 });
    await metrics.timeStage('detect', () => new Promise((resolve) => setTimeout(resolve, 30)));
    metrics.countError('queue');
    const { type, samples } = await scrape(server);
    assert.equal(type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(samples.get(series('facefile_jobs_total', { queue: 'photos', outcome: 'filed' })), 2);
    assert.equal(samples.get(series('facefile_jobs_total', { queue: 'photos', outcome: 'undecodable' })), 1);
    assert.equal(samples.get(series('facefile_jobs_total', { queue: 'photos', outcome: 'retried' })), 1);
    assert.equal(samples.get(series('facefile_job_wait_seconds_count', { queue: 'photos' })), 3);
    assert.equal(samples.get(series('facefile_job_wait_seconds_sum', { queue: 'photos' })), 7);
    assert.equal(samples.get(series('facefile_job_run_seconds_count', { queue: 'photos' })), 4);
    assert.equal(samples.get(series('facefile_job_run_seconds_sum', { queue: 'photos' })), 2.5);
    assert.equal(samples.get(series('facefile_job_run_seconds_bucket', { queue: 'photos', le: '+Inf' })), 4);
    assert.equal(samples.get(series('facefile_job_run_seconds_bucket', { queue: 'photos', le: 1 })), 3);
    assert.equal(samples.get(series('facefile_recognition_seconds_count', { stage: 'detect' })), 1);
    assert.ok(samples.get(series('facefile_recognition_seconds_sum', { stage: 'detect' }))! >= 0.025);
    assert.equal(samples.get(series('facefile_errors_total', { kind: 'queue' })), 1);
    assert.ok(samples.has(series('facefile_process_cpu_user_seconds_total')));
  });

  it('GIVEN the queue says another depth between two scrapes THEN each scrape shows what the queue said then', async () => {
    depth = [
      { queue: 'photos', state: 'waiting', jobs: 12 },
      { queue: 'photos', state: 'active', jobs: 2 },
    ];
    const first = (await scrape(server)).samples;
    assert.equal(first.get(series('facefile_queue_depth', { queue: 'photos', state: 'waiting' })), 12);
    assert.equal(first.get(series('facefile_queue_depth', { queue: 'photos', state: 'active' })), 2);
    depth = [{ queue: 'photos', state: 'waiting', jobs: 3 }];
    const second = (await scrape(server)).samples;
    assert.equal(second.get(series('facefile_queue_depth', { queue: 'photos', state: 'waiting' })), 3);
    assert.equal(second.has(series('facefile_queue_depth', { queue: 'photos', state: 'active' })), false);
  });

  it('GIVEN a HEAD /metrics THEN 200 with the content type and no body', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(await res.text(), '');
  });
});

describe('serveObservability: /healthz, other paths and methods', () => {
  let server: ObservabilityServer;
  before(async () => {
    server = await serveObservability({
      port: 0,
      host: '127.0.0.1',
      metrics: new Metrics(),
      checks: { never: () => new Promise(() => undefined) },
      log: recordingLog(),
    });
  });
  after(() => server.close());

  it('GIVEN a running process THEN /healthz answers 200 ok, without running the readiness checks', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok\n');
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'HEAD' })).status, 200);
  });

  it('GIVEN an unknown path THEN 404, whatever the method', async () => {
    for (const target of ['/', '/metric', '/healthz/x', '/favicon.ico']) {
      assert.equal((await fetch(`http://127.0.0.1:${server.port}${target}`)).status, 404, target);
    }
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/nope`, { method: 'POST' })).status, 404);
  });

  it('GIVEN POST, PUT or DELETE on a known path THEN 405 naming GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
    }
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/readyz`, { method: 'POST' })).status, 405);
  });
});

describe('serveObservability: /readyz', () => {
  const servers: ObservabilityServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await dropSchemas();
  });

  async function serve(checks: Record<string, ReadinessCheck>, log: Log = recordingLog()): Promise<ObservabilityServer> {
    const server = await serveObservability({ port: 0, host: '127.0.0.1', metrics: new Metrics(), checks, log, checkTimeoutMs: 200 });
    servers.push(server);
    return server;
  }

  it('GIVEN every check passes THEN 200 with ready and each check ok', async () => {
    const server = await serve({ database: () => Promise.resolve(), redis: () => Promise.resolve() });
    const { status, body } = await readyz(server);
    assert.equal(status, 200);
    assert.deepEqual(body, { ready: true, checks: { database: 'ok', redis: 'ok' } });
  });

  it('GIVEN one check throws THEN 503 naming that check with its message, the others ok', async () => {
    const server = await serve({ database: () => Promise.resolve(), redis: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6390')) });
    const { status, body } = await readyz(server);
    assert.equal(status, 503);
    assert.deepEqual(body, { ready: false, checks: { database: 'ok', redis: 'connect ECONNREFUSED 127.0.0.1:6390' } });
  });

  it('GIVEN a check that hangs past the timeout THEN 503 saying it timed out, in about the timeout', async () => {
    const server = await serve({ telegram: () => new Promise(() => undefined), database: () => Promise.resolve() });
    const started = Date.now();
    const { status, body } = await readyz(server);
    assert.equal(status, 503);
    assert.deepEqual(body, { ready: false, checks: { telegram: 'no answer within 200 ms', database: 'ok' } });
    // Generous: only proves the answer did not wait for the hung check.
    assert.ok(Date.now() - started < 10_000);
  });

  it('GIVEN a check failing with a postgres URL with a password THEN neither the answer nor the log holds the password', async () => {
    const log = recordingLog();
    const server = await serve({ database: () => Promise.reject(new Error('cannot reach postgres://facefile:hunter2-s3cret@db:5432/facefile')) }, log);
    const { status, body, text } = await readyz(server);
    assert.equal(status, 503);
    assert.equal(body.checks['database'], 'cannot reach postgres://facefile:[redacted]@db:5432/facefile');
    assert.ok(!text.includes('hunter2'), text);
    assert.ok(log.lines.length > 0 && !log.lines.join('\n').includes('hunter2'), log.lines.join('\n'));
  });

  it('GIVEN a check that throws at once, not a rejected promise THEN 503, and the server keeps answering', async () => {
    const server = await serve({
      broken: () => {
        throw new Error('bug');
      },
    });
    assert.deepEqual((await readyz(server)).body, { ready: false, checks: { broken: 'bug' } });
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status, 200);
  });

  it('GIVEN a check failing on every probe THEN it is logged once, and once more when it passes again', async () => {
    const log = recordingLog();
    let up = false;
    const server = await serve({ redis: () => (up ? Promise.resolve() : Promise.reject(new Error('down'))) }, log);
    const before = log.lines.length;
    for (let i = 0; i < 3; i++) assert.equal((await readyz(server)).status, 503);
    up = true;
    for (let i = 0; i < 2; i++) assert.equal((await readyz(server)).status, 200);
    const logged = log.lines.slice(before);
    assert.equal(logged.length, 2, logged.join('\n'));
    assert.match(logged[0]!, /readiness check failed.*"redis".*down/);
    assert.match(logged[1]!, /passes again/);
  });

  it('GIVEN real PostgreSQL and Redis checks THEN ready; GIVEN Redis unreachable THEN 503 naming redis', async (t) => {
    const url = await postgresUrl();
    if (!url) return t.skip('no PostgreSQL');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 0 });
    const nowhere = new Redis({ host: '127.0.0.1', port: await freePort(), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      const database = async () => {
        await pool.query('select 1');
      };
      const server = await serve({
        database,
        redis: async () => {
          await redis.ping();
        },
      });
      assert.deepEqual(await readyz(server), {
        status: 200,
        body: { ready: true, checks: { database: 'ok', redis: 'ok' } },
        text: '{"ready":true,"checks":{"database":"ok","redis":"ok"}}\n',
      });
      const broken = await serve({
        database,
        redis: async () => {
          await nowhere.ping();
        },
      });
      const { status, body } = await readyz(broken);
      assert.equal(status, 503);
      assert.equal(body.checks['database'], 'ok');
      assert.notEqual(body.checks['redis'], 'ok');
      assert.ok(body.checks['redis']);
    } finally {
      await pool.end();
      redis.disconnect();
      nowhere.disconnect();
    }
  });
});

describe('serveObservability: start and stop', () => {
  it('GIVEN the port is taken THEN a StartupError naming the port', async () => {
    const first = await serveObservability({ port: 0, host: '127.0.0.1', metrics: new Metrics(), checks: {}, log: recordingLog() });
    try {
      await assert.rejects(
        serveObservability({ port: first.port, host: '127.0.0.1', metrics: new Metrics(), checks: {}, log: recordingLog() }),
        (error: unknown) => error instanceof StartupError && error.message.includes(`127.0.0.1:${first.port} is in use`),
      );
    } finally {
      await first.close();
    }
  });

  it('GIVEN no host THEN it listens on every interface', async () => {
    const server = await serveObservability({ port: 0, metrics: new Metrics(), checks: {}, log: recordingLog() });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('GIVEN a process that serves, is scraped and probed, then closes THEN it exits on its own', async () => {
    const script = `
      const { Metrics, serveObservability } = await import(${JSON.stringify(path.join(ROOT, 'src/observability/index.ts'))});
      const log = { info() {}, warn() {}, error() {} };
      const metrics = new Metrics();
      metrics.onQueueDepth(async () => [{ queue: 'photos', state: 'waiting', jobs: 1 }]);
      const server = await serveObservability({ port: 0, host: '127.0.0.1', metrics, log, checks: { db: async () => {} } });
      for (const p of ['/metrics', '/healthz', '/readyz']) {
        const res = await fetch('http://127.0.0.1:' + server.port + p);
        await res.text();
        if (!res.ok) throw new Error(p + ' answered ' + res.status);
      }
      await server.close();
      console.log('CLOSED');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    assert.equal(signal, null, `the child was still alive after close (${out}${err})`);
    assert.equal(code, 0, err);
    assert.equal(out.trim(), 'CLOSED');
  });
});

describe('queue depth from a real BullMQ queue', () => {
  const name = `facefile-metrics-test-${process.pid}-${Date.now().toString(36)}`;
  let queue: Queue;
  before(() => {
    queue = new Queue(name, { connection: REDIS });
  });
  after(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('GIVEN jobs added to the queue between two scrapes THEN the gauge follows getJobCounts', async () => {
    const metrics = new Metrics();
    metrics.onQueueDepth(async () => depthFromJobCounts('photos', await queue.getJobCounts()));
    const server = await serveObservability({ port: 0, host: '127.0.0.1', metrics, checks: {}, log: recordingLog() });
    try {
      await queue.addBulk([1, 2, 3].map((n) => ({ name: 'photo', data: { n } })));
      await queue.add('photo', { n: 4 }, { delay: 60_000 });
      const first = (await scrape(server)).samples;
      assert.equal(first.get(series('facefile_queue_depth', { queue: 'photos', state: 'waiting' })), 3);
      assert.equal(first.get(series('facefile_queue_depth', { queue: 'photos', state: 'delayed' })), 1);
      assert.equal(first.get(series('facefile_queue_depth', { queue: 'photos', state: 'active' })), 0);
      await queue.addBulk([5, 6].map((n) => ({ name: 'photo', data: { n } })));
      const second = (await scrape(server)).samples;
      assert.equal(second.get(series('facefile_queue_depth', { queue: 'photos', state: 'waiting' })), 5);
    } finally {
      await server.close();
    }
  });
});

/** A port nothing listens on: taken from the system, then released. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
