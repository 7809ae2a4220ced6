import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Telegram } from 'telegraf';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import type { Log } from '../../src/core/index.ts';
import { Bot } from '../../src/bot/index.ts';
import { PhotoQueue, type PhotoJobMeta } from '../../src/jobs/index.ts';
import { TelegramBot, derivedWebhookSecret } from '../../src/adapters/telegram/index.ts';
import { groupId } from '../../src/core/index.ts';
import { SqlSettingsStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { MemoryUpdateClaims, RedisUpdateClaims } from '../../src/adapters/telegram/index.ts';
import { updateClaimsContract } from '../contracts/update-claims.contract.ts';
import { dropPrefix, freshPrefix, redisUrl } from '../helpers/redis.ts';
import { Redis } from 'ioredis';
import { BotApiEmulator, type SentMessage } from '../emulators/telegram/index.ts';
import { FakeFaceEngine, fakePhoto } from '../fakes/fake-face-engine.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { answerTo, startTelegram, textOf } from '../helpers/telegram.ts';
import { freePort, postToWebhook, startLoadBalancer } from '../helpers/telegram-webhook.ts';
import { until } from '../helpers/until.ts';

const HOOK_URL = 'https://facefile.example/telegram/webhook';
const SECRET = 'webhook_secret-123';

const isReaction = (message: { readonly chat: { readonly id: number }; readonly message_id: number }) => (sent: SentMessage) =>
  sent.method === 'setMessageReaction' && sent.chat_id === message.chat.id && sent.message_id === message.message_id;

/** `facefile bot`'s real wiring on a webhook (with `secret`, or none set: null); the emulator delivers to the bot's port. */
async function webhookBot(t: TestContext, secret: string | null = SECRET) {
  const port = await freePort();
  const h = await startTelegram(
    {
      TELEGRAM_WEBHOOK_URL: HOOK_URL,
      TELEGRAM_WEBHOOK_PORT: String(port),
      TELEGRAM_GROUP_INTERVAL_MS: '200',
      ...(secret === null ? {} : { TELEGRAM_WEBHOOK_SECRET: secret }),
    },
    { webhookTarget: `http://127.0.0.1:${port}` },
  );
  t.after(() => h.close());
  const e = h.emulator;
  const ada = e.user(100, 'Ada');
  const chat = -1001;
  e.addChat({ id: chat, type: 'supergroup', title: 'Webhook' }, { creator: ada });
  return { h, e, ada, chat, port };
}

describe('GIVEN facefile bot in webhook mode with a secret, behind an https URL', { skip: NO_DATASETS }, () => {
  it('THEN it sets the webhook with the secret, answers /help, files a posted photo and reacts to it, exactly like polling', async (t) => {
    const { h, e, ada, chat } = await webhookBot(t);

    const help = e.postText(chat, ada, '/help');
    assert.match(textOf(await e.waitFor(answerTo(help), 60_000)), /enroll/i);
    const reference = await readFile(path.join(GROUP, 'obama', 'obama.jpg'));
    const enroll = await e.postPhoto(chat, ada, reference, { caption: '/enroll obama' });
    assert.match(textOf(await e.waitFor(answerTo(enroll), 60_000)), /obama is enrolled/i);
    const posted = await e.postPhoto(chat, ada, await readFile(path.join(POSTS, 'obama1.jpg')));
    await e.waitFor(isReaction(posted), 60_000);
    await e.idle(60_000);
    await h.bots.idle();

    assert.equal(e.webhook?.url, HOOK_URL);
    assert.equal(e.webhook.params.secret_token, SECRET);
    assert.equal(e.calls.filter((c) => c.method === 'getUpdates').length, 0, 'no long polling');
    assert.equal(e.calls.filter((c) => c.method === 'deleteWebhook').length, 0);
    assert.ok(e.webhookDeliveries.length >= 3 && e.webhookDeliveries.every((d) => d.status === 200), 'every update delivered to the webhook and taken');
    assert.equal(e.sent.filter(isReaction(posted)).length, 1);
  });

  it('WHEN a request comes without the secret or with a wrong one THEN it is refused with 403 and not handled; with the secret, the same update is', async (t) => {
    const { h, e, ada, port } = await webhookBot(t);
    const quiet = -1002;
    e.addChat({ id: quiet, type: 'supergroup', title: 'Forged' }, { creator: ada });
    const forged = {
      update_id: 1,
      message: {
        message_id: 77,
        date: Math.floor(Date.now() / 1000),
        chat: { id: quiet, type: 'supergroup', title: 'Forged' },
        from: ada,
        text: '/help',
        entities: [{ type: 'bot_command', offset: 0, length: 5 }],
      },
    };
    const url = `http://127.0.0.1:${port}${new URL(HOOK_URL).pathname}`;

    const missing = await postToWebhook(url, forged);
    const wrong = await postToWebhook(url, forged, 'not-the-secret');
    const wrongPath = await postToWebhook(`http://127.0.0.1:${port}/telegraf`, forged, SECRET);
    await h.bots.idle();
    const answeredBefore = e.sent.filter((s) => s.chat_id === quiet).length;
    const right = await postToWebhook(url, forged, SECRET);
    await e.waitFor((s) => s.chat_id === quiet, 60_000);
    await h.bots.idle();

    assert.deepEqual([missing, wrong, wrongPath], [403, 403, 404]);
    assert.equal(answeredBefore, 0, 'nothing handled without the secret');
    assert.equal(right, 200);
    assert.equal(e.sent.filter((s) => s.chat_id === quiet).length, 1, 'the same update with the secret is handled');
    assert.match(await readFile(h.logFile, 'utf8'), /without the right secret token was refused/);
  });
});

describe('GIVEN facefile bot in webhook mode with no secret set (the shipped default)', { skip: NO_DATASETS }, () => {
  it('THEN it sets the webhook with a secret of its own, and forged /forget, migration and removal POSTs without it have no effect', async (t) => {
    const { h, e, ada, port } = await webhookBot(t, null);
    const victim = -5001;
    const attackers = -1009;
    const mallory = e.user(666, 'Mallory');
    e.addChat({ id: victim, type: 'group', title: 'Family' }, { creator: ada });
    e.addChat({ id: attackers, type: 'supergroup', title: 'Loot' }, { creator: mallory });
    const enroll = await e.postPhoto(victim, ada, await readFile(path.join(GROUP, 'obama', 'obama.jpg')), { caption: '/enroll obama' });
    assert.match(textOf(await e.waitFor(answerTo(enroll), 60_000)), /obama is enrolled/i);
    await e.idle(60_000);
    await h.bots.idle();

    const url = `http://127.0.0.1:${port}${new URL(HOOK_URL).pathname}`;
    const chat = { id: victim, type: 'group', title: 'Family' };
    const date = Math.floor(Date.now() / 1000);
    const forgeries = [
      { message: { message_id: 900, date, chat, from: ada, text: '/forget obama', entities: [{ type: 'bot_command', offset: 0, length: 7 }] } },
      { message: { message_id: 901, date, chat, from: ada, migrate_to_chat_id: attackers } },
      {
        my_chat_member: {
          chat,
          from: ada,
          date,
          old_chat_member: { status: 'member', user: { id: e.bot.id, is_bot: true, first_name: e.bot.first_name } },
          new_chat_member: { status: 'left', user: { id: e.bot.id, is_bot: true, first_name: e.bot.first_name } },
        },
      },
    ];
    const statuses: number[] = [];
    for (const [i, forged] of forgeries.entries()) {
      statuses.push(await postToWebhook(url, { update_id: 800_000 + i * 2, ...forged }));
      statuses.push(await postToWebhook(url, { update_id: 800_001 + i * 2, ...forged }, 'a-guessed-secret'));
    }
    await h.bots.idle();

    const people = e.postText(victim, ada, '/people');
    assert.match(textOf(await e.waitFor(answerTo(people), 60_000)), /obama/i, 'the forged /forget did nothing');
    const loot = e.postText(attackers, mallory, '/people');
    assert.doesNotMatch(textOf(await e.waitFor(answerTo(loot), 60_000)), /obama/i, "the forged migration did not move the library into the attacker's chat");
    const database = await openLibraryDatabase({ dataDir: h.dir });
    try {
      const settings = await new SqlSettingsStore(database.db).get(groupId({ platform: 'telegram', chatId: victim }));
      assert.equal(settings?.removedAt, undefined, 'the forged removal scheduled no erasure');
    } finally {
      await database.close();
    }
    assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403], 'every forged POST refused');
    const secret = e.webhook?.params.secret_token;
    assert.equal(typeof secret, 'string', 'setWebhook was given a secret_token');
    assert.match(String(secret), /^[A-Za-z0-9_-]{1,256}$/, "Telegram's alphabet for secret_token");
    assert.ok(!String(secret).includes(e.token), 'not the token itself');
    assert.ok(
      e.webhookDeliveries.length > 0 && e.webhookDeliveries.every((d) => d.status === 200),
      "Telegram's own deliveries carry the derived secret and are taken",
    );
    const log = await readFile(h.logFile, 'utf8');
    assert.match(log, /without the right secret token was refused/);
    assert.ok(!log.includes(String(secret)) && !log.includes('a-guessed-secret'), 'no secret in the log');
  });

  it('THEN two processes with the same token derive the same secret, and another token a different one', () => {
    assert.equal(derivedWebhookSecret('123:abc'), derivedWebhookSecret('123:abc'));
    assert.notEqual(derivedWebhookSecret('123:abc'), derivedWebhookSecret('123:abd'));
  });
});

/** The folder queue, counting what it accepts. */
class CountingQueue extends PhotoQueue {
  /** The message id of every photo put on this queue. */
  readonly queued: string[] = [];
  /** While set, a photo waits for it before it is written: a slow queue. */
  gate: Promise<void> | undefined;

  override async add(bytes: Uint8Array, meta: PhotoJobMeta): Promise<void> {
    this.queued.push(meta.source.message!);
    await this.gate;
    return super.add(bytes, meta);
  }
}

/** One emulated `facefile bot` process: its own queue and Bot layer, the library shared. */
interface Process {
  readonly telegram: TelegramBot;
  readonly queue: CountingQueue;
}

/**
 * Two bot processes behind a round-robin load balancer, sharing one library and one dedup store,
 * with the fake face engine (the pipeline is not under test here, the delivery is).
 */
async function twoProcesses(t: TestContext) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-webhook-'));
  const errors: unknown[] = [];
  const log: Log = { info: () => undefined, warn: () => undefined, error: (context) => errors.push(context) };
  const { library, close } = await createLibrary(loadConfig({ DATA_DIR: dir }, { cwd: dir }), new FakeFaceEngine(), log);
  const ports = [await freePort(), await freePort()];
  const balancer = await startLoadBalancer(ports);
  const emulator = await BotApiEmulator.start({ webhookTarget: balancer.origin, webhookRetryMs: 50 });
  const shared = new MemoryUpdateClaims();
  const processes: Process[] = [];
  // Registered before anything starts: a start that fails half-way still closes what it opened.
  t.after(async () => {
    for (const p of processes) await p.telegram.stop();
    for (const p of processes) await p.queue.stop();
    await emulator.close();
    await balancer.close();
    await close();
    await rm(dir, { recursive: true, force: true });
  });
  for (const [i, port] of ports.entries()) {
    const queue = new CountingQueue({ dir: path.join(dir, `queue-${i}`), library, log, concurrency: 2 });
    const bot = new Bot({ library, queue, log, eraseAfterDays: 30 });
    const telegram = new TelegramBot({
      token: emulator.token,
      apiRoot: emulator.apiRoot,
      webhook: { url: HOOK_URL, port, host: '127.0.0.1', secretToken: SECRET },
      updateClaims: shared,
      maxDownloadBytes: 20_000_000,
      maxUploadBytes: 50_000_000,
      groupIntervalMs: 0,
      reactionIntervalMs: 0,
      bot,
      queue,
      log,
    });
    await telegram.start();
    await queue.start();
    processes.push({ telegram, queue });
  }
  const ada = emulator.user(100, 'Ada');
  const chat = -1003;
  emulator.addChat({ id: chat, type: 'supergroup', title: 'Scaled out' }, { creator: ada });
  /** Every update taken, every photo filed and answered, in both processes. */
  const idle = async () => {
    await emulator.idle(60_000);
    for (const p of processes) await p.queue.idle();
    for (const p of processes) await p.telegram.idle();
  };
  return { emulator, balancer, processes, ada, chat, errors, idle };
}

/** A photo of fake identity 1, different in its background each time (so each is a new photo). */
function photoOfAnna(background: number): Promise<Buffer> {
  return fakePhoto({ background, faces: [{ identity: 1, x: 40, y: 30, size: 48 }] });
}

describe('GIVEN two bot processes behind one webhook URL, sharing a dedup store', () => {
  it('WHEN Telegram delivers every update, some of them twice at once THEN each photo is queued and reacted to once and each command answered once', async (t) => {
    const { emulator: e, balancer, processes, ada, chat, errors, idle } = await twoProcesses(t);
    const enroll = await e.postPhoto(chat, ada, await photoOfAnna(20), { caption: '/enroll Anna' });
    assert.match(textOf(await e.waitFor(answerTo(enroll), 30_000)), /Anna is enrolled/);

    const photos = [];
    const commands = [];
    for (let i = 0; i < 6; i++) {
      // Every other update is redelivered while the first copy is being handled.
      if (i % 2 === 0) e.redeliverNext(2);
      photos.push(await e.postPhoto(chat, ada, await photoOfAnna(40 + i * 4)));
      commands.push(e.postText(chat, ada, '/stats'));
    }
    await idle();

    const redelivered = new Set(e.webhookDeliveries.filter((d) => d.redelivery).map((d) => d.update_id));
    assert.equal(redelivered.size, 6, 'six updates came twice');
    assert.ok(new Set(balancer.routed).size === 2, 'both processes got updates');
    const queued = processes.flatMap((p) => p.queue.queued).sort();
    assert.deepEqual(queued, photos.map((p) => String(p.message_id)).sort(), 'each photo queued once, in one process');
    for (const photo of photos) assert.equal(e.sent.filter(isReaction(photo)).length, 1, `one reaction to message ${photo.message_id}`);
    for (const command of commands) assert.equal(e.sent.filter(answerTo(command)).length, 1, `one answer to message ${command.message_id}`);
    assert.deepEqual(errors, []);
  });

  it('WHEN one process stops THEN the webhook stays set and the other one takes every update, an update refused by the stopped one included', async (t) => {
    const { emulator: e, processes, ada, chat, errors, idle } = await twoProcesses(t);
    const telegram = new Telegram(e.token, { apiRoot: e.apiRoot });
    await idle();

    await processes[0]!.telegram.stop();
    const info = await telegram.getWebhookInfo();
    const after: { chat: { id: number }; message_id: number }[] = [];
    for (let i = 0; i < 4; i++) after.push(e.postText(chat, ada, '/help'));
    await idle();

    assert.equal(info.url, HOOK_URL, 'the webhook is still set');
    assert.equal(e.calls.filter((c) => c.method === 'deleteWebhook').length, 0);
    for (const message of after) assert.equal(e.sent.filter(answerTo(message)).length, 1, `one answer to message ${message.message_id}`);
    assert.ok(
      e.webhookDeliveries.some((d) => d.status === 502),
      'the balancer sent some to the stopped process, and Telegram delivered them again',
    );
    assert.equal((await telegram.getWebhookInfo()).pending_update_count, 0);
    assert.deepEqual(errors, []);
  });

  it('WHEN a process stops while it queues a photo THEN the photo is queued and its update answered 200 before the stop ends', async (t) => {
    const { emulator: e, processes, ada, chat, errors, idle } = await twoProcesses(t);
    const enroll = await e.postPhoto(chat, ada, await photoOfAnna(20), { caption: '/enroll Anna' });
    await e.waitFor(answerTo(enroll), 30_000);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    for (const p of processes) p.queue.gate = gate;

    const photo = await e.postPhoto(chat, ada, await photoOfAnna(60));
    const id = String(photo.message_id);
    await until(() => processes.some((p) => p.queue.queued.includes(id)), 'the photo on its way to a queue');
    const taker = processes.find((p) => p.queue.queued.includes(id))!;
    let stopped = false;
    const stopping = taker.telegram.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stoppedWhileQueueing = stopped;
    open();
    await stopping;
    await idle();

    assert.equal(stoppedWhileQueueing, false, 'the stop waited for the photo');
    const deliveries = e.webhookDeliveries.filter((d) => d.update_id === e.webhookDeliveries.at(-1)!.update_id);
    assert.deepEqual(
      deliveries.map((d) => d.status),
      [200],
      'answered once, by the stopping process',
    );
    assert.equal(e.sent.filter(isReaction(photo)).length, 1);
    assert.deepEqual(errors, []);
  });
});

const redis = await redisUrl();
if (redis) {
  const clients: Redis[] = [];
  const prefix = freshPrefix('claims');
  after(async () => {
    for (const client of clients) client.disconnect();
    await dropPrefix(redis, prefix);
  });
  let bot = 0;
  updateClaimsContract('RedisUpdateClaims, shared by the processes behind one URL', () => {
    const client = new Redis(redis);
    clients.push(client);
    // A bot of its own for each test: update ids start again at 1.
    return Promise.resolve(new RedisUpdateClaims(client, RedisUpdateClaims.prefixFor(prefix, `${++bot}:token`)));
  });
}
