import path from 'node:path';
import type { Config } from '../config.ts';
import { ConfigError, type FaceEngine, type Log } from '../core/index.ts';
import { PhotoQueue, type PhotoJobEvent, type PhotoJobs } from '../jobs/index.ts';
import { BullPhotoJobs, redisConnection } from '../jobs/bull/index.ts';
import { DiscordBot, RedisUpdateClaims, TelegramBot, verifyDiscord, verifyTelegram, type UpdateClaims } from '../adapters/index.ts';
import { Bot } from '../bot/index.ts';
import { openLibrary } from './library.ts';
import { databaseCheck, observe, observedEngine, redisCheck, watchQueue } from './observed.ts';
import { startRedescription } from './parts.ts';
import { discordLinks, gallerySigner, startGallery } from './gallery.ts';
import { startHandoffPickup } from './handoff-pickup.ts';

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
    const observed = await observe(config, log);
    opened.push(() => observed.close());
    const { metrics } = observed;
    const parts = await openLibrary(config, {
      role: 'bot',
      log,
      metrics,
      ...(options.onFatal ? { onLockLost: options.onFatal } : {}),
      // The tokens are checked before the models load: a wrong one ends the start in seconds.
      beforeEngine: async () => {
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
      },
      engine: async () => {
        const engine = await observedEngine(config, log, metrics);
        return options.wrapEngine ? options.wrapEngine(engine) : engine;
      },
    });
    opened.push(() => parts.close());
    const { database, engine } = parts;
    log.info({ database: database.location }, parts.summary);
    observed.addCheck('database', databaseCheck(database.db));

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
    let updateClaims: UpdateClaims | undefined;
    if (parts.redis) {
      const place = parts.redis;
      queue = new BullPhotoJobs({ place, dataDir: config.dataDir, log });
      const redis = redisCheck(place);
      opened.push(redis.close);
      observed.addCheck('redis', redis.check);
      // Behind one webhook URL, the bot processes share who handles which update.
      if (config.telegram?.webhook) {
        const client = redisConnection(place, 'updates');
        client.on('error', () => undefined);
        opened.push(() => Promise.resolve(client.disconnect()));
        updateClaims = new RedisUpdateClaims(client, RedisUpdateClaims.prefixFor(place.prefix, config.telegram.token));
      }
    } else {
      queue = new PhotoQueue({
        dir: path.join(config.dataDir, 'queue'),
        library: parts.library,
        log,
        concurrency: engine.info.workers * 2,
        onJob,
        limits: config.queue,
      });
    }
    watchQueue(metrics, queue);
    const bot = new Bot({ library: parts.library, queue, log, eraseAfterDays: config.library.eraseLeftGroupsAfterDays });
    const signer = config.gallery && gallerySigner(config, config.gallery);
    let telegramBot: TelegramBot | undefined;
    let discordBot: DiscordBot | undefined;
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
        ...(updateClaims ? { updateClaims } : {}),
        ...(config.gallery ? { miniApp: config.gallery.miniApp } : {}),
        ...(apiRoot ? { apiRoot } : {}),
        ...(webhook ? { webhook: { url: webhook.url, port: webhook.port, ...(webhook.secretToken ? { secretToken: webhook.secretToken } : {}) } } : {}),
      });
      await telegram.start();
      adapters.push(telegram);
      telegramBot = telegram;
      observed.addCheck('telegram', () => telegram.readiness());
    }
    if (config.discord) {
      const { token, apiRoot, scope, messageContent, maxDownloadBytes, shards } = config.discord;
      const discord = new DiscordBot({
        token,
        scope,
        messageContent,
        maxDownloadBytes,
        shards,
        bot,
        queue,
        log,
        importCursors: parts.importCursors,
        ...(config.gallery && signer ? { galleryLink: discordLinks(config.gallery, signer) } : {}),
        ...onFatal,
        ...(apiRoot ? { apiRoot } : {}),
      });
      // Pushed before start so that a failed login is still cleaned up by stopAll.
      adapters.push(discord);
      await discord.start();
      discordBot = discord;
      observed.addCheck('discord', () => discord.readiness());
    }
    if (config.gallery && signer) {
      const served = await startGallery(config, config.gallery, signer, parts.library, log, {
        ...(telegramBot ? { telegram: telegramBot.galleryMember.bind(telegramBot) } : {}),
        ...(discordBot ? { discord: discordBot.galleryMember.bind(discordBot) } : {}),
      });
      opened.push(() => served.close());
    }
    // Jobs left by the last run are answered through the adapters, so they start first.
    await queue.start();
    // One process holds the data folder: a `facefile import` run meanwhile hands its photos over.
    if (!parts.redis) {
      const pickup = await startHandoffPickup(config, log, { ...parts, concurrency: engine.info.workers, queue });
      opened.push(() => pickup.stop());
    }
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
