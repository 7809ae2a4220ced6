import path from 'node:path';
import type { Config } from './config.ts';
import { ConfigError, type FaceEngine, type Log } from './core/index.ts';
import { createLibrary, startRedescription } from './composition.ts';
import { PhotoQueue, type PhotoJobEvent, type PhotoJobs } from './jobs/index.ts';
import { BullPhotoJobs, redisConnection, type RedisPlace } from './jobs/bull/index.ts';
import { databaseCheck, observedEngine, redisCheck, watchQueue } from './observe.ts';
import { joinDeployment, reachDeployment } from './scale-out.ts';
import { DiscordBot, TelegramBot, verifyDiscord, verifyTelegram, type TelegramBotOptions } from './adapters/index.ts';
import { DeliveryInProgress } from './adapters/shared/index.ts';
import { Bot } from './bot/index.ts';
import { lockDataDir } from './storage/index.ts';

export interface RunningBots {
  /** Resolves when every accepted photo is filed and every command answered (tests, and tools). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** How often unknown faces past their retention period, and groups past their grace period, are erased. */
const RETENTION_SWEEP_MS = 6 * 60 * 60 * 1000;

export interface StartOptions {
  /**
   * Told when a platform cannot go on (a polling conflict, a lost session, a photo the disk would
   * not take): the process should end non-zero at once so that its supervisor restarts it. Without
   * it, the failure is only logged.
   */
  readonly onFatal?: (error: unknown) => void;
  /** How long each platform's API may take to accept the token at start. */
  readonly verifyTimeoutMs?: number;
  /** Wraps the engine once it is built (tests hold photos in it with a gate). */
  readonly wrapEngine?: (engine: FaceEngine) => FaceEngine;
}

/**
 * `facefile bot`, wired once: each platform's token checked (fast, before the models load) ->
 * engine -> library (after its consistency check) -> the durable photo queue -> the bot layer ->
 * one adapter per configured platform -> start. Refuses to start without a platform token.
 *
 * With REDIS_URL set (scale-out), the photo queue is BullMQ's and `facefile worker` processes file
 * the photos; this process receives updates and answers commands, on the shared PostgreSQL library
 * and data volume, with group locks that hold across processes. Without it, one process does all.
 */
export async function startBots(config: Config, log: Log, options: StartOptions = {}): Promise<RunningBots> {
  if (!config.telegram && !config.discord) {
    throw new ConfigError(['no chat platform configured: set TELEGRAM_BOT_TOKEN and/or DISCORD_TOKEN (see .env.example)']);
  }
  const timeoutMs = options.verifyTimeoutMs;
  const onFatal = options.onFatal ? { onFatal: options.onFatal } : {};
  // What is open, in the order it was opened: closed in reverse, on stop or on a failed start.
  const opened: (() => Promise<void>)[] = [];
  const closeOpened = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  const adapters: { stop(): Promise<void>; idle(): Promise<void> }[] = [];
  let queue: PhotoJobs | undefined;
  let stopping: Promise<void> | undefined;
  // No new photo jobs start; the adapters finish their downloads (still queued); the queue finishes
  // what runs; then the rest.
  const stopAll = async () => {
    queue?.pause();
    for (const adapter of adapters) await adapter.stop();
    await queue?.stop();
    await closeOpened();
  };
  try {
    // Scale-out: many bot and worker processes share the data folder, so none may hold it alone.
    const reached = config.redisUrl ? await reachDeployment(config, 'bot') : undefined;
    if (!reached) {
      const lock = await lockDataDir(config.dataDir, (error) => {
        log.error({ err: error }, 'the lock on the data folder was lost');
        options.onFatal?.(error);
      });
      opened.push(() => lock.release());
    }
    if (config.telegram)
      await verifyTelegram({
        token: config.telegram.token,
        ...(config.telegram.apiRoot ? { apiRoot: config.telegram.apiRoot } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      });
    if (config.discord)
      await verifyDiscord({
        token: config.discord.token,
        shards: config.discord.shards,
        ...(config.discord.apiRoot ? { apiRoot: config.discord.apiRoot } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      });
    const { observed, engine: built } = await observedEngine(config, log, opened);
    const engine = options.wrapEngine ? options.wrapEngine(built) : built;
    const { metrics } = observed;
    const parts = reached ? await joinDeployment(config, reached, engine, log, 'bot', metrics) : await createLibrary(config, engine, log, { metrics });
    opened.push(() => parts.close());
    const { database } = parts;
    if ('summary' in parts) log.info({}, parts.summary);
    else log.info({ database: database.location }, `library on ${database.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} at ${database.location}`);
    observed.addCheck('database', databaseCheck(database.db));

    const repairs = await parts.library.checkConsistency();
    for (const [group, report] of repairs) {
      const touched =
        report.temporaryFilesRemoved +
        report.orphanOriginalsRemoved +
        report.albumLinksRestored +
        report.strayAlbumFilesRemoved +
        report.recordsWithoutOriginal.length;
      if (touched > 0) log.warn({ group, ...report }, 'repaired what an interrupted run left');
    }
    const sweep = async () => {
      const erased = await parts.library.expireUnknownFaces();
      if (erased > 0) log.info({ erased }, 'erased unknown faces past their retention period');
      const left = await parts.library.eraseLeftGroups(config.library.eraseLeftGroupsAfterDays);
      if (left.length > 0) log.info({ groups: left.length }, 'erased the groups the bot was removed from, after their grace period');
    };
    await sweep();
    const timer = setInterval(() => void sweep().catch((error: unknown) => log.error({ err: error }, 'retention sweep failed')), RETENTION_SWEEP_MS);
    timer.unref();
    opened.push(() => Promise.resolve(clearInterval(timer)));
    // After a change of embedder: in the background, stopped before the library closes.
    const redescription = startRedescription(parts.library, log);
    opened.push(() => redescription.stop());

    const onJob = (event: PhotoJobEvent) => metrics.jobDone('photos', event.outcome, event);
    let deliveries: Pick<TelegramBotOptions, 'firstDelivery' | 'forgetDelivery' | 'doneDelivery'> = {};
    if (reached) {
      queue = new BullPhotoJobs({ place: reached.place, dataDir: config.dataDir, log });
      const redis = redisCheck(reached.place);
      opened.push(redis.close);
      observed.addCheck('redis', redis.check);
      if (config.telegram?.webhook) deliveries = redisDeliveries(reached.place, config.telegram.token, opened);
    } else {
      queue = new PhotoQueue({ dir: path.join(config.dataDir, 'queue'), library: parts.library, log, concurrency: engine.info.workers * 2, onJob });
    }
    watchQueue(metrics, queue);
    const bot = new Bot({ library: parts.library, queue, log, eraseAfterDays: config.library.eraseLeftGroupsAfterDays });
    if (config.telegram) {
      const { token, apiRoot, webhook, maxDownloadBytes, maxUploadBytes, groupIntervalMs } = config.telegram;
      const telegram = new TelegramBot({
        token,
        maxDownloadBytes,
        maxUploadBytes,
        groupIntervalMs,
        bot,
        queue,
        log,
        ...onFatal,
        ...deliveries,
        ...(apiRoot ? { apiRoot } : {}),
        ...(webhook ? { webhook: { url: webhook.url, port: webhook.port, ...(webhook.secretToken ? { secretToken: webhook.secretToken } : {}) } } : {}),
      });
      await telegram.start();
      adapters.push(telegram);
      observed.addCheck('telegram', () => telegram.readiness());
    }
    if (config.discord) {
      const { token, apiRoot, scope, messageContent, maxDownloadBytes, shards } = config.discord;
      const discord = new DiscordBot({ token, scope, messageContent, maxDownloadBytes, shards, bot, queue, log, ...onFatal, ...(apiRoot ? { apiRoot } : {}) });
      // Pushed before start so that a failed login is still cleaned up by stopAll.
      adapters.push(discord);
      await discord.start();
      observed.addCheck('discord', () => discord.readiness());
    }
    // Jobs left by the last run are answered through the adapters, so they start first.
    await queue.start();
    observed.started();
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  const started = queue;
  return {
    async idle() {
      // Filing a photo can lead to a reply, so the queue is waited for before the adapters.
      await started.idle();
      for (const adapter of adapters) await adapter.idle();
    },
    // Once: a second stop (a second signal, a test's clean-up) waits for the first.
    stop: () => (stopping ??= stopAll()),
  };
}

/** How long a claim on an update holds while its process handles it; a dead process's lapses then. */
const UPDATE_CLAIM_SECONDS = 600;
/** How long a handled update is remembered: Telegram keeps an undelivered update for a day. */
const UPDATE_DONE_SECONDS = 86_400;

/**
 * Telegram update ids, shared by every bot process behind one webhook URL through Redis, so that an
 * update delivered to two processes (a slow answer, a balancer's retry) is handled by one. A
 * process first claims the update for a while (SET NX with a lease), then records it as done once
 * taken. A delivery that finds it claimed is refused for now (503) and Telegram sends it again:
 * by then it is done (and skipped), or the claimant died and its lease lapsed (and it is handled),
 * so an update is never lost to a claim. Ids are per bot, so the key has the bot's id (the token's
 * public part), never the token.
 */
function redisDeliveries(
  place: RedisPlace,
  token: string,
  opened: (() => Promise<void>)[],
): Pick<TelegramBotOptions, 'firstDelivery' | 'forgetDelivery' | 'doneDelivery'> {
  const redis = redisConnection(place, 'updates');
  redis.on('error', () => undefined);
  opened.push(() => Promise.resolve(redis.disconnect()));
  const key = (id: number) => `${place.prefix}:telegram:${token.split(':')[0]}:update:${id}`;
  return {
    firstDelivery: async (id) => {
      if ((await redis.set(key(id), 'claimed', 'EX', UPDATE_CLAIM_SECONDS, 'NX')) === 'OK') return true;
      // Claimed, or a claim that lapsed just now: either way Telegram is to ask again.
      if ((await redis.get(key(id))) !== 'done') throw new DeliveryInProgress(id);
      return false;
    },
    forgetDelivery: async (id) => {
      await redis.del(key(id));
    },
    doneDelivery: async (id) => {
      await redis.set(key(id), 'done', 'EX', UPDATE_DONE_SECONDS);
    },
  };
}
