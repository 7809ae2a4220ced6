import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type {
  BotCommand,
  Chat,
  ChatFromGetChat,
  ChatMember,
  ChatMemberAdministrator,
  Message,
  MessageEntity,
  ReactionType,
  Update,
  User,
  UserFromGetMe,
} from '@telegraf/types';
import { FileStore } from './file-store.ts';
import {
  BotApiError,
  METHOD_NOT_FOUND,
  NOT_FOUND,
  UNAUTHORIZED,
  badRequest,
  chatIdOf,
  optionalBoolean,
  optionalInteger,
  optionalJson,
  optionalString,
  readParams,
  requiredInteger,
  sendError,
  sendJson,
  unixNow,
  type ApiErrorPayload,
  type Params,
} from './protocol.ts';
import { parseReactions } from './reactions.ts';
import { UpdateQueue } from './update-queue.ts';
import { WebhookDeliverer, type WebhookDelivery } from './webhook-delivery.ts';
import { MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, detectEntities, parseModeOf, visibleText } from './text.ts';

export interface BotApiEmulatorOptions {
  /** `<bot id>:<secret>`; the bot's user id is the part before the colon. */
  readonly token?: string;
  readonly botUsername?: string;
  /** getFile refuses bigger files with 400 "Bad Request: file is too big"; Telegram's is 20 MB. */
  readonly maxDownloadBytes?: number;
  /** Request bodies (uploads) above this answer 413 "Request Entity Too Large"; Telegram's is 50 MB. */
  readonly maxUploadBytes?: number;
  /**
   * Privacy mode on: in groups the bot receives only commands, replies to its own messages and
   * mentions of it, unless it is one of the chat's admins. Off by default (the bot sees everything).
   */
  readonly privacyMode?: boolean;
  /** Webhook deliveries go to this origin (`http://127.0.0.1:<port>`), keeping the URL's path; see WebhookDeliveryOptions. */
  readonly webhookTarget?: string;
  /** How long a webhook delivery may take before it fails with "Read timeout expired"; 10 s by default. */
  readonly webhookTimeoutMs?: number;
  /** The pause after a failed webhook delivery, doubling with each failure up to 4 s; 100 ms by default. */
  readonly webhookRetryMs?: number;
}

export type EmulatedChatType = 'private' | 'group' | 'supergroup';

export interface ChatSpec {
  readonly id: number;
  readonly type: EmulatedChatType;
  /** The group's title, or the first name of the other party of a private chat. */
  readonly title?: string;
  readonly username?: string;
}

export interface ChatAdmins {
  readonly creator?: User;
  readonly administrators?: readonly User[];
}

/** Who posts: a member, or an admin posting anonymously as the group. */
export type Sender = User | 'anonymous-admin';

/** What the bot did in a chat: a message it sent or edited, or a reaction it set. */
export interface SentMessage {
  readonly method: 'sendMessage' | 'sendPhoto' | 'sendDocument' | 'sendMediaGroup' | 'editMessageText' | 'setMessageReaction';
  readonly chat_id: number;
  /** The new message's id; for setMessageReaction and editMessageText, the target's. */
  readonly message_id: number;
  /** As sent, before parse_mode is applied (the returned `message` holds what a reader sees). */
  readonly text?: string;
  readonly caption?: string;
  readonly reply_to_message_id?: number;
  readonly document?: { readonly fileName: string; readonly mimeType: string; readonly bytes: Buffer };
  /** The bytes of a sent photo. */
  readonly photo?: Buffer;
  readonly reaction?: readonly ReactionType[];
  /** The parameters as received (uploaded files appear as `{ fileName, mimeType, bytes }`). */
  readonly params: Readonly<Params>;
  /** The Message returned to the bot; absent for reactions. */
  readonly message?: Message;
  readonly at: number;
}

/** One request to the Bot API, in arrival order; `error` is set when it was refused. */
export interface ApiCall {
  readonly method: string;
  readonly params: Readonly<Params>;
  /** params.chat_id as a number, whether it came as JSON or as a form string. */
  readonly chat_id?: number;
  /** Arrival time in ms since the epoch (Date.now()). */
  readonly at: number;
  error?: ApiErrorPayload;
}

export interface InjectedError {
  readonly error_code: number;
  readonly description: string;
  /** Sent as `parameters.retry_after`, as Telegram does with 429. */
  readonly retry_after?: number;
}

/** At most `max` calls per chat in any `perSeconds` window; the rest answer 429. */
export interface RateLimit {
  readonly max: number;
  readonly perSeconds: number;
  /** The `retry_after` to announce; by default the seconds until the window frees a slot. */
  readonly retryAfter?: number;
}

export interface PhotoOptions {
  readonly caption?: string;
  readonly mediaGroupId?: string;
  readonly replyTo?: number;
}

export interface DocumentOptions {
  readonly caption?: string;
  readonly mediaGroupId?: string;
  readonly replyTo?: number;
}

export interface TextOptions {
  readonly replyTo?: number;
}

/** The user Telegram puts in `from` when an admin posts anonymously as the group. */
export const GROUP_ANONYMOUS_BOT: User = Object.freeze({ id: 1087968824, is_bot: true, first_name: 'Group', username: 'GroupAnonymousBot' });

const DEFAULT_TOKEN = '7000000001:emulated-bot-api-token';
const DEFAULT_USERNAME = 'facefile_test_bot';
const MB = 1024 * 1024;
const MAX_COMMANDS = 100;
const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

type EmulatedChat = Chat.PrivateChat | Chat.GroupChat | Chat.SupergroupChat;
type ChatMessage = Message.TextMessage | Message.PhotoMessage | Message.DocumentMessage;
type ReplyTarget = NonNullable<Message.CommonMessage['reply_to_message']>;

interface ChatState {
  readonly chat: EmulatedChat;
  readonly creator: User | undefined;
  readonly administrators: readonly User[];
  readonly messages: Map<number, ChatMessage>;
  nextMessageId: number;
  /** Who is in the chat besides its creator and admins: everyone who posted, and whom a test set. */
  readonly members: Map<number, MemberStatus>;
}

/** A member's standing in a chat, as getChatMember reports it (creator and admins aside). */
export type MemberStatus = 'member' | 'restricted' | 'left' | 'kicked';

interface MethodHandler {
  /** The method's name as documented (calls are matched case-insensitively, like Telegram). */
  readonly name: string;
  readonly run: (params: Params, signal: AbortSignal) => unknown;
}

/** The envelope every message shares: who, where, when, and what it replies to. */
interface Envelope {
  message_id: number;
  date: number;
  chat: EmulatedChat;
  from: User;
  sender_chat?: Chat;
  reply_to_message?: ReplyTarget;
}

/** Promises waiting for an item (a sent message, a call) that may already exist or come later. */
class Waiters<T> {
  private readonly pending = new Set<{ readonly test: (item: T) => boolean; readonly settle: (item: T) => void; readonly fail: (error: Error) => void }>();

  wait(existing: readonly T[], test: (item: T) => boolean, timeoutMs: number, describe: () => string): Promise<T> {
    const found = existing.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        test,
        settle: (item: T) => {
          clearTimeout(timer);
          this.pending.delete(waiter);
          resolve(item);
        },
        fail: (error: Error) => {
          clearTimeout(timer);
          this.pending.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.fail(new Error(`nothing matching within ${timeoutMs} ms; ${describe()}`));
      }, timeoutMs);
      this.pending.add(waiter);
    });
  }

  offer(item: T): void {
    for (const waiter of this.pending) if (waiter.test(item)) waiter.settle(item);
  }

  failAll(error: Error): void {
    for (const waiter of this.pending) waiter.fail(error);
  }
}

/**
 * A local Telegram Bot API server for end-to-end tests: the real telegraf talks HTTP to it, and the
 * test scripts the other side (chats, members posting photos, failures) and inspects what the bot
 * sent. Updates are served by long polling, or delivered to a webhook once one is set.
 */
export class BotApiEmulator {
  /** The bot as getMe describes it. */
  readonly bot: UserFromGetMe;
  /** Every message the bot sent, edited or reacted to, in order. */
  readonly sent: SentMessage[] = [];
  /** Every authorised request to a known method, in arrival order, refused ones included. */
  readonly calls: ApiCall[] = [];
  /** Unexpected exceptions inside the emulator (answered with 500); a test may assert it is empty. */
  readonly faults: unknown[] = [];

  private readonly server: Server;
  private readonly methods: ReadonlyMap<string, MethodHandler>;
  private readonly chats = new Map<number, ChatState>();
  private readonly knownUsers = new Map<number, User>();
  private readonly files: FileStore;
  private readonly updates = new UpdateQueue();
  private readonly webhookDelivery: WebhookDeliverer;
  private readonly commandsByScope = new Map<string, BotCommand[]>();
  private readonly injected = new Map<string, InjectedError[]>();
  private readonly rateLimits = new Map<string, RateLimit>();
  private readonly rateHistory = new Map<string, number[]>();
  private readonly sentWaiters = new Waiters<SentMessage>();
  private readonly callWaiters = new Waiters<ApiCall>();
  private webhookState: { readonly url: string; readonly params: Readonly<Params> } | undefined;
  private lastCommands: BotCommand[] | undefined;
  private nextMediaGroup = 13_000_000_000_000;
  private port = 0;
  private closed = false;

  private constructor(
    readonly token: string,
    username: string,
    maxDownloadBytes: number,
    private readonly maxUploadBytes: number,
    private readonly privacyMode: boolean,
    webhook: { readonly target: string | undefined; readonly timeoutMs: number; readonly retryMs: number },
  ) {
    const botId = Number(token.slice(0, token.indexOf(':')));
    this.bot = Object.freeze({
      id: botId,
      is_bot: true,
      first_name: 'Facefile (emulated)',
      username,
      can_join_groups: true,
      can_read_all_group_messages: !privacyMode,
      supports_inline_queries: false,
    });
    this.knownUsers.set(botId, this.botUser());
    this.files = new FileStore(maxDownloadBytes);
    this.webhookDelivery = new WebhookDeliverer(this.updates, {
      ...(webhook.target === undefined ? {} : { target: webhook.target }),
      timeoutMs: webhook.timeoutMs,
      firstRetryMs: webhook.retryMs,
      maxRetryMs: Math.max(webhook.retryMs, 4000),
    });
    this.methods = this.methodTable();
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  /** Starts a server on 127.0.0.1 with an ephemeral port. */
  static async start(options: BotApiEmulatorOptions = {}): Promise<BotApiEmulator> {
    const token = options.token ?? DEFAULT_TOKEN;
    if (!/^\d+:[A-Za-z0-9_-]+$/.test(token)) throw new Error('BotApiEmulator: the token must look like "<bot id>:<secret>"');
    const emulator = new BotApiEmulator(
      token,
      options.botUsername ?? DEFAULT_USERNAME,
      options.maxDownloadBytes ?? 20 * MB,
      options.maxUploadBytes ?? 50 * MB,
      options.privacyMode ?? false,
      { target: options.webhookTarget, timeoutMs: options.webhookTimeoutMs ?? 10_000, retryMs: options.webhookRetryMs ?? 100 },
    );
    await emulator.listen();
    return emulator;
  }

  /** The root to give telegraf: `new Telegraf(token, { telegram: { apiRoot } })`. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The commands of the last successful setMyCommands, whatever its scope. */
  get commands(): readonly BotCommand[] | undefined {
    return this.lastCommands;
  }

  /** The webhook set by setWebhook and not yet deleted. */
  get webhook(): { readonly url: string; readonly params: Readonly<Params> } | undefined {
    return this.webhookState;
  }

  /** Stops the server. Stop the bot first: telegraf retries a vanished server every 5 s forever. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.webhookDelivery.close();
    this.updates.close();
    const error = new Error('BotApiEmulator closed');
    this.sentWaiters.failAll(error);
    this.callWaiters.failAll(error);
    // One turn lets a woken long poll write its empty answer before the sockets go.
    await nextTurn();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
      this.server.closeAllConnections();
    });
  }

  // ---- Scripting: chats, users and what they post -------------------------------------------

  /** A user to post as; remembered for getChatMember. */
  user(id: number, firstName: string, options: { username?: string; isBot?: boolean; lastName?: string } = {}): User {
    const user: User = {
      id,
      is_bot: options.isBot ?? false,
      first_name: firstName,
      ...(options.lastName === undefined ? {} : { last_name: options.lastName }),
      ...(options.username === undefined ? {} : { username: options.username }),
    };
    this.knownUsers.set(id, user);
    return user;
  }

  /** Adds a chat the bot is a member of. Group ids are negative in Telegram (supergroups -100…). */
  addChat(spec: ChatSpec, admins: ChatAdmins = {}): Chat {
    if (this.chats.has(spec.id)) throw new Error(`BotApiEmulator: chat ${spec.id} already exists`);
    const username = spec.username === undefined ? {} : { username: spec.username };
    let chat: EmulatedChat;
    switch (spec.type) {
      case 'private':
        chat = { id: spec.id, type: 'private', first_name: spec.title ?? `User ${spec.id}`, ...username };
        break;
      case 'group':
        chat = { id: spec.id, type: 'group', title: spec.title ?? `Group ${spec.id}` };
        break;
      case 'supergroup':
        chat = { id: spec.id, type: 'supergroup', title: spec.title ?? `Group ${spec.id}`, ...username };
        break;
    }
    this.chats.set(spec.id, {
      chat,
      creator: admins.creator,
      administrators: [...(admins.administrators ?? [])],
      messages: new Map(),
      nextMessageId: 1,
      members: new Map(),
    });
    for (const user of [admins.creator, ...(admins.administrators ?? [])]) if (user) this.knownUsers.set(user.id, user);
    return chat;
  }

  /**
   * A member posts a photo. Like Telegram, the message lists several sizes, smallest first: real
   * JPEG thumbnails and, last, the full size, which downloads as exactly `bytes`.
   */
  async postPhoto(chatId: number, from: Sender, bytes: Buffer, options: PhotoOptions = {}): Promise<Message.PhotoMessage> {
    const state = this.chatState(chatId);
    const photo = await this.files.addPhoto(bytes);
    const message: Message.PhotoMessage = {
      ...this.envelope(state, from, this.scriptedReply(state, options.replyTo)),
      photo,
      ...userCaption(options.caption),
      ...(options.mediaGroupId === undefined ? {} : { media_group_id: options.mediaGroupId }),
    };
    this.deliver(state, message);
    return message;
  }

  /** A member posts a file ("send as file"): message.document, with a thumbnail for images. */
  async postDocument(
    chatId: number,
    from: Sender,
    bytes: Buffer,
    fileName: string,
    mimeType: string,
    options: DocumentOptions = {},
  ): Promise<Message.DocumentMessage> {
    const state = this.chatState(chatId);
    const document = await this.files.addDocument({ bytes, fileName, mimeType });
    const message: Message.DocumentMessage = {
      ...this.envelope(state, from, this.scriptedReply(state, options.replyTo)),
      document,
      ...userCaption(options.caption),
      ...(options.mediaGroupId === undefined ? {} : { media_group_id: options.mediaGroupId }),
    };
    this.deliver(state, message);
    return message;
  }

  /**
   * Upgrades a group to a supergroup, as Telegram does: a new chat with a new id (the same creator
   * and admins), a service message `migrate_to_chat_id` in the old chat and `migrate_from_chat_id`
   * in the new one. Returns the new chat.
   */
  migrateToSupergroup(oldChatId: number, newChatId: number): Chat {
    const old = this.chatState(oldChatId);
    if (old.chat.type !== 'group') throw new Error('BotApiEmulator: only a basic group is upgraded to a supergroup');
    const title = old.chat.title;
    const chat = this.addChat(
      { id: newChatId, type: 'supergroup', title },
      { ...(old.creator ? { creator: old.creator } : {}), administrators: old.administrators },
    );
    const by = old.creator ?? GROUP_ANONYMOUS_BOT;
    this.deliverService(old, { ...this.envelope(old, by, undefined), migrate_to_chat_id: newChatId });
    this.deliverService(this.chatState(newChatId), { ...this.envelope(this.chatState(newChatId), by, undefined), migrate_from_chat_id: oldChatId });
    return chat;
  }

  /** Someone removes the bot from a chat (`left`), bans it (`kicked`) or adds it back (`member`): a my_chat_member update. */
  setBotMembership(chatId: number, status: 'member' | 'left' | 'kicked', by: User): void {
    const state = this.chatState(chatId);
    const previous = status === 'member' ? 'left' : 'member';
    const botUser = { id: this.bot.id, is_bot: true, first_name: this.bot.first_name, username: this.bot.username };
    const member = (s: string) => (s === 'kicked' ? { status: s, user: botUser, until_date: 0 } : { status: s, user: botUser });
    this.updates.push(
      (update_id) =>
        ({
          update_id,
          my_chat_member: { chat: state.chat, from: by, date: unixNow(), old_chat_member: member(previous), new_chat_member: member(status) },
        }) as unknown as Update,
    );
  }

  /** A member posts text; commands and mentions get their entities. */
  postText(chatId: number, from: Sender, text: string, options: TextOptions = {}): Message.TextMessage {
    if (text.length === 0 || text.length > MAX_TEXT_LENGTH) throw new Error(`BotApiEmulator: a text message has 1 to ${MAX_TEXT_LENGTH} characters`);
    const state = this.chatState(chatId);
    const entities = detectEntities(text);
    const message: Message.TextMessage = {
      ...this.envelope(state, from, this.scriptedReply(state, options.replyTo)),
      text,
      ...(entities.length > 0 ? { entities } : {}),
    };
    this.deliver(state, message);
    return message;
  }

  // ---- Inspection ------------------------------------------------------------------------------

  /** The first sent message matching `predicate`, already sent or still to come. */
  waitFor(predicate: (message: SentMessage) => boolean, timeoutMs = 10_000): Promise<SentMessage> {
    return this.sentWaiters.wait(this.sent, predicate, timeoutMs, () => `sent so far: ${describeSent(this.sent)}`);
  }

  /** The first call of `method` (any case) matching `predicate`, already made or still to come. */
  waitForCall(method: string, predicate: (call: ApiCall) => boolean = () => true, timeoutMs = 10_000): Promise<ApiCall> {
    const wanted = method.toLowerCase();
    return this.callWaiters.wait(
      this.calls,
      (call) => call.method.toLowerCase() === wanted && predicate(call),
      timeoutMs,
      () => `calls so far: ${this.calls.map((call) => call.method).join(', ') || 'none'}`,
    );
  }

  /** Every POST of an update to the webhook, in order, with its answer. */
  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.webhookDelivery.deliveries;
  }

  /**
   * The next `times` updates are each delivered to the webhook twice at once: Telegram's redelivery
   * after it stopped waiting for an answer, while the bot may still be handling the first copy.
   */
  redeliverNext(times = 1): void {
    this.webhookDelivery.redeliverNext(times);
  }

  /** Resolves once every queued update has been confirmed, i.e. the bot has handled all of them. */
  idle(timeoutMs = 10_000): Promise<void> {
    return this.updates.idle(timeoutMs);
  }

  /** Updates queued and not yet confirmed by a later getUpdates offset. */
  pendingUpdates(): number {
    return this.updates.size;
  }

  /** The commands set for a scope (default scope, no language, when omitted). */
  commandsFor(scope: { type: string; chat_id?: number; user_id?: number } = { type: 'default' }, languageCode = ''): readonly BotCommand[] {
    return this.commandsByScope.get(scopeKey(scope, languageCode)) ?? [];
  }

  /** The messages of a chat, posted and sent, in id order. */
  history(chatId: number): readonly Message[] {
    return [...this.chatState(chatId).messages.values()];
  }

  /** The bytes behind a file id, whoever uploaded it. */
  fileBytes(fileId: string): Buffer | undefined {
    return this.files.bytes(fileId);
  }

  // ---- Failure injection -----------------------------------------------------------------------

  /** The next `times` calls of `method` answer with `error` (a 429 carries `parameters.retry_after`). */
  failNext(method: string, error: InjectedError, times = 1): void {
    const queue = this.injected.get(method.toLowerCase()) ?? [];
    for (let i = 0; i < times; i++) queue.push(error);
    this.injected.set(method.toLowerCase(), queue);
  }

  /** Limits `method` per chat like Telegram's flood control; over the limit it answers 429. */
  rateLimit(method: string, limit: RateLimit): void {
    if (!(limit.max >= 1 && limit.perSeconds > 0)) throw new Error('BotApiEmulator: a rate limit needs max >= 1 and perSeconds > 0');
    this.rateLimits.set(method.toLowerCase(), limit);
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The one boundary around every request: nothing thrown here may escape the listener. */
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (error) {
      this.faults.push(error);
      if (!res.headersSent && !res.destroyed) sendError(res, { error_code: 500, description: 'Internal Server Error' });
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const download = /^\/file\/bot([^/]*)\/(.+)$/.exec(url.pathname);
    const api = /^\/bot([^/]*)\/([^/]*)$/.exec(url.pathname);
    if (download || !api) {
      req.resume();
      if (download) this.serveFile(res, download[1]!, decodeURIComponent(download[2]!));
      else sendError(res, NOT_FOUND);
      return;
    }
    if (api[1] !== this.token) {
      req.resume();
      sendError(res, UNAUTHORIZED);
      return;
    }
    const method = this.methods.get(api[2]!.toLowerCase());
    if (!method) {
      req.resume();
      sendError(res, METHOD_NOT_FOUND);
      return;
    }
    const gone = new AbortController();
    res.on('close', () => {
      gone.abort();
    });
    let call: ApiCall | undefined;
    try {
      const params = await readParams(req, url, this.maxUploadBytes);
      const received = withoutMethodField(params ?? {}, method.name);
      const chatId = numericChatId(received);
      call = { method: method.name, params: received, at, ...(chatId === undefined ? {} : { chat_id: chatId }) };
      this.calls.push(call);
      this.callWaiters.offer(call);
      if (params === undefined) throw new BotApiError({ error_code: 413, description: 'Request Entity Too Large' });
      this.refuseIfInjected(call);
      const result = await method.run(call.params, gone.signal);
      if (!res.destroyed) sendJson(res, 200, { ok: true, result });
    } catch (error) {
      let payload: ApiErrorPayload;
      if (error instanceof BotApiError) {
        payload = error.payload;
      } else {
        this.faults.push(error);
        payload = { error_code: 500, description: `Internal Server Error: ${error instanceof Error ? error.message : String(error)}` };
      }
      if (call) call.error = payload;
      if (!res.headersSent && !res.destroyed) sendError(res, payload);
    }
  }

  private serveFile(res: ServerResponse, token: string, filePath: string): void {
    if (token !== this.token) {
      sendError(res, UNAUTHORIZED);
      return;
    }
    const bytes = this.files.download(filePath);
    if (!bytes) {
      sendError(res, NOT_FOUND);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    res.end(bytes);
  }

  private refuseIfInjected(call: ApiCall): void {
    const key = call.method.toLowerCase();
    const queued = this.injected.get(key)?.shift();
    if (queued) {
      throw new BotApiError({
        error_code: queued.error_code,
        description: queued.description,
        ...(queued.retry_after === undefined ? {} : { parameters: { retry_after: queued.retry_after } }),
      });
    }
    const limit = this.rateLimits.get(key);
    if (!limit) return;
    const now = Date.now();
    const windowMs = limit.perSeconds * 1000;
    const historyKey = `${key} ${call.chat_id ?? ''}`;
    const recent = (this.rateHistory.get(historyKey) ?? []).filter((time) => now - time < windowMs);
    if (recent.length >= limit.max) {
      this.rateHistory.set(historyKey, recent);
      const retryAfter = limit.retryAfter ?? Math.max(1, Math.ceil((recent[0]! + windowMs - now) / 1000));
      throw new BotApiError({ error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } });
    }
    recent.push(now);
    this.rateHistory.set(historyKey, recent);
  }

  // ---- Methods ---------------------------------------------------------------------------------

  private methodTable(): ReadonlyMap<string, MethodHandler> {
    const table: Record<string, (params: Params, signal: AbortSignal) => unknown> = {
      getMe: () => this.bot,
      getUpdates: (params, signal) => this.getUpdates(params, signal),
      setWebhook: (params) => this.setWebhook(params),
      deleteWebhook: (params) => this.deleteWebhook(params),
      getWebhookInfo: () => this.webhookInfo(),
      getFile: (params) => this.files.getFile(optionalString(params, 'file_id')),
      sendMessage: (params) => this.sendMessage(params),
      sendPhoto: (params) => this.sendPhoto(params),
      sendDocument: (params) => this.sendDocument(params),
      sendMediaGroup: (params) => this.sendMediaGroup(params),
      editMessageText: (params) => this.editMessageText(params),
      deleteMessage: (params) => this.deleteMessage(params),
      sendChatAction: (params) => this.sendChatAction(params),
      setMessageReaction: (params) => this.setMessageReaction(params),
      setMyCommands: (params) => this.setMyCommands(params),
      getMyCommands: (params) => this.commandsByScope.get(scopeKeyOf(params)) ?? [],
      deleteMyCommands: (params) => {
        this.commandsByScope.delete(scopeKeyOf(params));
        return true;
      },
      getChat: (params) => this.getChat(params),
      getChatAdministrators: (params) => this.getChatAdministrators(params),
      getChatMember: (params) => this.getChatMember(params),
      answerCallbackQuery: () => true,
    };
    return new Map(Object.entries(table).map(([name, run]) => [name.toLowerCase(), { name, run }]));
  }

  private getUpdates(params: Params, signal: AbortSignal): Promise<Update[]> {
    if (this.webhookState) {
      throw new BotApiError({
        error_code: 409,
        description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      });
    }
    const request = {
      offset: optionalInteger(params, 'offset') ?? 0,
      limit: optionalInteger(params, 'limit'),
      timeout: optionalInteger(params, 'timeout') ?? 0,
    };
    return this.updates.getUpdates(request, signal);
  }

  private async setWebhook(params: Params): Promise<true> {
    const url = optionalString(params, 'url') ?? '';
    if (url === '') return this.deleteWebhook(params);
    if (!url.startsWith('https://')) throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
    const secretToken = optionalString(params, 'secret_token');
    if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) throw badRequest('secret token contains unallowed characters');
    if (optionalBoolean(params, 'drop_pending_updates') === true) this.updates.drop();
    const same = this.webhookState?.url === url && optionalString(this.webhookState.params, 'secret_token') === secretToken;
    this.webhookState = { url, params };
    // Setting the same webhook again (another process starting) leaves the deliveries alone.
    if (!same) await this.webhookDelivery.start(url, secretToken);
    return true;
  }

  private async deleteWebhook(params: Params): Promise<true> {
    if (optionalBoolean(params, 'drop_pending_updates') === true) this.updates.drop();
    this.webhookState = undefined;
    await this.webhookDelivery.stop();
    return true;
  }

  private webhookInfo(): Record<string, unknown> {
    const state = this.webhookState;
    if (!state) return { url: '', has_custom_certificate: false, pending_update_count: this.updates.size };
    return {
      url: state.url,
      has_custom_certificate: false,
      pending_update_count: this.updates.size,
      max_connections: optionalInteger(state.params, 'max_connections') ?? 40,
      ...this.webhookDelivery.lastFailure,
    };
  }

  private sendMessage(params: Params): Message.TextMessage {
    const state = this.targetChat(params);
    const raw = optionalString(params, 'text') ?? '';
    const text = visibleText(raw, parseModeOf(optionalString(params, 'parse_mode')));
    if (text.trim() === '') throw badRequest('message text is empty');
    if (text.length > MAX_TEXT_LENGTH) throw badRequest('message is too long');
    const entities = optionalJson(params, 'entities');
    const message: Message.TextMessage = {
      ...this.botEnvelope(state, this.replyTarget(state, params)),
      text,
      ...(Array.isArray(entities) && entities.length > 0 ? { entities: entities as MessageEntity[] } : {}),
    };
    this.recordSent(state, message, 'sendMessage', params, { text: raw });
    return message;
  }

  private async sendPhoto(params: Params): Promise<Message.PhotoMessage> {
    const state = this.targetChat(params);
    const caption = botCaption(params);
    const input = await this.files.resolve(params.photo, params, 'photo');
    const photo = await this.files.addPhoto(input.bytes);
    const message: Message.PhotoMessage = { ...this.botEnvelope(state, this.replyTarget(state, params)), photo, ...caption.fields };
    this.recordSent(state, message, 'sendPhoto', params, { ...caption.raw, photo: input.bytes });
    return message;
  }

  private async sendDocument(params: Params): Promise<Message.DocumentMessage> {
    const state = this.targetChat(params);
    const caption = botCaption(params);
    const input = await this.files.resolve(params.document, params, 'document');
    const document = await this.files.addDocument(input);
    const message: Message.DocumentMessage = { ...this.botEnvelope(state, this.replyTarget(state, params)), document, ...caption.fields };
    this.recordSent(state, message, 'sendDocument', params, { ...caption.raw, document: input });
    return message;
  }

  private async sendMediaGroup(params: Params): Promise<(Message.PhotoMessage | Message.DocumentMessage)[]> {
    const state = this.targetChat(params);
    const media = optionalJson(params, 'media');
    if (!Array.isArray(media) || media.length < 2 || media.length > 10) throw badRequest('wrong number of media items: a media group holds 2 to 10');
    const replyTo = this.replyTarget(state, params);
    const prepared = await Promise.all(
      (media as unknown[]).map(async (item) => {
        const entry = (typeof item === 'object' && item !== null ? item : {}) as Params;
        const type = entry.type;
        if (type !== 'photo' && type !== 'document') throw badRequest(`the emulator handles photo and document media, not ${String(type)}`);
        const input = await this.files.resolve(entry.media, params, 'media');
        const caption = botCaption(entry);
        const content = type === 'photo' ? { photo: await this.files.addPhoto(input.bytes) } : { document: await this.files.addDocument(input) };
        return { type, input, caption, content, entry };
      }),
    );
    if (new Set(prepared.map((item) => item.type)).size > 1) throw badRequest('MEDIA_GROUP_INVALID: photos and documents cannot be mixed');
    const mediaGroupId = String(this.nextMediaGroup++);
    return prepared.map(({ input, caption, content, entry }) => {
      const message = { ...this.botEnvelope(state, replyTo), ...content, ...caption.fields, media_group_id: mediaGroupId } as
        Message.PhotoMessage | Message.DocumentMessage;
      const detail = 'photo' in content ? { photo: input.bytes } : { document: input };
      this.recordSent(state, message, 'sendMediaGroup', { ...params, media: entry }, { ...caption.raw, ...detail });
      return message;
    });
  }

  private editMessageText(params: Params): Message.TextMessage {
    const state = this.targetChat(params);
    const messageId = requiredInteger(params, 'message_id');
    const target = state.messages.get(messageId);
    if (!target) throw badRequest('message to edit not found');
    if (target.from?.id !== this.bot.id || !('text' in target)) throw badRequest("message can't be edited");
    const raw = optionalString(params, 'text') ?? '';
    const text = visibleText(raw, parseModeOf(optionalString(params, 'parse_mode')));
    if (text.trim() === '') throw badRequest('message text is empty');
    if (text.length > MAX_TEXT_LENGTH) throw badRequest('message is too long');
    if (text === target.text) {
      throw badRequest(
        'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    }
    const edited: Message.TextMessage = { ...target, text, edit_date: unixNow() };
    state.messages.set(messageId, edited);
    this.pushSent({ method: 'editMessageText', chat_id: state.chat.id, message_id: messageId, text: raw, params, message: edited, at: Date.now() });
    return edited;
  }

  private deleteMessage(params: Params): true {
    const state = this.targetChat(params);
    if (!state.messages.delete(requiredInteger(params, 'message_id'))) throw badRequest('message to delete not found');
    return true;
  }

  private sendChatAction(params: Params): true {
    this.targetChat(params);
    if (!CHAT_ACTIONS.has(optionalString(params, 'action') ?? '')) throw badRequest('wrong parameter action in request');
    return true;
  }

  private setMessageReaction(params: Params): true {
    const state = this.targetChat(params);
    const messageId = requiredInteger(params, 'message_id');
    if (!state.messages.has(messageId)) throw badRequest('message to react not found');
    const reaction = parseReactions(optionalJson(params, 'reaction'));
    this.pushSent({ method: 'setMessageReaction', chat_id: state.chat.id, message_id: messageId, reaction, params, at: Date.now() });
    return true;
  }

  private setMyCommands(params: Params): true {
    const value = optionalJson(params, 'commands');
    if (!Array.isArray(value)) throw badRequest("can't parse commands JSON object");
    if (value.length > MAX_COMMANDS) throw badRequest('BOT_COMMANDS_TOO_MUCH');
    const commands = (value as unknown[]).map((item): BotCommand => {
      const { command, description } = (typeof item === 'object' && item !== null ? item : {}) as Partial<Record<string, unknown>>;
      if (typeof command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest('BOT_COMMAND_INVALID');
      if (typeof description !== 'string' || description.length < 1 || description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
      return { command, description };
    });
    this.commandsByScope.set(scopeKeyOf(params), commands);
    this.lastCommands = commands;
    return true;
  }

  private getChat(params: Params): ChatFromGetChat {
    const { chat } = this.targetChat(params);
    return chat.type === 'private' ? { ...chat, accent_color_id: 0 } : { ...chat };
  }

  private getChatAdministrators(params: Params): ChatMember[] {
    const state = this.targetChat(params);
    if (state.chat.type === 'private') throw badRequest('there are no administrators in the private chat');
    const owner: ChatMember[] = state.creator ? [{ status: 'creator', user: state.creator, is_anonymous: false }] : [];
    return [...owner, ...state.administrators.map(administrator)];
  }

  /** Telegram's answer for a user: their standing in this chat, "left" for one who was never in it. */
  private getChatMember(params: Params): ChatMember {
    const state = this.targetChat(params);
    const userId = requiredInteger(params, 'user_id');
    if (state.creator?.id === userId) return { status: 'creator', user: state.creator, is_anonymous: false };
    const admin = state.administrators.find((user) => user.id === userId);
    if (admin) return administrator(admin);
    const user = this.knownUsers.get(userId);
    if (!user) throw badRequest('user not found');
    const status = state.members.get(userId) ?? 'left';
    if (status === 'restricted') {
      return {
        status,
        user,
        is_member: true,
        can_send_messages: false,
        can_send_audios: false,
        can_send_documents: false,
        can_send_photos: false,
        can_send_videos: false,
        can_send_video_notes: false,
        can_send_voice_notes: false,
        can_send_polls: false,
        can_send_other_messages: false,
        can_add_web_page_previews: false,
        can_change_info: false,
        can_invite_users: false,
        can_pin_messages: false,
        can_manage_topics: false,
        until_date: 0,
      };
    }
    return status === 'kicked' ? { status, user, until_date: 0 } : { status, user };
  }

  /** Puts a user in a chat, or takes them out (left, kicked), as getChatMember will then say. */
  setMemberStatus(chatId: number, user: User, status: MemberStatus): void {
    this.knownUsers.set(user.id, user);
    this.chatState(chatId).members.set(user.id, status);
  }

  // ---- Messages, files and updates -------------------------------------------------------------

  private chatState(chatId: number): ChatState {
    const state = this.chats.get(chatId);
    if (!state) throw new Error(`BotApiEmulator: chat ${chatId} is unknown; addChat it first`);
    return state;
  }

  private targetChat(params: Params): ChatState {
    const state = this.chats.get(chatIdOf(params));
    if (!state) throw badRequest('chat not found');
    return state;
  }

  private envelope(state: ChatState, sender: Sender, replyTo: ReplyTarget | undefined): Envelope {
    let from: User;
    let senderChat: { sender_chat?: Chat } = {};
    if (sender === 'anonymous-admin') {
      if (state.chat.type === 'private') throw new Error('BotApiEmulator: only groups have anonymous admins');
      from = GROUP_ANONYMOUS_BOT;
      senderChat = { sender_chat: state.chat };
    } else {
      from = sender;
      this.knownUsers.set(sender.id, sender);
      if (!state.members.has(sender.id)) state.members.set(sender.id, 'member');
    }
    return {
      message_id: state.nextMessageId++,
      date: unixNow(),
      chat: state.chat,
      from,
      ...senderChat,
      ...(replyTo ? { reply_to_message: replyTo } : {}),
    };
  }

  private botEnvelope(state: ChatState, replyTo: ReplyTarget | undefined): Envelope {
    return this.envelope(state, this.botUser(), replyTo);
  }

  private botUser(): User {
    return { id: this.bot.id, is_bot: true, first_name: this.bot.first_name, username: this.bot.username };
  }

  /** The message a scripted post replies to; a missing one is a mistake in the test. */
  private scriptedReply(state: ChatState, replyTo: number | undefined): ReplyTarget | undefined {
    if (replyTo === undefined) return undefined;
    const target = state.messages.get(replyTo);
    if (!target) throw new Error(`BotApiEmulator: chat ${state.chat.id} has no message ${replyTo} to reply to`);
    return asReplyTarget(target);
  }

  /** The message a bot's call replies to, from reply_parameters or the older reply_to_message_id. */
  private replyTarget(state: ChatState, params: Params): ReplyTarget | undefined {
    const parameters = optionalJson(params, 'reply_parameters');
    if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null)) throw badRequest("can't parse reply parameters JSON object");
    const reply = (parameters ?? {}) as Params;
    const messageId = optionalInteger(reply, 'message_id') ?? optionalInteger(params, 'reply_to_message_id');
    if (messageId === undefined) return undefined;
    const target = state.messages.get(messageId);
    if (target) return asReplyTarget(target);
    if (optionalBoolean(reply, 'allow_sending_without_reply') ?? optionalBoolean(params, 'allow_sending_without_reply')) return undefined;
    throw badRequest('message to be replied not found');
  }

  /** A service message: bots see these whatever the privacy mode. */
  private deliverService(state: ChatState, message: Record<string, unknown>): void {
    this.updates.push((update_id) => ({ update_id, message: message as unknown as Update.MessageUpdate['message'] }));
  }

  /** Files a posted message in its chat and queues its update, unless privacy mode hides it. */
  private deliver(state: ChatState, message: ChatMessage): void {
    state.messages.set(message.message_id, message);
    if (!this.botSees(state, message)) return;
    // A fresh post: the edit_date that ChatMessage allows (for edited bot messages) is never set here.
    this.updates.push((update_id) => ({ update_id, message: message as Update.MessageUpdate['message'] }));
  }

  private botSees(state: ChatState, message: ChatMessage): boolean {
    if (!this.privacyMode || state.chat.type === 'private') return true;
    if (state.creator?.id === this.bot.id || state.administrators.some((user) => user.id === this.bot.id)) return true;
    if (message.reply_to_message?.from?.id === this.bot.id) return true;
    const [text, entities] = 'text' in message ? [message.text, message.entities] : [message.caption ?? '', message.caption_entities];
    const me = `@${this.bot.username.toLowerCase()}`;
    return (entities ?? []).some((entity) => {
      const word = text.slice(entity.offset, entity.offset + entity.length).toLowerCase();
      if (entity.type === 'bot_command') return !word.includes('@') || word.endsWith(me);
      return entity.type === 'mention' && word === me;
    });
  }

  private recordSent(
    state: ChatState,
    message: ChatMessage,
    method: SentMessage['method'],
    params: Params,
    detail: Pick<SentMessage, 'text' | 'caption' | 'document' | 'photo'>,
  ): void {
    state.messages.set(message.message_id, message);
    this.pushSent({
      method,
      chat_id: state.chat.id,
      message_id: message.message_id,
      ...detail,
      ...(message.reply_to_message ? { reply_to_message_id: message.reply_to_message.message_id } : {}),
      params,
      message,
      at: Date.now(),
    });
  }

  private pushSent(sent: SentMessage): void {
    this.sent.push(sent);
    this.sentWaiters.offer(sent);
  }
}

/** A message as it appears inside reply_to_message: without its own reply_to_message. */
function asReplyTarget(message: ChatMessage): ReplyTarget {
  // typegram writes "no reply_to_message" as `reply_to_message: undefined`, which
  // exactOptionalPropertyTypes cannot express; leaving the key out is what the JSON carries.
  const { reply_to_message: _nested, ...target } = message;
  return target as ReplyTarget;
}

function administrator(user: User): ChatMemberAdministrator {
  return {
    status: 'administrator',
    user,
    can_be_edited: false,
    is_anonymous: false,
    can_manage_chat: true,
    can_delete_messages: true,
    can_manage_video_chats: true,
    can_restrict_members: true,
    can_promote_members: false,
    can_change_info: true,
    can_invite_users: true,
    can_pin_messages: true,
  };
}

/** Caption fields of a member's post; commands and mentions get entities as Telegram adds them. */
function userCaption(caption: string | undefined): { caption?: string; caption_entities?: MessageEntity[] } {
  if (caption === undefined) return {};
  if (caption.length > MAX_CAPTION_LENGTH) throw new Error(`BotApiEmulator: a caption has at most ${MAX_CAPTION_LENGTH} characters`);
  const entities = detectEntities(caption);
  return { caption, ...(entities.length > 0 ? { caption_entities: entities } : {}) };
}

/** Caption of a bot's call: checked against parse_mode and the length limit. */
function botCaption(params: Params): { fields: { caption?: string }; raw: { caption?: string } } {
  const raw = optionalString(params, 'caption');
  if (raw === undefined) return { fields: {}, raw: {} };
  const caption = visibleText(raw, parseModeOf(optionalString(params, 'parse_mode')));
  if (caption.length > MAX_CAPTION_LENGTH) throw badRequest('message caption is too long');
  return { fields: caption === '' ? {} : { caption }, raw: { caption: raw } };
}

function scopeKey(scope: { type?: unknown; chat_id?: unknown; user_id?: unknown }, languageCode: string): string {
  return JSON.stringify([scope.type ?? 'default', scope.chat_id ?? null, scope.user_id ?? null, languageCode]);
}

function scopeKeyOf(params: Params): string {
  const scope = optionalJson(params, 'scope') ?? { type: 'default' };
  if (typeof scope !== 'object') throw badRequest("can't parse BotCommandScope JSON object");
  const { type, chat_id, user_id } = scope as Params;
  const chat = chat_id === undefined ? undefined : Number(chat_id);
  const user = user_id === undefined ? undefined : Number(user_id);
  return scopeKey({ type, chat_id: chat, user_id: user }, optionalString(params, 'language_code') ?? '');
}

function numericChatId(params: Params): number | undefined {
  const value = params.chat_id;
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isSafeInteger(number) ? number : undefined;
}

/** telegraf repeats the method name as a form field in multipart bodies; it is no parameter. */
function withoutMethodField(params: Params, method: string): Params {
  if (typeof params.method !== 'string' || params.method.toLowerCase() !== method.toLowerCase()) return params;
  const { method: _method, ...rest } = params;
  return rest;
}

function describeSent(sent: readonly SentMessage[]): string {
  if (sent.length === 0) return 'nothing';
  return sent
    .map((item) => `${item.method}(${item.chat_id}) ${JSON.stringify(item.text ?? item.caption ?? item.document?.fileName ?? item.reaction ?? '')}`)
    .join('; ');
}
