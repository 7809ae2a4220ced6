import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.ts';
import { silentLog } from '../../src/core/index.ts';
import { PHOTOS_QUEUE, bullConnection } from '../../src/jobs/bull/index.ts';
import { startBots, type RunningBots } from '../../src/app/index.ts';
import { startWorker, type RunningWorker } from '../../src/app/index.ts';
import { BotApiEmulator, type SentMessage } from '../emulators/telegram/index.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';
import { dropPrefix, freshPrefix, redisUrl } from '../helpers/redis.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { freePort, startLoadBalancer } from '../helpers/telegram-webhook.ts';

const pg = await postgresUrl();
const redis = await redisUrl();
const SKIP = NO_DATASETS || (!pg && 'no PostgreSQL server') || (!redis && 'no Redis server') || false;
const HOOK_URL = 'https://facefile.example/telegram/hook';
const SECRET = 'scale-out_secret';

const isReaction = (message: { readonly chat: { readonly id: number }; readonly message_id: number }) => (sent: SentMessage) =>
  sent.method === 'setMessageReaction' && sent.chat_id === message.chat.id && sent.message_id === message.message_id;

describe('scale-out on a Telegram webhook: two bot processes behind one URL, a worker, PostgreSQL and Redis', { skip: SKIP }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await dropSchemas();
  });

  it(
    'WHEN Telegram delivers updates to both, some twice at once THEN each photo is filed and answered once and each command answered once',
    { timeout: 600_000 },
    async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-hooks-'));
      cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
      const prefix = freshPrefix('hooks');
      cleanup.push(() => dropPrefix(redis!, prefix));
      const ports = [await freePort(), await freePort()];
      const balancer = await startLoadBalancer(ports);
      cleanup.push(() => balancer.close());
      const e = await BotApiEmulator.start({ webhookTarget: balancer.origin, webhookRetryMs: 50 });
      cleanup.push(() => e.close());
      const env = {
        DATA_DIR: dataDir,
        DATABASE_URL: await freshSchemaUrl(pg!),
        REDIS_URL: redis!,
        REDIS_PREFIX: prefix,
        WORKERS: '1',
        TELEGRAM_BOT_TOKEN: e.token,
        TELEGRAM_API_ROOT: e.apiRoot,
        TELEGRAM_WEBHOOK_URL: HOOK_URL,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        TELEGRAM_GROUP_INTERVAL_MS: '0',
      };
      const bots: RunningBots[] = [];
      const botMetrics = await freePort();
      const workerMetrics = await freePort();
      for (const [i, port] of ports.entries()) {
        const running = await startBots(
          loadConfig({ ...env, TELEGRAM_WEBHOOK_PORT: String(port), ...(i === 0 ? { METRICS_PORT: String(botMetrics) } : {}) }, { cwd: dataDir }),
          silentLog,
        );
        bots.push(running);
        cleanup.push(() => running.stop());
      }
      const worker: RunningWorker = await startWorker(
        loadConfig({ ...env, WORKER_CONCURRENCY: '2', METRICS_PORT: String(workerMetrics) }, { cwd: dataDir }),
        silentLog,
      );
      cleanup.push(() => worker.stop());

      const ada = e.user(100, 'Ada');
      const chat = -7001;
      e.addChat({ id: chat, type: 'supergroup', title: 'Hooks' }, { creator: ada });
      const enroll = await e.postPhoto(chat, ada, await readFile(path.join(GROUP, 'obama', 'obama.jpg')), { caption: '/enroll Obama' });
      assert.match(textOf(await e.waitFor(answerTo(enroll), 120_000)), /Obama is enrolled/);

      const posts = ['obama1.jpg', 'obama3.jpg', 'obama-720p.jpg', 'bbt1.jpg'];
      const photos = [];
      const commands = [];
      for (const [i, name] of posts.entries()) {
        // Every other update comes twice at once, as Telegram sends again after a slow answer.
        if (i % 2 === 0) e.redeliverNext(2);
        photos.push(await e.postPhoto(chat, ada, await readFile(path.join(POSTS, name))));
        commands.push(e.postText(chat, ada, '/people'));
      }
      await e.idle(120_000);
      const queue = new Queue(PHOTOS_QUEUE, { connection: bullConnection({ url: redis!, prefix }), prefix });
      cleanup.push(() => queue.close());
      for (let waited = 0; (await queue.getJobCounts('completed')).completed! < posts.length && waited < 300_000; waited += 200)
        await new Promise((resolve) => setTimeout(resolve, 200));
      for (const running of bots) await running.idle();

      assert.equal(new Set(e.webhookDeliveries.filter((d) => d.redelivery).map((d) => d.update_id)).size, 4, 'four updates came twice');
      assert.equal(new Set(balancer.routed).size, 2, 'both bot processes got updates');
      assert.equal((await queue.getJobCounts('completed')).completed, posts.length, 'one job per posted photo');
      const obama = photos.slice(0, 3);
      for (const photo of obama) assert.equal(e.sent.filter(isReaction(photo)).length, 1, `one reaction to message ${photo.message_id}`);
      for (const command of commands) assert.equal(e.sent.filter(answerTo(command)).length, 1, `one answer to message ${command.message_id}`);
      const stats = e.postText(chat, ada, '/stats');
      assert.match(textOf(await e.waitFor(answerTo(stats), 60_000)), /Photos: 5\b/);

      // A process that claimed the next update and died: its update is refused while the claim
      // holds (Telegram asks again), then handled once the claim lapses; never skipped.
      const next = Math.max(...e.webhookDeliveries.map((d) => d.update_id)) + 1;
      const claims = new Redis(redis!);
      cleanup.push(() => Promise.resolve(claims.disconnect()));
      await claims.set(`${prefix}:telegram:${e.token.split(':')[0]}:update:${next}`, 'claimed', 'EX', 2);
      const orphan = await e.postPhoto(chat, ada, await readFile(path.join(POSTS, 'obama-480p.jpg')));
      assert.equal(orphan.message_id > 0, true);
      await e.waitFor(isReaction(orphan), 120_000);
      assert.ok(
        e.webhookDeliveries.some((d) => d.update_id === next && d.status === 503),
        'the claimed update was refused for a while',
      );
      assert.equal(e.sent.filter(isReaction(orphan)).length, 1);

      // Each process says it is ready, naming what it checked, and counts what it did.
      const ready = await fetch(`http://127.0.0.1:${botMetrics}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(Object.keys(((await ready.json()) as { checks: Record<string, string> }).checks).sort(), ['database', 'redis', 'telegram']);
      const workerReady = (await (await fetch(`http://127.0.0.1:${workerMetrics}/readyz`)).json()) as { ready: boolean; checks: Record<string, string> };
      assert.deepEqual(workerReady, { ready: true, checks: { database: 'ok', redis: 'ok', worker: 'ok' } });
      const scraped = await (await fetch(`http://127.0.0.1:${workerMetrics}/metrics`)).text();
      const filed = /^facefile_jobs_total\{queue="photos",outcome="filed"\} (\d+)$/m.exec(scraped)?.[1];
      assert.equal(Number(filed), posts.length + 1, scraped.slice(0, 2000));
      assert.match(scraped, /^facefile_recognition_seconds_count\{stage="detect"\} [1-9]/m);
      assert.match(await (await fetch(`http://127.0.0.1:${botMetrics}/metrics`)).text(), /^facefile_queue_depth\{queue="photos",state="completed"\} 5$/m);
    },
  );
});
