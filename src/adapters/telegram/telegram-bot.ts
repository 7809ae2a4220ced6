import { createReadStream } from 'node:fs';
import { Telegraf, TelegramError, type Context } from 'telegraf';
import type { Message, MessageEntity, PhotoSize, ReplyParameters, Update, User } from '@telegraf/types';
import type { GroupId, Log } from '../../core/index.ts';
import { describeError } from '../../core/index.ts';
import type { PhotoLibrary } from '../../core/library/index.ts';
import { isPhotoName } from '../../files/index.ts';
import { parseEnroll, parseName, parseThreshold } from '../shared/commands.ts';
import { Outbox } from '../shared/outbox.ts';
import type { PhotoJobMeta, PhotoQueue } from '../shared/photo-queue.ts';
import * as replies from '../shared/replies.ts';

export const TELEGRAM = 'telegram';

/** Telegram's id for the account anonymous group admins post as. */
const ANONYMOUS_ADMIN_ID = 1087968824;

export interface TelegramBotOptions {
  readonly token: string;
  /** The Bot API server; a self-hosted one lifts the 20 MB download and 50 MB upload limits. */
  readonly apiRoot?: string;
  /** Webhook mode instead of long polling. */
  readonly webhook?: { readonly url: string; readonly port: number; readonly secretToken?: string };
  readonly maxDownloadBytes: number;
  readonly maxUploadBytes: number;
  readonly library: PhotoLibrary;
  readonly queue: PhotoQueue;
  readonly log: Log;
  /** Least time between two messages to one chat: Telegram allows about 20 a minute in a group. */
  readonly groupIntervalMs?: number;
  readonly privateIntervalMs?: number;
  readonly reactionIntervalMs?: number;
  /** How long a chat's admin list is trusted before asking Telegram again. */
  readonly adminCacheMs?: number;
}

const COMMANDS = [
  { command: 'enroll', description: 'Teach me a face: /enroll <name> as the caption of a photo (or /enroll me)' },
  { command: 'album', description: "Get someone's photos as zip files: /album <name>" },
  { command: 'people', description: 'Who is enrolled' },
  { command: 'unknown', description: 'Faces that keep turning up' },
  { command: 'name', description: 'Name a face that keeps turning up: /name <number> <name>' },
  { command: 'notthis', description: 'Reply to a photo filed under the wrong person: /notthis <name>' },
  { command: 'stats', description: 'How many photos, faces and people' },
  { command: 'threshold', description: 'Admins: show or set the match threshold, or /threshold report' },
  { command: 'settings', description: 'Admins: quiet or summary replies to photos' },
  { command: 'forget', description: 'Admins: /forget <name>. Anyone: /forget me' },
  { command: 'help', description: 'What I do and what I store' },
] as const;

type MessageContext = Context<Update.MessageUpdate>;

interface Command {
  readonly name: string;
  readonly args: string;
}

/**
 * The Telegram adapter: turns updates into library calls and results into replies. It holds no
 * business logic. Photos are downloaded and handed to the durable queue before the update is
 * confirmed to Telegram, so a crash makes Telegram deliver them again rather than lose them;
 * commands run beside polling so that a slow one never holds up the next update.
 */
export class TelegramBot {
  private readonly bot: Telegraf;
  private readonly messages: Outbox;
  private readonly reactions: Outbox;
  private readonly admins = new Map<number, { ids: Set<number>; until: number }>();
  private readonly running = new Set<Promise<void>>();
  private launched: Promise<void> | undefined;
  private username = '';

  constructor(private readonly options: TelegramBotOptions) {
    if (!options.token) throw new Error('the Telegram token is empty');
    this.bot = new Telegraf(options.token, { telegram: { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) }, handlerTimeout: 10 * 60_000 });
    const retryAfter = (error: unknown) => (error instanceof TelegramError && error.code === 429 ? (error.parameters?.retry_after ?? 5) : undefined);
    this.messages = new Outbox({
      intervalMs: (chat) => (Number(chat) < 0 ? (options.groupIntervalMs ?? 3100) : (options.privateIntervalMs ?? 1000)),
      retryAfter,
      log: options.log,
    });
    this.reactions = new Outbox({ intervalMs: () => options.reactionIntervalMs ?? 300, retryAfter, log: options.log });
    this.bot.on('message', (ctx) => this.onMessage(ctx));
    this.bot.catch((error, ctx) => {
      options.log.error({ err: error, update: ctx.update.update_id }, 'unhandled error in a Telegram update');
    });
  }

  /** Registers the commands, starts answering queued photos, and starts polling (or the webhook). */
  async start(): Promise<void> {
    const me = await this.bot.telegram.getMe();
    this.username = me.username;
    this.bot.botInfo = me;
    await this.bot.telegram.setMyCommands(COMMANDS);
    this.options.queue.onDone(TELEGRAM, (meta, result) => this.answerPhoto(meta, result));
    const { webhook } = this.options;
    const launchOptions = webhook
      ? { webhook: { domain: webhook.url, port: webhook.port, ...(webhook.secretToken ? { secretToken: webhook.secretToken } : {}) } }
      : {};
    // launch() resolves only when polling stops; keep it to wait for the last batch on stop().
    this.launched = this.bot.launch(launchOptions).catch((error: unknown) => {
      this.options.log.error({ err: error }, 'Telegram polling stopped with an error');
    });
    this.options.log.info({ bot: me.username, mode: webhook ? 'webhook' : 'long polling' }, 'Telegram bot started');
  }

  /** Resolves when no command or reply of this adapter is in progress. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops taking updates, lets the current batch finish (so its offset is confirmed), then the commands. */
  async stop(): Promise<void> {
    this.bot.stop('shutdown');
    await this.launched;
    await Promise.allSettled([...this.running]);
  }

  private async onMessage(ctx: MessageContext): Promise<void> {
    const message = ctx.message;
    // The bot's own messages and other bots' are not photos to file; anonymous admins post as a bot.
    if (message.from.is_bot && message.from.id !== ANONYMOUS_ADMIN_ID) return;
    const command = this.commandOf(message);
    const photo = photoOf(message);
    try {
      if (!command && photo) {
        // Awaited: the update is confirmed to Telegram only once the photo is safely queued.
        await this.queuePhoto(ctx, message, photo);
        return;
      }
    } catch (error) {
      this.options.log.error({ err: error, chat: message.chat.id }, 'a photo could not be queued');
      void this.reply(ctx, replies.BUSY);
      return;
    }
    if (command) void this.track(this.runCommand(ctx, message, command));
  }

  private async queuePhoto(ctx: MessageContext, message: Message, photo: PhotoRef): Promise<void> {
    const bytes = await this.download(ctx, photo);
    if (!bytes) return;
    const meta: PhotoJobMeta = {
      platform: TELEGRAM,
      group: groupOf(message),
      postedAt: new Date(message.date * 1000).toISOString(),
      source: { chat: String(message.chat.id), message: String(message.message_id), file: photo.fileId },
      ...(message.from ? { postedBy: userOf(message.from) } : {}),
      ...(photo.fileName ? { originalName: photo.fileName } : {}),
    };
    await this.options.queue.add(bytes, meta);
  }

  /** The bytes of a photo, or undefined after telling the user why not. */
  private async download(ctx: MessageContext, photo: PhotoRef): Promise<Uint8Array | undefined> {
    const limit = this.options.maxDownloadBytes;
    if (photo.size !== undefined && photo.size > limit) {
      void this.reply(ctx, tooLargeText(limit));
      return undefined;
    }
    let url: URL;
    try {
      url = await ctx.telegram.getFileLink(photo.fileId);
    } catch (error) {
      if (error instanceof TelegramError && error.code === 400 && /too big/i.test(error.description)) {
        void this.reply(ctx, tooLargeText(limit));
        return undefined;
      }
      throw error;
    }
    const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (!response.ok || !response.body) throw new Error(`file download failed with HTTP ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > limit) {
      void this.reply(ctx, tooLargeText(limit));
      return undefined;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > limit) {
        void this.reply(ctx, tooLargeText(limit));
        return undefined;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  private async runCommand(ctx: MessageContext, message: Message, command: Command): Promise<void> {
    const group = groupOf(message);
    const library = this.options.library;
    try {
      switch (command.name) {
        case 'start':
        case 'help':
          return await this.reply(ctx, replies.helpText(HELP_SEEING));
        case 'enroll':
          return await this.enroll(ctx, message, command.args);
        case 'album':
          return await this.album(ctx, group, command.args.trim());
        case 'people':
          return await this.reply(ctx, replies.peopleReply(await library.people(group)));
        case 'unknown': {
          const result = await library.unknownClusters(group);
          if (result.sheet) return await this.replyPhoto(ctx, result.sheet, replies.unknownReply(result));
          return await this.reply(ctx, replies.unknownReply(result));
        }
        case 'name': {
          const parsed = parseName(command.args);
          if (!parsed) return await this.reply(ctx, 'Use /name <number> <name>, with a number from /unknown.');
          return await this.reply(ctx, replies.nameClusterReply(await library.nameCluster(group, parsed.cluster, parsed.name, message.from && userOf(message.from))));
        }
        case 'notthis': {
          const replied = repliedPhoto(message);
          if (!replied) return await this.reply(ctx, 'Reply to the photo with /notthis <name>.');
          const bytes = await this.download(ctx, replied);
          if (!bytes) return;
          return await this.reply(ctx, replies.notThisReply(await library.notThis(group, command.args.trim(), { bytes })));
        }
        case 'stats':
          return await this.reply(ctx, replies.statsReply(await library.stats(group)));
        case 'threshold':
          return await this.threshold(ctx, message, group, command.args);
        case 'settings':
          return await this.settings(ctx, message, group, command.args);
        case 'forget':
          return await this.forget(ctx, message, group, command.args.trim());
        default:
          return;
      }
    } catch (error) {
      this.options.log.error({ err: error, chat: message.chat.id, command: command.name }, 'a command failed');
      await this.reply(ctx, replies.BUSY);
    }
  }

  private async enroll(ctx: MessageContext, message: Message, args: string): Promise<void> {
    const parsed = parseEnroll(args);
    const photo = photoOf(message) ?? repliedPhoto(message);
    if (!photo) return this.reply(ctx, 'Send /enroll <name> as the caption of a photo of them, or as a reply to one.');
    const from = message.from;
    if (parsed.me && !from) return this.reply(ctx, 'I cannot tell who you are here.');
    const name = parsed.me && from ? displayName(from) : parsed.name;
    const bytes = await this.download(ctx, photo);
    if (!bytes) return;
    const result = await this.options.library.enroll(groupOf(message), {
      name,
      photo: { bytes, postedAt: new Date(message.date * 1000), source: { chat: String(message.chat.id), message: String(message.message_id), file: photo.fileId } },
      ...(parsed.face !== undefined ? { face: parsed.face } : {}),
      ...(parsed.me && from ? { userId: userOf(from) } : {}),
      ...(from ? { by: userOf(from) } : {}),
    });
    if (result.kind === 'choose-face') return this.replyPhoto(ctx, result.sheet, replies.enrollReply(result, parsed.me ? 'me' : name));
    return this.reply(ctx, replies.enrollReply(result, name));
  }

  private async album(ctx: MessageContext, group: GroupId, name: string): Promise<void> {
    if (!name) return this.reply(ctx, 'Whose album? /album <name>');
    const chat = ctx.chat.id;
    // "sending a file…" in the chat while the zips are built; Telegram shows it for 5 s.
    const action = () => void ctx.telegram.sendChatAction(chat, 'upload_document').catch(() => undefined);
    action();
    const timer = setInterval(action, 4500);
    try {
      const result = await this.options.library.album(group, name, this.options.maxUploadBytes);
      switch (result.kind) {
        case 'unknown-person':
          return await this.reply(ctx, replies.unknownPeopleReply(result.people));
        case 'empty':
          return await this.reply(ctx, replies.albumEmptyReply(result.person.name));
        case 'album-photos':
          return;
        case 'album':
          try {
            for (const part of result.export.parts) {
              await this.messages.send(String(chat), () =>
                ctx.telegram.sendDocument(chat, { source: createReadStream(part.path), filename: part.fileName }, { caption: `${part.photos} photos` }),
              );
            }
            if (result.export.tooLarge.length > 0) await this.reply(ctx, replies.albumTooLargeReply(result.export.tooLarge.map((e) => e.name), this.options.maxUploadBytes));
          } finally {
            await result.export.dispose();
          }
      }
    } finally {
      clearInterval(timer);
    }
  }

  private async threshold(ctx: MessageContext, message: Message, group: GroupId, args: string): Promise<void> {
    if (!(await this.isAdmin(ctx, message))) return this.reply(ctx, replies.NOT_ADMIN);
    const parsed = parseThreshold(args);
    const library = this.options.library;
    switch (parsed.kind) {
      case 'show':
        return this.reply(ctx, replies.thresholdReply((await library.settings(group)).threshold));
      case 'set':
        return this.reply(ctx, replies.setThresholdReply(await library.setThreshold(group, parsed.value)));
      case 'report': {
        const report = await library.thresholdReport(group, parsed.proposed);
        return this.replyPhoto(ctx, report.plot, replies.thresholdReportCaption(report));
      }
      case 'invalid':
        return this.reply(ctx, 'Use /threshold, /threshold <value> or /threshold report [value].');
    }
  }

  private async settings(ctx: MessageContext, message: Message, group: GroupId, args: string): Promise<void> {
    if (!(await this.isAdmin(ctx, message))) return this.reply(ctx, replies.NOT_ADMIN);
    const mode = args.trim().toLowerCase().replace(/^replies\s+/, '');
    if (mode === 'quiet' || mode === 'summary') {
      await this.options.library.setReplyMode(group, mode);
      return this.reply(ctx, mode === 'quiet' ? 'I will stay quiet about photos (a 👍 when I file one).' : 'I will reply to each photo with who I filed it under.');
    }
    const settings = await this.options.library.settings(group);
    return this.reply(ctx, `Replies to photos: ${settings.replyMode}. Threshold: ${settings.threshold.toFixed(3)}.\nChange with /settings quiet or /settings summary.`);
  }

  private async forget(ctx: MessageContext, message: Message, group: GroupId, name: string): Promise<void> {
    if (name.toLowerCase() === 'me') {
      if (!message.from) return this.reply(ctx, 'I cannot tell who you are here.');
      return this.reply(ctx, replies.forgetReply(await this.options.library.forget(group, { userId: userOf(message.from) })));
    }
    if (!(await this.isAdmin(ctx, message))) return this.reply(ctx, `${replies.NOT_ADMIN} (/forget me works for anyone.)`);
    if (!name) return this.reply(ctx, 'Whom? /forget <name>, or /forget me.');
    return this.reply(ctx, replies.forgetReply(await this.options.library.forget(group, { name })));
  }

  /** Creator or administrator (asked of Telegram, remembered briefly); an anonymous admin counts. */
  private async isAdmin(ctx: MessageContext, message: Message): Promise<boolean> {
    const chat = message.chat;
    if (chat.type === 'private') return true;
    if (message.from?.id === ANONYMOUS_ADMIN_ID && message.sender_chat?.id === chat.id) return true;
    const from = message.from?.id;
    if (from === undefined) return false;
    const cached = this.admins.get(chat.id);
    if (cached && cached.until > Date.now()) return cached.ids.has(from);
    const members = await ctx.telegram.getChatAdministrators(chat.id);
    const ids = new Set(members.map((m) => m.user.id));
    this.admins.set(chat.id, { ids, until: Date.now() + (this.options.adminCacheMs ?? 60_000) });
    return ids.has(from);
  }

  /** After the queue filed a photo: a reaction, a one-line summary, or the reason it failed. */
  private async answerPhoto(meta: PhotoJobMeta, result: Parameters<typeof replies.photoError>[0]): Promise<void> {
    const chat = meta.source.chat!;
    const messageId = Number(meta.source.message);
    const error = replies.photoError(result);
    if (error) {
      await this.messages.send(chat, () => this.bot.telegram.sendMessage(chat, error, { reply_parameters: { message_id: messageId, allow_sending_without_reply: true } }));
      return;
    }
    if (result.kind === 'failed' || result.kind === 'undecodable') return;
    const { replyMode } = await this.options.library.settings(meta.group);
    if (replyMode === 'summary') {
      const text = replies.ingestSummary(result);
      if (text) await this.messages.send(chat, () => this.bot.telegram.sendMessage(chat, text, { reply_parameters: { message_id: messageId, allow_sending_without_reply: true } }));
      return;
    }
    const people = result.people;
    if (people.length > 0) await this.reactions.send(chat, () => this.bot.telegram.setMessageReaction(chat, messageId, [{ type: 'emoji', emoji: '👍' }]));
  }

  /** Sends a reply (paced); the returned promise settles when it is sent, and never rejects. */
  private reply(ctx: MessageContext, text: string): Promise<void> {
    const chat = String(ctx.chat.id);
    const messageId = ctx.message.message_id;
    return this.track(
      this.messages
        .send(chat, () => ctx.telegram.sendMessage(chat, text, { reply_parameters: { message_id: messageId, allow_sending_without_reply: true } }))
        .then(() => undefined),
    );
  }

  private async replyPhoto(ctx: MessageContext, png: Uint8Array, caption: string): Promise<void> {
    const chat = String(ctx.chat.id);
    await this.messages.send(chat, () =>
      ctx.telegram.sendPhoto(chat, { source: Buffer.from(png), filename: 'faces.png' }, { caption: caption.slice(0, 1024), reply_parameters: multipartReplyTo(ctx.message.message_id) }),
    );
  }

  /** Runs beside polling; errors are logged, never thrown into telegraf. Stop waits for it. */
  private track(work: Promise<void>): Promise<void> {
    const guarded = work.catch((error: unknown) => {
      this.options.log.error({ err: error, reason: describeError(error) }, 'a Telegram task failed');
    });
    this.running.add(guarded);
    void guarded.finally(() => this.running.delete(guarded));
    return guarded;
  }

  /** The command a message starts with (text or caption), unless it is addressed to another bot. */
  private commandOf(message: Message): Command | undefined {
    const text = 'text' in message ? message.text : 'caption' in message ? (message.caption ?? '') : '';
    const entities: readonly MessageEntity[] | undefined = 'text' in message ? message.entities : 'caption' in message ? message.caption_entities : undefined;
    const first = entities?.[0];
    if (!first || first.type !== 'bot_command' || first.offset !== 0) return undefined;
    const [name, to] = text.slice(1, first.length).split('@');
    if (to && to.toLowerCase() !== this.username.toLowerCase()) return undefined;
    return { name: name!.toLowerCase(), args: text.slice(first.length) };
  }
}

/**
 * telegraf 4.16 drops object-valued reply_parameters from multipart uploads (it serialises only a
 * few known fields); sent as JSON text, the Bot API reads it as it should.
 */
function multipartReplyTo(messageId: number): ReplyParameters {
  return JSON.stringify({ message_id: messageId, allow_sending_without_reply: true }) as unknown as ReplyParameters;
}

interface PhotoRef {
  readonly fileId: string;
  readonly size?: number;
  readonly fileName?: string;
}

/** The photo a message carries: the largest size of a photo, or an image sent as a file. */
function photoOf(message: Message): PhotoRef | undefined {
  if ('photo' in message && message.photo.length > 0) {
    const largest = message.photo.reduce((a: PhotoSize, b: PhotoSize) => ((b.file_size ?? b.width * b.height) > (a.file_size ?? a.width * a.height) ? b : a));
    return { fileId: largest.file_id, ...(largest.file_size !== undefined ? { size: largest.file_size } : {}) };
  }
  if ('document' in message) {
    const doc = message.document;
    const image = doc.mime_type?.startsWith('image/') || (doc.file_name !== undefined && isPhotoName(doc.file_name));
    if (!image) return undefined;
    return { fileId: doc.file_id, ...(doc.file_size !== undefined ? { size: doc.file_size } : {}), ...(doc.file_name ? { fileName: doc.file_name } : {}) };
  }
  return undefined;
}

function repliedPhoto(message: Message): PhotoRef | undefined {
  const replied = 'reply_to_message' in message ? message.reply_to_message : undefined;
  return replied ? photoOf(replied) : undefined;
}

function groupOf(message: Message): GroupId {
  return `tg:${message.chat.id}`;
}

function userOf(user: User): string {
  return `tg:${user.id}`;
}

function displayName(user: User): string {
  return [user.first_name, user.last_name].filter(Boolean).join(' ');
}

function tooLargeText(limit: number): string {
  return `This file is larger than the ${Math.round(limit / 1_000_000)} MB a bot can download from Telegram, so I can't file it. Send it as a photo (Telegram makes it smaller), or ask the bot's owner about a self-hosted Bot API server.`;
}

const HELP_SEEING =
  'To see the photos posted in a group, I need privacy mode turned off (in @BotFather: Bot Settings, Group Privacy) or admin rights in the group. In a private chat with me, your photos form your own library.';
