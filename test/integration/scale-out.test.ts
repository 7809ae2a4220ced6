import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { DATASETS, LFW, NO_DATASETS, ROOT } from '../helpers/datasets.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';
import { dropPrefix, freshPrefix, redisUrl } from '../helpers/redis.ts';
import { SqlGalleryStore, SqlPhotoStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { PHOTOS_QUEUE, bullConnection } from '../../src/jobs/bull/index.ts';
import { Queue } from 'bullmq';

/**
 * The scale-out deployment end to end: a real `facefile bot` process and two `facefile worker`
 * processes on real PostgreSQL and Redis, with the real models, against the Telegram emulator.
 * 300 photos across 3 groups are filed exactly as the single process files them, while a worker
 * and then the bot are killed (SIGKILL) in the middle of the burst.
 */

const pg = await postgresUrl();
const redis = await redisUrl();
const SKIP = NO_DATASETS || (!pg && 'no PostgreSQL server') || (!redis && 'no Redis server') || false;

const CHATS = [-5001, -5002, -5003];
const PER_GROUP = 100;
const FIVE = path.join(DATASETS, 'five-celebs');

interface Plan {
  readonly enroll: { readonly name: string; readonly bytes: Buffer }[];
  readonly posts: { readonly chat: number; readonly bytes: Buffer }[];
}

/**
 * Each group enrolls the five celebrities from two photos each, then posts 100 photos: 36 of the
 * celebrities' other photos and 64 of strangers from LFW, different ones in each group; the three
 * groups post at once, a photo of each in turn.
 */
function plan(): Plan {
  const rows = readFileSync(path.join(FIVE, 'split.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));
  const people = [...new Set(rows.map((r) => r[1]!))].sort();
  const enroll = people.map((person) => {
    const first = rows.find((r) => r[1] === person)!;
    return { name: person.replace(/_/g, ' '), bytes: readFileSync(path.join(FIVE, person, first[2]!)), file: first[2]! };
  });
  const enrolled = new Set(enroll.map((e) => e.file));
  const celebs = rows.filter((r) => !enrolled.has(r[2]!)).map((r) => path.join(FIVE, r[1]!, r[2]!));
  const strangers = readdirSync(LFW, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => path.join(LFW, name, readdirSync(path.join(LFW, name)).sort()[0]!))
    .filter((_, i) => i % 7 === 0);
  const perGroup = CHATS.map((chat, g) =>
    [...celebs.slice(g * 36, g * 36 + 36), ...strangers.slice(g * 64, g * 64 + 64)].map((file) => ({ chat, bytes: readFileSync(file) })),
  );
  const posts: Plan['posts'][number][] = [];
  for (let i = 0; i < PER_GROUP; i++) for (const group of perGroup) posts.push(group[(i * 37) % PER_GROUP]!);
  return { enroll: enroll.map(({ name, bytes }) => ({ name, bytes })), posts };
}

interface Service {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** A facefile process; resolves once it says it runs. */
function start(role: 'bot' | 'worker', env: Record<string, string>, cwd: string): Promise<Service> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'facefile.js'), role], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`facefile ${role} is`)) resolve({ child, exited, output: () => output });
    });
    void exited.then((code) => reject(new Error(`facefile ${role} exited (${code}) before it ran:\n${output.slice(-3000)}`)));
  });
}

function stop(service: Service): Promise<number | null> {
  service.child.kill('SIGTERM');
  return service.exited;
}

async function kill(service: Service): Promise<void> {
  service.child.kill('SIGKILL');
  await service.exited;
}

/** What the library holds: per group, each photo with the people filed from it and its unknown faces; and the album files. */
interface Filed {
  readonly photos: string[];
  readonly albumFiles: string[];
}

async function filed(dataDir: string, url: string | undefined): Promise<Filed> {
  const database = await openLibraryDatabase({ dataDir, url });
  try {
    const photos = new SqlPhotoStore(database.db);
    const gallery = new SqlGalleryStore(database.db);
    const lines: string[] = [];
    for (const chat of CHATS) {
      const group = `tg:${chat}`;
      const names = new Map((await gallery.list(group)).map((p) => [p.id, p.name]));
      for (const record of await photos.list(group)) {
        const people = record.faces.flatMap((f) => (f.personId ? [names.get(f.personId) ?? '?'] : [])).sort();
        const unknown = record.faces.filter((f) => f.embedding && !f.personId).length;
        lines.push(`${group} ${record.hash.slice(0, 16)} [${people.join(', ')}] +${unknown} unknown`);
      }
    }
    const albumFiles: string[] = [];
    const groups = path.join(dataDir, 'groups');
    for (const group of await readdir(groups)) {
      const albums = path.join(groups, group, 'albums');
      // An album file is named by the day it was posted and the photo's hash: the hash is what must agree.
      for (const album of await readdir(albums).catch(() => [] as string[]))
        for (const file of await readdir(path.join(albums, album))) albumFiles.push(`${group}/${album}/${file.replace(/^\d{4}-\d{2}-\d{2}_\d{6}_/, '')}`);
    }
    return { photos: lines.sort(), albumFiles: albumFiles.sort() };
  } finally {
    await database.close();
  }
}

async function count(dataDir: string, url: string | undefined): Promise<number> {
  const database = await openLibraryDatabase({ dataDir, url });
  try {
    const row = await database.db
      .selectFrom('photos')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  } finally {
    await database.close();
  }
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs: number, services: readonly Service[]): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${services.map((s) => s.output().slice(-2000)).join('\n---\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** One run: enroll everyone in each group, then the burst; `during` may kill and restart processes. */
async function run(
  emulator: BotApiEmulator,
  work: Plan,
  begin: () => Promise<Service[]>,
  progress: { readonly total: () => Promise<number>; readonly during?: (posted: number, services: Service[]) => Promise<void> },
): Promise<Service[]> {
  const admin = emulator.user(100, 'Ada');
  for (const chat of CHATS) emulator.addChat({ id: chat, type: 'supergroup', title: `Group ${chat}` }, { creator: admin });
  const services = await begin();
  for (const chat of CHATS) {
    for (const person of work.enroll) {
      const message = await emulator.postPhoto(chat, admin, person.bytes, { caption: `/enroll ${person.name}` });
      assert.match(textOf(await emulator.waitFor(answerTo(message), 120_000)), /added|enrolled|sample/i);
    }
  }
  for (const [i, post] of work.posts.entries()) {
    await emulator.postPhoto(post.chat, admin, post.bytes);
    await progress.during?.(i + 1, services);
  }
  // The enrolment photos are filed too.
  const expected = work.posts.length + CHATS.length * work.enroll.length;
  await until(async () => (await progress.total()) >= expected, `${expected} photos filed`, 900_000, services);
  return services;
}

function reactionsPerMessage(emulator: BotApiEmulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const sent of emulator.sent.filter((s) => s.method === 'setMessageReaction')) {
    const key = `${sent.chat_id}/${sent.message_id}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe('scale-out: a bot and two workers on PostgreSQL and Redis', { skip: SKIP }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await dropSchemas();
  });

  it(
    'GIVEN 300 photos in 3 groups at once, a worker and the bot killed mid-burst THEN every photo is filed once, exactly as one process files them',
    { timeout: 1_800_000 },
    async () => {
      const work = plan();
      assert.equal(work.posts.length, 300);

      // The single process of today: the reference.
      const single = await BotApiEmulator.start();
      cleanup.push(() => single.close());
      const singleDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-single-'));
      cleanup.push(() => rm(singleDir, { recursive: true, force: true }));
      const singleEnv = {
        DATA_DIR: singleDir,
        TELEGRAM_BOT_TOKEN: single.token,
        TELEGRAM_API_ROOT: single.apiRoot,
        TELEGRAM_GROUP_INTERVAL_MS: '0',
        WORKERS: '2',
        LOG_LEVEL: 'warn',
      };
      const [bot] = await run(single, work, async () => [await start('bot', singleEnv, singleDir)], { total: () => count(singleDir, undefined) });
      await single.idle(60_000).catch(() => undefined);
      assert.equal(await stop(bot!), 0);
      const reference = await filed(singleDir, undefined);
      assert.equal(reference.photos.length, 300 + CHATS.length * work.enroll.length);
      assert.ok(reference.photos.filter((line) => !line.includes('[]')).length >= 60, 'most celebrity photos were filed under someone');

      // The deployment: one bot, two workers, the same posts, with a worker and the bot killed.
      const emulator = await BotApiEmulator.start();
      cleanup.push(() => emulator.close());
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-scaled-'));
      cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
      const databaseUrl = await freshSchemaUrl(pg!);
      const prefix = freshPrefix('scale');
      cleanup.push(() => dropPrefix(redis!, prefix));
      const shared = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, REDIS_URL: redis!, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn', WORKERS: '1' };
      const botEnv = { ...shared, TELEGRAM_BOT_TOKEN: emulator.token, TELEGRAM_API_ROOT: emulator.apiRoot, TELEGRAM_GROUP_INTERVAL_MS: '0' };
      const workerEnv = { ...shared, WORKER_CONCURRENCY: '2' };
      const running: Service[] = [];
      cleanup.push(() => {
        for (const service of running) service.child.kill('SIGKILL');
        return Promise.resolve();
      });
      let killedWorker = false;
      let killedBot = false;
      await run(
        emulator,
        work,
        async () => {
          // The bot first: it is the first process on the volume and writes its marker.
          running.push(await start('bot', botEnv, dataDir));
          running.push(...(await Promise.all([start('worker', workerEnv, dataDir), start('worker', workerEnv, dataDir)])));
          return running;
        },
        {
          total: () => count(dataDir, databaseUrl),
          during: async (posted) => {
            if (!killedWorker && posted >= 90) {
              // A worker dies with jobs in hand: their locks expire and the other worker takes them.
              await until(async () => (await count(dataDir, databaseUrl)) >= 40, '40 photos filed before the kill', 600_000, running);
              killedWorker = true;
              await kill(running[1]!);
            }
            if (!killedBot && posted >= 180) {
              // The bot dies with updates taken and not confirmed: Telegram delivers them again to the new one.
              killedBot = true;
              await kill(running[0]!);
              running[0] = await start('bot', botEnv, dataDir);
            }
          },
        },
      );
      await until(
        () => {
          const reactions = reactionsPerMessage(emulator);
          return Promise.resolve([...reactions.values()].reduce((a, b) => a + b, 0) >= reactionsPerMessage(single).size);
        },
        'every reaction',
        120_000,
        running,
      );
      // The killed worker had jobs in hand, and another worker took them up when their locks expired.
      const queue = new Queue(PHOTOS_QUEUE, { connection: bullConnection({ url: redis!, prefix }), prefix });
      const taken = (await queue.getJobs(['completed'], 0, 1000)).filter((job) => job.stalledCounter > 0).length;
      await queue.close();
      assert.ok(taken >= 1, 'no job was taken over from the killed worker');
      const scaled = await filed(dataDir, databaseUrl);
      assert.equal(await stop(running[0]!), 0, running[0]!.output());
      assert.equal(await stop(running[2]!), 0, running[2]!.output());
      running.length = 0;

      assert.deepEqual(scaled.photos, reference.photos);
      assert.deepEqual(scaled.albumFiles, reference.albumFiles);
      const reactions = reactionsPerMessage(emulator);
      assert.ok(
        [...reactions.values()].every((n) => n === 1),
        'a photo was answered twice',
      );
      assert.equal(reactions.size, reactionsPerMessage(single).size, 'as many photos were answered as in one process');
      assert.deepEqual(
        await readdir(path.join(dataDir, 'incoming')).then((names) => names.filter((n) => n.endsWith('.bin'))),
        [],
        'photos left unfiled on the volume',
      );
    },
  );
});
