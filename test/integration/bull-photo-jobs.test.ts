import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { silentLog } from '../../src/core/index.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { BullPhotoJobs, IncomingPhotos, PHOTOS_QUEUE, PhotoWorker, bullConnection, photoJobId, type RedisPlace } from '../../src/jobs/bull/index.ts';
import type { PhotoJobMeta, PhotoJobResult, RetryPolicy } from '../../src/jobs/index.ts';
import { dropPrefix, freshPrefix, redisUrl } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';
import { RecordingLibrary } from '../fakes/recording-library.ts';
import { CONTRACT_RETRY, photoJobsContract } from '../contracts/photo-jobs.contract.ts';

const url = await redisUrl();
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const QUICK: RetryPolicy = { attempts: 3, firstDelayMs: 50, factor: 2, maxDelayMs: 200 };

interface Setup {
  place: RedisPlace;
  dataDir: string;
  jobs: BullPhotoJobs;
  library: RecordingLibrary;
  answers: { meta: PhotoJobMeta; result: PhotoJobResult }[];
  worker(concurrency?: number): PhotoWorker;
}

async function setup(name: string, options: { retry?: RetryPolicy; startJobs?: boolean } = {}): Promise<Setup> {
  const place = { url: url!, prefix: freshPrefix(name) };
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-bull-'));
  const library = new RecordingLibrary();
  const jobs = new BullPhotoJobs({ place, dataDir, log: silentLog, retry: options.retry ?? QUICK });
  const answers: Setup['answers'] = [];
  jobs.onDone('telegram', (meta, result) => {
    answers.push({ meta, result });
    return Promise.resolve();
  });
  if (options.startJobs !== false) await jobs.start();
  const workers: PhotoWorker[] = [];
  cleanups.push(async () => {
    for (const worker of workers) await worker.close();
    await jobs.stop();
    await dropPrefix(url!, place.prefix);
    await rm(dataDir, { recursive: true, force: true });
  });
  return {
    place,
    dataDir,
    jobs,
    library,
    answers,
    worker: (concurrency = 1) => {
      const worker = new PhotoWorker({ place, dataDir, library, log: silentLog, concurrency, retry: options.retry ?? QUICK });
      workers.push(worker);
      worker.start();
      return worker;
    },
  };
}

function meta(group: string, message: number): PhotoJobMeta {
  return { platform: 'telegram', group, postedAt: new Date(0).toISOString(), source: { chat: group, message: String(message) } };
}

function photo(label: string): Buffer {
  return Buffer.from(`photo ${label}`);
}

if (url) {
  photoJobsContract('BullPhotoJobs, with a PhotoWorker, on a real Redis', async () => {
    const s = await setup('contract', { retry: CONTRACT_RETRY });
    s.worker(2);
    return {
      jobs: s.jobs,
      library: s.library,
      answers: s.answers,
      setAside: async () => {
        const names: string[] = [];
        for (const folder of ['dead-letter', 'quarantine']) {
          names.push(...(await readdir(path.join(s.dataDir, 'incoming', folder)).catch(() => [] as string[])).filter((n) => n.endsWith('.bin')));
        }
        return names;
      },
    };
  });
}

describe('BullPhotoJobs and PhotoWorker on a real Redis', { skip: url ? false : 'no Redis server' }, () => {
  it('GIVEN a photo THEN a worker files it once, its file leaves the volume, and the bot hears the answer once', async () => {
    const s = await setup('once');
    s.worker();
    await s.jobs.add(photo('a'), meta('telegram:1', 1));
    assert.equal(await s.jobs.settled(10_000), true);
    await until(() => s.answers.length === 1, 'the answer');
    assert.deepEqual(
      s.library.filed.map((f) => f.group),
      ['telegram:1'],
    );
    assert.equal(s.answers[0]!.result.kind, 'filed');
    await until(async () => (await readdir(path.join(s.dataDir, 'incoming'))).length === 0, 'the incoming files to go');
  });

  it('GIVEN the same update added twice (a redelivery) THEN one job, one filing, one answer; GIVEN the photo in another message THEN a second job the library calls a duplicate', async () => {
    const s = await setup('dedup');
    await s.jobs.add(photo('b'), meta('telegram:1', 7));
    await s.jobs.add(photo('b'), meta('telegram:1', 7));
    await s.jobs.add(photo('b'), meta('telegram:1', 8));
    s.worker();
    await s.jobs.settled(10_000);
    await until(() => s.answers.length === 2, 'two answers');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(s.library.filed.length, 1);
    assert.deepEqual(s.answers.map((a) => a.result.kind).sort(), ['duplicate', 'filed']);
    assert.equal(photoJobId(meta('telegram:1', 7), sha256Hex(photo('b'))), photoJobId(meta('telegram:1', 7), sha256Hex(photo('b'))));
    assert.notEqual(photoJobId(meta('telegram:1', 7), sha256Hex(photo('b'))), photoJobId(meta('telegram:2', 7), sha256Hex(photo('b'))));
  });

  it('GIVEN a burst of 40 in one group and then 3 photos in another THEN the other group waits for at most a few, not for the burst', async () => {
    const s = await setup('fair');
    for (let i = 0; i < 40; i++) await s.jobs.add(photo(`burst ${i}`), meta('telegram:big', i));
    for (let i = 0; i < 3; i++) await s.jobs.add(photo(`quiet ${i}`), meta('telegram:quiet', i));
    s.library.delayMs = 5;
    s.worker(1);
    await until(() => s.library.filed.length === 43, 'all 43 filed', 30_000);
    const order = s.library.filed.map((f) => f.group);
    const lastQuiet = order.lastIndexOf('telegram:quiet');
    assert.ok(lastQuiet < 8, `the quiet group's last photo was number ${lastQuiet + 1} of 43: ${order.join(' ')}`);
  });

  it("GIVEN 30 photos of a history import queued first THEN the group's 3 live photos queued after them are filed before any of the import's", async () => {
    const s = await setup('imported');
    const hashes = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      const bytes = photo(`history ${i}`);
      hashes.set(sha256Hex(bytes), 'imported');
      await s.jobs.add(bytes, { ...meta('telegram:1', 1000 + i), imported: true });
    }
    for (let i = 0; i < 3; i++) {
      const bytes = photo(`live ${i}`);
      hashes.set(sha256Hex(bytes), 'live');
      await s.jobs.add(bytes, meta('telegram:1', i));
    }
    // Every job waits in Redis before the one worker starts: the order is BullMQ's priority alone.
    s.worker(1);
    await until(() => s.library.filed.length === 33, 'all 33 filed', 30_000);
    const order = s.library.filed.map((f) => hashes.get(f.hash));
    assert.deepEqual(order.slice(0, 3), ['live', 'live', 'live'], order.join(' '));
  });

  it('GIVEN a filing that fails twice (a full disk) THEN it is tried again with pauses and filed once; GIVEN one that always fails THEN it is set aside and counted, and the group is told', async () => {
    const s = await setup('retry');
    s.library.failuresLeft.set(sha256Hex(photo('flaky')), 2);
    s.library.failuresLeft.set(sha256Hex(photo('broken')), 99);
    s.worker();
    await s.jobs.add(photo('flaky'), meta('telegram:1', 1));
    await s.jobs.add(photo('broken'), meta('telegram:1', 2));
    await until(() => s.answers.length === 2, 'both answers', 20_000);
    assert.deepEqual(s.answers.map((a) => `${a.meta.source['message']}:${a.result.kind}`).sort(), ['1:filed', '2:failed']);
    assert.equal(s.library.filed.length, 1);
    assert.equal(await s.jobs.deadLetters('telegram:1'), 1);
    assert.equal(await s.jobs.deadLetters('telegram:2'), 0);
    const dead = await readdir(path.join(s.dataDir, 'incoming', 'dead-letter'));
    assert.equal(dead.filter((n) => n.endsWith('.bin')).length, 1, dead.join(' '));
    assert.ok(dead.some((n) => n.endsWith('.why.txt')));
  });

  it('GIVEN a job whose photo is missing from the volume THEN it fails at once (no retries) and the group is told', async () => {
    const s = await setup('missing');
    await s.jobs.add(photo('gone'), meta('telegram:1', 1));
    await rm(path.join(s.dataDir, 'incoming'), { recursive: true, force: true });
    s.worker();
    await until(() => s.answers.length === 1, 'the answer');
    assert.equal(s.answers[0]!.result.kind, 'failed');
    assert.equal(s.library.filed.length, 0);
  });

  it('GIVEN Redis lost the jobs (a restart without a disk) THEN the next bot start gives the photos on the volume their jobs again, and they are filed', async () => {
    const s = await setup('lost', { startJobs: false });
    const incoming = new IncomingPhotos(s.dataDir);
    const lost = [meta('telegram:1', 1), meta('telegram:1', 2)];
    for (const [i, m] of lost.entries()) {
      const id = photoJobId(m, sha256Hex(photo(`lost ${i}`)));
      await incoming.put(id, photo(`lost ${i}`), m);
      const old = new Date(Date.now() - 5 * 60_000);
      for (const ext of ['.bin', '.json']) await utimes(path.join(incoming.dir, `${id}${ext}`), old, old);
    }
    assert.equal(await s.jobs.start(), 2);
    s.worker();
    await until(() => s.library.filed.length === 2, 'both filed');
    const queue = new Queue(PHOTOS_QUEUE, { connection: bullConnection(s.place), prefix: s.place.prefix });
    cleanups.push(() => queue.close());
    await until(async () => (await queue.getJobCounts('completed')).completed === 2, 'two completed jobs');
  });

  it('GIVEN two workers THEN jobs run on both at once, and a group photo filed by one is a duplicate for the other', async () => {
    const s = await setup('two');
    s.library.delayMs = 100;
    s.worker(1);
    s.worker(1);
    for (let i = 0; i < 6; i++) await s.jobs.add(photo(`two ${i}`), meta('telegram:1', i));
    await s.jobs.settled(20_000);
    assert.equal(s.library.filed.length, 6);
    assert.equal(s.library.maxActive, 2);
  });
});
