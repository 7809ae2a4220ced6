import { createReadStream } from 'node:fs';
import { Telegraf, Telegram, TelegramError, type Context } from 'telegraf';
import type { Message, MessageEntity, PhotoSize, ReplyParameters, Update, User } from '@telegraf/types';
import { groupId, memberId, parseGroupId, type GroupId, type Log, type Platform } from '../../core/index.ts';
import type { Bot } from '../../bot/index.ts';
import {
  megabytes,
  PhotoNotQueuedError,
  type ChatContext,
  type OutgoingPhoto,
  type ChatUser,
  type FetchedPhoto,
  type PostedPhoto,
  type Syntax,
} from '../../bot/index.ts';
import { isPhotoName } from '../../files/index.ts';
import type { PhotoJobs } from '../../jobs/index.ts';
import { downloadLimited, Outbox, Tracker, verifyAtStart } from '../shared/index.ts';
import { MemoryUpdateClaims, type UpdateClaims } from './update-claims.ts';
import { derivedWebhookSecret } from './webhook-secret.ts';
import { WebhookServer } from './webhook-server.ts';

export const TELEGRAM = 'telegram' satisfies Platform;

/** Telegram's id for the account anonymous group admins post as. */
const ANONYMOUS_ADMIN_ID = 1087968824;

export interface TelegramBotOptions {
  readonly token: string;
  /** The Bot API server; a self-hosted one lifts the 20 MB download and 50 MB upload limits. */
  readonly apiRoot?: string;
  /** Webhook mode instead of long polling. */
  readonly webhook?: TelegramWebhookOptions;
  /**
   * Webhook mode: which delivery of an update handles it. This process's memory by default;
   * several processes behind one URL share Redis (`RedisUpdateClaims`).
   */
  readonly updateClaims?: UpdateClaims;
  readonly maxDownloadBytes: number;
  readonly maxUploadBytes: number;
  readonly bot: Bot;
  readonly queue: PhotoJobs;
  readonly log: Log;
  /** Least time between two messages to one chat: Telegram allows about 20 a minute in a group. */
  readonly groupIntervalMs?: number;
  readonly privateIntervalMs?: number;
  readonly reactionIntervalMs?: number;
  /** How long a chat's admin list is trusted before asking Telegram again. */
  readonly adminCacheMs?: number;
  /**
   * Told when the bot cannot go on and must not confirm what it received: polling ended (a second
   * poller's 409, a revoked token) or a photo could not be queued. The process should end non-zero
   * at once, without a graceful stop (which would confirm the updates), so that a supervisor
   * restarts it and Telegram delivers the unconfirmed updates again.
   */
  readonly onFatal?: (error: unknown) => void;
  /**
   * The group gallery as a Mini App registered with @BotFather under this short name: `/gallery`
   * answers with its direct link, `t.me/<bot>/<app>?startapp=<chat id>`. Absent: no gallery.
   */
  readonly miniApp?: string;
}

export interface TelegramWebhookOptions {
  /**
   * The public https URL Telegram posts to, path included. The bot listens on `port` at the same
   * path; a reverse proxy or load balancer forwards the URL to one or several bot processes.
   */
  readonly url: string;
  readonly port: number;
  /** Where to listen; every interface by default. */
  readonly host?: string;
  /**
   * Sent by Telegram in `X-Telegram-Bot-Api-Secret-Token`; requests without it are refused. When
   * absent, one derived from the token (the same in every process with that token).
   */
  readonly secretToken?: string;
}

/** Checks the token with getMe before anything slow starts: a one-line `StartupError` otherwise. */
export function verifyTelegram(options: { readonly token: string; readonly apiRoot?: string; readonly timeoutMs?: number }): Promise<unknown> {
  const telegram = new Telegram(options.token, { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) });
  const where = new URL(options.apiRoot ?? 'https://api.telegram.org').host;
  return verifyAtStart('Telegram', where, options.timeoutMs ?? 15_000, () => telegram.getMe());
}

/** How long the importer's note may take before the import ends without it. */
const NOTE_TIMEOUT_MS = 15_000;

/**
 * Sends one message to a chat from outside the bot (the importer's note that an import ended),
 * giving up after `NOTE_TIMEOUT_MS` rather than keeping a finished import waiting. It mentions
 * nobody: the text is the caller's, with no entities.
 */
export async function sendTelegramNote(options: { readonly token: string; readonly apiRoot?: string }, chatId: number, text: string): Promise<void> {
  const telegram = new Telegram(options.token, { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) });
  // telegraf types its signal as the abort-controller polyfill's; its fetch takes the built-in one.
  const signal = AbortSignal.timeout(NOTE_TIMEOUT_MS) as unknown as NonNullable<NonNullable<Parameters<Telegram['callApi']>[2]>['signal']>;
  await telegram.callApi('sendMessage', { chat_id: chatId, text }, { signal });
}

/** How commands are written on Telegram: words after the command, photos as captions or replies. */
/** The largest photo the Bot API takes as a photo (sendPhoto, a media group's photo); larger ones go as files. */
const TELEGRAM_PHOTO_BYTES = 10 * 1024 * 1024;

export const TELEGRAM_SYNTAX: Syntax = {
  command: (name, args = {}) => [`/${name}`, ...Object.values(args)].join(' '),
  withPhoto: 'as the caption of a photo of them, or as a reply to one',
  onPostedPhoto: 'replying to the photo',
  enrollMe: '/enroll me',
  notThis: '/notthis <name> as a reply to a photo filed under the wrong person',
  seeing:
    'To see the photos posted in a group, I need privacy mode turned off (in @BotFather: Bot Settings, Group Privacy) or admin rights in the group. In a private chat with me, your photos form your own library.',
  tooLarge: (limit) =>
    `This file is larger than the ${megabytes(limit)} a bot can download from Telegram, so I can't file it. Send it as a photo (Telegram makes it smaller), or ask the bot's owner about a self-hosted Bot API server.`,
};

type MessageContext = Context<Update.MessageUpdate>;

/**
 * The Telegram adapter: turns updates into `ChatContext`s for the bot layer and keeps Telegram's
 * quirks to itself (commands in captions, the largest photo size, anonymous admins, pacing, 429s,
 * reactions). Photos are handed to the durable queue before the update is confirmed to Telegram;
 * commands run beside polling so that a slow one never holds up the next update.
 */
export class TelegramBot {
  private readonly telegraf: Telegraf;
  private readonly messages: Outbox;
  private readonly reactions: Outbox;
  private readonly admins = new Map<number, { ids: Set<number>; until: number }>();
  private readonly tasks: Tracker;
  private launched: Promise<void> | undefined;
  private webhookServer: WebhookServer | undefined;
  /** Updates whose photo could not be queued: their webhook request must not be answered 200. */
  private readonly notTaken = new Set<number>();
  private stopping = false;
  private pollingEnded = false;
  /** Updates kept unconfirmed after a fatal error, released only by a stop. */
  private readonly held: (() => void)[] = [];
  private username = '';

  constructor(private readonly options: TelegramBotOptions) {
    if (!options.token) throw new Error('the Telegram token is empty');
    this.telegraf = new Telegraf(options.token, { telegram: { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) }, handlerTimeout: 10 * 60_000 });
    this.tasks = new Tracker(options.log, 'Telegram');
    const retryAfter = (error: unknown) => (error instanceof TelegramError && error.code === 429 ? (error.parameters?.retry_after ?? 5) : undefined);
    const intervalMs = (chat: string) => (Number(chat) < 0 ? (options.groupIntervalMs ?? 3100) : (options.privateIntervalMs ?? 1000));
    this.messages = new Outbox({ intervalMs, retryAfter, log: options.log });
    this.reactions = new Outbox({ intervalMs: () => options.reactionIntervalMs ?? 300, retryAfter, log: options.log });
    this.telegraf.on('message', (ctx) => this.onMessage(ctx));
    this.telegraf.on('my_chat_member', (ctx) => {
      // Removed or banned: the group's data is erased after the grace period; back: it is kept.
      const group = groupId({ platform: TELEGRAM, chatId: ctx.myChatMember.chat.id });
      const gone = ['left', 'kicked'].includes(ctx.myChatMember.new_chat_member.status);
      void this.tasks.track(gone ? options.bot.removedFrom(group) : options.bot.addedTo(group));
    });
    this.telegraf.catch((error, ctx) => options.log.error({ err: error, update: ctx.update.update_id }, 'unhandled error in a Telegram update'));
  }

  /** Registers the commands, starts answering queued photos, and starts polling (or the webhook). */
  async start(): Promise<void> {
    const me = await this.telegraf.telegram.getMe();
    this.username = me.username;
    this.telegraf.botInfo = me;
    await this.telegraf.telegram.setMyCommands(this.options.bot.commands.map((c) => ({ command: c.name, description: c.description })));
    this.options.queue.onDone(TELEGRAM, (meta, result) => {
      const chat = meta.source.chat!;
      const replyTo = Number(meta.source.message);
      return this.options.bot.answerPhoto(
        {
          reply: (text) => this.send(chat, replyTo, text),
          react: () =>
            this.reactions.send(chat, () => this.telegraf.telegram.setMessageReaction(chat, replyTo, [{ type: 'emoji', emoji: '👍' }])).then(() => undefined),
        },
        meta,
        result,
      );
    });
    const { webhook } = this.options;
    if (webhook) await this.startWebhook(webhook);
    else {
      // launch() resolves only when polling stops; keep it to wait for the last batch on stop().
      this.launched = this.telegraf.launch().catch((error: unknown) => {
        this.pollingEnded = true;
        if (this.stopping) return;
        this.options.log.error({ err: error }, 'Telegram polling stopped with an error: is another facefile polling with this token?');
        this.fatal(error);
      });
    }
    this.options.log.info({ bot: me.username, mode: webhook ? 'webhook' : 'long polling' }, 'Telegram bot started');
  }

  /** For /readyz: resolves while updates come in (polling runs, or the webhook listens). */
  readiness(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('stopping'));
    if (this.pollingEnded) return Promise.reject(new Error('Telegram polling has ended'));
    if (!this.launched && !this.webhookServer) return Promise.reject(new Error('not started'));
    return Promise.resolve();
  }

  /**
   * Listens first, then sets the webhook, so that Telegram's first delivery finds a listener. Every
   * process behind the URL sets the same webhook (Telegram takes it as a no-op) and none deletes
   * it when it stops: the others still serve it.
   */
  private async startWebhook(webhook: TelegramWebhookOptions): Promise<void> {
    if (!webhook.url.startsWith('https://')) throw new Error('the Telegram webhook URL must start with https://');
    const secretToken = webhook.secretToken ?? derivedWebhookSecret(this.options.token);
    this.webhookServer = new WebhookServer({
      port: webhook.port,
      path: new URL(webhook.url).pathname,
      claims: this.options.updateClaims ?? new MemoryUpdateClaims(),
      handle: (update) => this.handleWebhookUpdate(update),
      log: this.options.log,
      secretToken,
      ...(webhook.host ? { host: webhook.host } : {}),
    });
    await this.webhookServer.listen();
    try {
      await this.telegraf.telegram.setWebhook(webhook.url, { secret_token: secretToken });
    } catch (error) {
      await this.webhookServer.close();
      throw error;
    }
  }

  private async handleWebhookUpdate(update: Update): Promise<void> {
    await this.telegraf.handleUpdate(update);
    if (this.notTaken.delete(update.update_id)) throw new Error(`Telegram update ${update.update_id} was not taken`);
  }

  /** Resolves when no command or reply of this adapter is in progress. */
  idle(): Promise<void> {
    return this.tasks.idle();
  }

  /**
   * Stops taking updates, lets the current batch finish (so its offset is confirmed; in webhook
   * mode, so that each running update is answered), then the commands. The webhook stays set.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const release of this.held.splice(0)) release();
    if (this.webhookServer) await this.webhookServer.close();
    else if (this.launched) {
      this.telegraf.stop('shutdown');
      await this.launched;
    }
    await this.tasks.idle();
  }

  private async onMessage(ctx: MessageContext): Promise<void> {
    const message = ctx.message;
    // A group upgraded to a supergroup gets a new id; its library follows. Both service messages
    // arrive (one in each chat), and moving twice is harmless.
    if ('migrate_to_chat_id' in message)
      return this.options.bot.groupMoved(groupOf(message), groupId({ platform: TELEGRAM, chatId: message.migrate_to_chat_id }));
    if ('migrate_from_chat_id' in message)
      return this.options.bot.groupMoved(groupId({ platform: TELEGRAM, chatId: message.migrate_from_chat_id }), groupOf(message));
    // The bot's own messages and other bots' are not photos to file; anonymous admins post as a bot.
    if (message.from.is_bot && message.from.id !== ANONYMOUS_ADMIN_ID) return;
    const command = this.commandOf(message);
    if (command) {
      void this.tasks.track(this.runCommand(message, command.name, command.args));
      return;
    }
    const photo = photoOf(message);
    if (!photo) return;
    // Awaited: the update is confirmed to Telegram (by the next poll) only once the photo is on the
    // disk. When it cannot be, the process ends before that poll, and Telegram delivers it again.
    await this.options.bot
      .photosPosted({
        platform: TELEGRAM,
        group: groupOf(message),
        caller: callerOf(message),
        postedAt: new Date(message.date * 1000),
        source: { chat: String(message.chat.id), message: String(message.message_id) },
        photos: [this.posted(photo)],
        downloadLimitBytes: this.options.maxDownloadBytes,
        reply: (text) => this.send(String(message.chat.id), message.message_id, text),
        tooLarge: TELEGRAM_SYNTAX.tooLarge,
      })
      .catch((error: unknown) => {
        if (!(error instanceof PhotoNotQueuedError)) throw error;
        this.fatal(error);
        this.notTaken.add(ctx.update.update_id);
        // Held until the process ends (or a stop): this update must stay unconfirmed.
        return new Promise<void>((resolve) => this.held.push(resolve));
      });
  }

  private fatal(error: unknown): void {
    if (this.options.onFatal) this.options.onFatal(error);
    else this.options.log.error({ err: error }, 'the Telegram bot cannot go on');
  }

  private async runCommand(message: Message, name: string, args: string): Promise<void> {
    const chat = String(message.chat.id);
    let action: NodeJS.Timeout | undefined;
    const ctx: ChatContext = {
      group: groupOf(message),
      caller: callerOf(message),
      syntax: TELEGRAM_SYNTAX,
      uploadLimitBytes: this.options.maxUploadBytes,
      isAdmin: () => this.isAdmin(message),
      photo: () => this.fetchPhoto(message),
      defer: (how) => {
        // "sending a file…" while the zips are built; Telegram shows it for 5 s, so it is repeated.
        if (how?.upload && !action) {
          const show = () => void this.telegraf.telegram.sendChatAction(chat, 'upload_document').catch(() => undefined);
          show();
          action = setInterval(show, 4500);
        }
        return Promise.resolve();
      },
      reply: (text) => this.send(chat, message.message_id, text),
      ...(this.options.miniApp && this.username && message.chat.type !== 'private'
        ? {
            // Inline web_app buttons work only in private chats; in a group, the direct link.
            galleryLink: () => ({ url: `https://t.me/${this.username}/${this.options.miniApp}?startapp=${message.chat.id}`, personal: false }),
          }
        : {}),
      replyImage: async (png, fileName, caption) => {
        await this.messages.send(chat, () =>
          this.telegraf.telegram.sendPhoto(
            chat,
            { source: Buffer.from(png), filename: fileName },
            { caption: caption.slice(0, 1024), reply_parameters: multipartReplyTo(message.message_id) },
          ),
        );
      },
      sendFiles: async (files) => {
        for await (const file of files) {
          await this.messages.send(chat, () =>
            this.telegraf.telegram.sendDocument(chat, { source: createReadStream(file.path), filename: file.name }, { caption: file.caption }),
          );
        }
      },
      sendPhotos: async (photos) => {
        // As photos where Telegram takes them as such (it shows them in the chat, made smaller);
        // else as files, still one media group: a group cannot mix the two.
        const asPhotos = photos.every((p) => p.bytes <= TELEGRAM_PHOTO_BYTES && /\.(jpe?g|png)$/i.test(p.name));
        const input = (p: OutgoingPhoto) => ({ source: createReadStream(p.path), filename: p.name });
        const replyTo = { reply_parameters: multipartReplyTo(message.message_id) };
        const [only] = photos;
        if (photos.length === 1 && only && asPhotos) await this.messages.send(chat, () => this.telegraf.telegram.sendPhoto(chat, input(only), replyTo));
        else if (photos.length === 1 && only) await this.messages.send(chat, () => this.telegraf.telegram.sendDocument(chat, input(only), replyTo));
        else if (asPhotos)
          await this.messages.send(chat, () =>
            this.telegraf.telegram.sendMediaGroup(
              chat,
              photos.map((p) => ({ type: 'photo' as const, media: input(p) })),
              replyTo,
            ),
          );
        else
          await this.messages.send(chat, () =>
            this.telegraf.telegram.sendMediaGroup(
              chat,
              photos.map((p) => ({ type: 'document' as const, media: input(p) })),
              replyTo,
            ),
          );
      },
    };
    try {
      await this.options.bot.commandText(ctx, name, args);
    } finally {
      clearInterval(action);
    }
  }

  private posted(photo: PhotoRef): PostedPhoto {
    return { fileId: photo.fileId, ...(photo.fileName ? { fileName: photo.fileName } : {}), download: () => this.download(photo) };
  }

  /** The photo of a command: its own (a caption) or the one it replies to. */
  private async fetchPhoto(message: Message): Promise<FetchedPhoto> {
    const photo = photoOf(message) ?? repliedPhoto(message);
    if (!photo) return { kind: 'none' };
    const bytes = await this.download(photo);
    if (!bytes) return { kind: 'too-large', limitBytes: this.options.maxDownloadBytes };
    const source = { chat: String(message.chat.id), message: String(message.message_id), file: photo.fileId };
    return { kind: 'photo', bytes, postedAt: new Date(message.date * 1000), source, ...(photo.fileName ? { fileName: photo.fileName } : {}) };
  }

  /** The bytes of a photo, or undefined when it is over the download limit. */
  private async download(photo: PhotoRef): Promise<Uint8Array | undefined> {
    const limit = this.options.maxDownloadBytes;
    if (photo.size !== undefined && photo.size > limit) return undefined;
    try {
      return await downloadLimited(await this.telegraf.telegram.getFileLink(photo.fileId), limit);
    } catch (error) {
      if (error instanceof TelegramError && error.code === 400 && /too big/i.test(error.description)) return undefined;
      throw error;
    }
  }

  /** Creator or administrator (asked of Telegram, remembered briefly); an anonymous admin counts. */
  /**
   * For the gallery: whether a user is a member of a Telegram group now (getChatMember: creator,
   * administrator, member, or restricted but still in it). Undefined for anyone else, and for a
   * group key that is not Telegram's.
   */
  async galleryMember(group: GroupId, userId: string): Promise<{ readonly canSee?: never; readonly admin: boolean } | undefined> {
    const ref = parseGroupId(group);
    if (ref?.platform !== TELEGRAM || !/^\d{1,20}$/.test(userId)) return undefined;
    try {
      const member = await this.telegraf.telegram.getChatMember(ref.chatId, Number(userId));
      const inside =
        member.status === 'creator' || member.status === 'administrator' || member.status === 'member' || (member.status === 'restricted' && member.is_member);
      return inside ? { admin: member.status === 'creator' || member.status === 'administrator' } : undefined;
    } catch (error) {
      // "user not found", "chat not found": not a member. Anything else is logged, and still a no.
      if (!(error instanceof TelegramError && error.code === 400)) this.options.log.warn({ err: error, group }, 'could not check a gallery member');
      return undefined;
    }
  }

  private async isAdmin(message: Message): Promise<boolean> {
    const chat = message.chat;
    if (chat.type === 'private') return true;
    if (message.from?.id === ANONYMOUS_ADMIN_ID && message.sender_chat?.id === chat.id) return true;
    const from = message.from?.id;
    if (from === undefined) return false;
    const cached = this.admins.get(chat.id);
    if (cached && cached.until > Date.now()) return cached.ids.has(from);
    const members = await this.telegraf.telegram.getChatAdministrators(chat.id);
    const ids = new Set(members.map((m) => m.user.id));
    this.admins.set(chat.id, { ids, until: Date.now() + (this.options.adminCacheMs ?? 60_000) });
    return ids.has(from);
  }

  /** Sends a paced reply to a message; settles when it is sent. */
  private async send(chat: string, replyTo: number, text: string): Promise<void> {
    await this.messages.send(chat, () =>
      this.telegraf.telegram.sendMessage(chat, text, { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }),
    );
  }

  /** The command a message starts with (text or caption), unless it is addressed to another bot. */
  private commandOf(message: Message): { name: string; args: string } | undefined {
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

/** A photo in a message, by Telegram's file id. */
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

function groupOf(message: Message): string {
  return groupId({ platform: TELEGRAM, chatId: message.chat.id });
}

function callerOf(message: Message): ChatUser | undefined {
  return message.from ? { id: memberId(TELEGRAM, message.from.id), displayName: displayName(message.from) } : undefined;
}

function displayName(user: User): string {
  return [user.first_name, user.last_name].filter(Boolean).join(' ');
}
