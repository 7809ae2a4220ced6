/**
 * `npm run bench -- scale`: scale-out on this machine, with real `facefile worker` processes on
 * the local PostgreSQL and Redis, started cold for each row (models loaded before the clock starts).
 *
 * 1. A burst of posted photos filed by 1 worker process (one engine thread), by 2, and by one
 *    process with two engine threads (the shape of the single process of today): wall time,
 *    photos per second, and the workers' CPU seconds per photo (from /proc), which is what scaling
 *    costs when there are fewer cores than workers.
 * 2. Fairness: 10 groups post at once, one of them a burst of 30, 100 or 300 photos and the other
 *    nine 3 photos each; how long a photo waits in the queue (BullMQ's enqueue to start), for the
 *    quiet groups and for the bursting one, with the per-group fair priority and without it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { silentLog } from '../src/core/index.ts';
import { BullPhotoJobs, PHOTOS_QUEUE, bullConnection, type RedisPlace } from '../src/jobs/bull/index.ts';
import type { PhotoJobMeta } from '../src/jobs/index.ts';
import { LFW, POSTS, ROOT } from '../test/helpers/datasets.ts';
import { dropPrefix, freshPrefix, redisUrl } from '../test/helpers/redis.ts';
import { postgresUrl } from '../test/helpers/postgres.ts';
import { proof } from './bench-proof.ts';

interface Worker {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
}

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds a process and its threads have used, and its peak RSS in MiB, from /proc. */
function usage(pid: number): { cpu: number; peakMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpu, peakMiB: Math.round(Number(hwm ?? 0) / 1024) };
}

function startWorker(env: Record<string, string>, cwd: string): Promise<Worker> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'facefile.js'), 'worker'], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: cwd, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('facefile worker is')) resolve({ child, exited });
    });
    void exited.then(() => reject(new Error(`a worker ended before it ran:\n${output}`)));
  });
}

/** A fresh deployment: its own schema, Redis prefix and volume. */
async function deployment(base: string, redis: string): Promise<{ env: Record<string, string>; place: RedisPlace; dataDir: string; close(): Promise<void> }> {
  const schema = `facefile_bench_${process.pid}_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const prefix = freshPrefix('bench');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-bench-scale-'));
  return {
    env: { DATABASE_URL: url.toString(), REDIS_URL: redis, REDIS_PREFIX: prefix, DATA_DIR: dataDir },
    place: { url: redis, prefix },
    dataDir,
    close: async () => {
      await dropPrefix(redis, prefix);
      await rm(dataDir, { recursive: true, force: true });
      const drop = new pg.Client({ connectionString: base });
      await drop.connect();
      await drop.query(`drop schema ${schema} cascade`);
      await drop.end();
    },
  };
}

function meta(group: string, i: number): PhotoJobMeta {
  return { platform: 'bench', group, postedAt: new Date().toISOString(), source: { chat: group, message: String(i) } };
}

/** Adds the photos as a bot would, then waits for every job to complete; returns the wall time. */
async function burst(
  place: RedisPlace,
  dataDir: string,
  photos: readonly { group: string; bytes: Buffer }[],
  fair = true,
): Promise<{ wallS: number; waits: Map<string, number[]> }> {
  const jobs = new BullPhotoJobs({ place, dataDir, log: silentLog, fair });
  await jobs.start();
  const queue = new Queue(PHOTOS_QUEUE, { connection: bullConnection(place), prefix: place.prefix });
  try {
    const started = performance.now();
    for (const [i, photo] of photos.entries()) await jobs.add(photo.bytes, meta(photo.group, i));
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if (counts['completed']! + counts['failed']! >= photos.length) {
        proof(counts['failed'] === 0, `${counts['failed']} of ${photos.length} photo jobs failed`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const wallS = (performance.now() - started) / 1000;
    const waits = new Map<string, number[]>();
    for (const job of await queue.getJobs(['completed'], 0, photos.length)) {
      const group = (job.data as { meta: PhotoJobMeta }).meta.group;
      waits.set(group, [...(waits.get(group) ?? []), ((job.processedOn ?? job.timestamp) - job.timestamp) / 1000]);
    }
    return { wallS, waits };
  } finally {
    await queue.close();
    await jobs.stop();
  }
}

async function withWorkers<T>(count: number, env: Record<string, string>, cwd: string, work: (workers: Worker[]) => Promise<T>): Promise<T> {
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < count; i++) workers.push(await startWorker(env, cwd));
    return await work(workers);
  } finally {
    for (const worker of workers) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
  }
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

export async function benchScale(): Promise<string> {
  const base = await postgresUrl();
  const redis = await redisUrl();
  if (!base || !redis) return 'bench scale: needs PostgreSQL and Redis (see above)\n';
  const posts = readdirSync(POSTS)
    .filter((f) => !f.endsWith('.json'))
    .sort()
    .map((f) => readFileSync(path.join(POSTS, f)));
  // The same 26 posts in 3 groups: 78 jobs, each a full analysis (the library dedupes per group only).
  const scaling = [0, 1, 2].flatMap((g) => posts.map((bytes) => ({ group: `bench:${g}`, bytes })));
  const lines: string[] = [];
  const rows: string[] = [];
  let single: number | undefined;
  for (const [label, processes, threads] of [
    ['1 worker, 1 engine thread', 1, 1],
    ['2 workers, 1 engine thread each', 2, 1],
    ["1 process, 2 engine threads (today's single process)", 1, 2],
  ] as const) {
    const d = await deployment(base, redis);
    try {
      const row = await withWorkers(processes, { ...d.env, WORKERS: String(threads), WORKER_CONCURRENCY: String(threads * 2) }, d.dataDir, async (workers) => {
        const before = workers.map((w) => usage(w.child.pid!).cpu);
        const { wallS } = await burst(d.place, d.dataDir, scaling);
        const after = workers.map((w) => usage(w.child.pid!));
        const cpu = after.reduce((sum, u, i) => sum + u.cpu - before[i]!, 0);
        return { wallS, cpu, peak: Math.max(...after.map((u) => u.peakMiB)) };
      });
      const rate = scaling.length / row.wallS;
      single ??= rate;
      rows.push(
        `| ${label} | ${scaling.length} | ${row.wallS.toFixed(1)} s | ${rate.toFixed(2)} | ${(rate / single).toFixed(2)}x | ${(row.cpu / scaling.length).toFixed(2)} s | ${row.peak} MiB |`,
      );
      process.stderr.write(`scale: ${label} done\n`);
    } finally {
      await d.close();
    }
  }
  lines.push(
    `facefile bench scale, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; PostgreSQL and Redis on the same machine`,
    '',
    'Filing a burst: group-photos/_posts (26 photos, 0.1-3.3 MP, 1-6 faces) in 3 groups, 78 jobs; each row starts its workers cold.',
    '',
    '| workers | photos | wall | photos/s | vs 1 worker | worker CPU per photo | peak RSS per worker |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  );

  const lfw = readdirSync(LFW, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .flatMap((name) =>
      readdirSync(path.join(LFW, name))
        .sort()
        .map((f) => path.join(LFW, name, f)),
    );
  const fairRows: string[] = [];
  for (const size of [30, 100, 300]) {
    for (const fair of [false, true]) {
      const photos = [
        ...lfw.slice(0, size).map((file) => ({ group: 'bench:burst', bytes: readFileSync(file) })),
        ...Array.from({ length: 9 }, (_, g) =>
          lfw.slice(1000 + g * 3, 1000 + g * 3 + 3).map((file) => ({ group: `bench:quiet${g}`, bytes: readFileSync(file) })),
        ).flat(),
      ];
      const d = await deployment(base, redis);
      try {
        const { wallS, waits } = await withWorkers(2, { ...d.env, WORKERS: '1', WORKER_CONCURRENCY: '2' }, d.dataDir, () =>
          burst(d.place, d.dataDir, photos, fair),
        );
        const quiet = [...waits.entries()].filter(([g]) => g !== 'bench:burst').flatMap(([, w]) => w);
        const loud = waits.get('bench:burst') ?? [];
        fairRows.push(
          `| ${size} + 9 x 3 | ${fair ? 'fair (backlog priority)' : 'first come, first served'} | ${wallS.toFixed(1)} s | ${quantile(quiet, 0.5).toFixed(1)} s | ${Math.max(...quiet).toFixed(1)} s | ${quantile(loud, 0.5).toFixed(1)} s | ${Math.max(...loud).toFixed(1)} s |`,
        );
        process.stderr.write(`scale: fairness ${size} ${fair ? 'fair' : 'fifo'} done\n`);
      } finally {
        await d.close();
      }
    }
  }
  lines.push(
    "Fairness: 10 groups post at once, 2 workers (1 engine thread each); LFW photos (250x250, 1 face). The burst is added first, then the nine quiet groups' photos.",
    '',
    '| photos | order | wall | quiet groups: median wait | quiet: longest wait | burst: median wait | burst: longest wait |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...fairRows,
    '',
  );
  return lines.join('\n');
}
