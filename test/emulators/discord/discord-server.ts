import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  DiscordApiError,
  Intent,
  Permission,
  SnowflakeMaker,
  asArray,
  asObject,
  badRequest,
  notFound,
  optionalString,
  rateLimitHeaders,
  readBody,
  sendJson,
  type Json,
  type RequestBody,
  type UploadedFile,
} from './protocol.ts';

export interface DiscordEmulatorOptions {
  /** The bot token; REST wants `Bot <token>`, IDENTIFY the raw token. */
  readonly token?: string;
  /** Sent in HELLO; Discord's is about 41 s. */
  readonly heartbeatIntervalMs?: number;
  /** Largest upload (sum of a request's files) and `attachment_size_limit` of interactions; 10 MiB. */
  readonly attachmentSizeLimit?: number;
  /** The shard count GET /gateway/bot recommends; 1 by default. */
  readonly shards?: number;
}

/** A Discord user as the emulator knows it; turned into Discord's user object on the wire. */
export interface DiscordUser {
  readonly id: string;
  readonly username: string;
  readonly bot?: boolean;
}

export interface ChannelSpec {
  readonly id: string;
  readonly name: string;
}

export interface GuildSpec {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  /** Text channels; one called "general" when omitted. */
  readonly channels?: readonly { readonly id?: string; readonly name: string }[];
  /** What the bot's managed role grants; the default has no ManageGuild nor Administrator. */
  readonly botPermissions?: bigint;
}

/** A guild as added, with the ids of its channels. */
export interface EmulatedGuild {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly channels: readonly ChannelSpec[];
}

export interface MemberOptions {
  /** Granted through a role of the member's own, e.g. ManageGuild 0x20n or Administrator 0x8n. */
  readonly permissions?: bigint | string;
}

/** A file a user posts or attaches to a command. */
export interface AttachmentInput {
  readonly name: string;
  readonly bytes: Buffer;
  readonly contentType: string;
}

export interface PostOptions {
  readonly content?: string;
  readonly attachments?: readonly AttachmentInput[];
  /**
   * When it was posted, for history: its snowflake and timestamp say so. Post older messages
   * first, as Discord's ids sort by time.
   */
  readonly postedAt?: Date;
}

/** A request held by `hold` until the test releases it. */
export interface HeldRequest {
  /** Resolves when a matching request arrives (and is held). */
  readonly reached: Promise<void>;
  release(): void;
}

export interface CommandOptionInput {
  readonly name: string;
  /** Discord's option type: 3 string, 4 integer, 5 boolean, 10 number, 11 attachment… */
  readonly type: number;
  readonly value?: string | number | boolean;
  readonly options?: readonly CommandOptionInput[];
}

/** The id and token of an interaction the emulator sent. */
export interface InvokedInteraction {
  readonly id: string;
  readonly token: string;
}

/** A file the bot uploaded. */
export interface SentFile {
  readonly name: string;
  readonly bytes: Buffer;
  readonly contentType: string;
}

/** An answer to POST /interactions/{id}/{token}/callback. */
export interface InteractionCallback {
  readonly interactionId: string;
  /** 4 reply, 5 deferred reply, 6 deferred update, 7 update, 9 modal… */
  readonly type: number;
  readonly content: string | undefined;
  readonly flags: number;
  readonly files: readonly SentFile[];
  readonly data: Json;
}

/** A message written through an interaction's webhook: a follow-up or an edit of the reply. */
export interface WebhookMessage {
  readonly interactionId: string;
  readonly kind: 'followUp' | 'editOriginal' | 'editFollowUp';
  readonly messageId: string;
  readonly content: string | undefined;
  readonly flags: number;
  readonly files: readonly SentFile[];
  readonly message: Json;
}

/** A message the bot sent with POST /channels/{id}/messages. */
export interface SentChannelMessage {
  readonly channelId: string;
  readonly id: string;
  readonly content: string;
  readonly replyTo: string | undefined;
  readonly files: readonly SentFile[];
  readonly message: Json;
}

export interface Reaction {
  readonly channelId: string;
  readonly messageId: string;
  /** Decoded: "👍", or "name:id" for a custom emoji. */
  readonly emoji: string;
  readonly removed: boolean;
}

export interface RecordedCall {
  readonly method: string;
  /** Below /api/v10, e.g. "/channels/1/messages". */
  readonly path: string;
  readonly query: string;
  readonly body: unknown;
  readonly files: readonly { readonly name: string; readonly size: number }[];
  readonly status: number;
  readonly at: number;
}

export interface FailureOptions {
  /** 429 by default. */
  readonly status?: number;
  /** Seconds, for 429: both the body's retry_after and the Retry-After header. */
  readonly retryAfter?: number;
}

interface RoleState {
  readonly id: string;
  readonly name: string;
  readonly permissions: bigint;
  readonly position: number;
  readonly managed: boolean;
}

interface MemberState {
  readonly user: DiscordUser;
  readonly roles: string[];
  readonly joinedAt: string;
}

/** A thread under a text channel, as Discord keeps it: its members are the ones who joined or were added. */
interface ThreadState {
  readonly id: string;
  readonly name: string;
  readonly parentId: string;
  readonly ownerId: string;
  /** A private thread (type 12) is seen by its members and by those who manage threads; a public one (11) by whoever sees its parent. */
  readonly private: boolean;
  readonly members: Set<string>;
  readonly createdAt: string;
  /** Archived threads are not in GUILD_CREATE: a client finds them with the archived-threads lists. */
  archived: boolean;
  archivedAt: string;
}

interface GuildState {
  readonly spec: EmulatedGuild;
  readonly threads: Map<string, ThreadState>;
  readonly roles: RoleState[];
  readonly members: Map<string, MemberState>;
  readonly joinedAt: string;
}

interface InteractionState {
  readonly id: string;
  readonly token: string;
  readonly guildId: string;
  readonly channelId: string;
  acknowledged: boolean;
  originalMessageId: string | undefined;
}

interface Session {
  readonly id: string;
  /** `[shard id, shard count]` from IDENTIFY; `[0, 1]` when it sent none. */
  readonly shard: Shard;
  socket: WebSocket | undefined;
  intents: number;
  seq: number;
  /** Every dispatch of the session, replayed from the client's last sequence on RESUME. */
  readonly log: { readonly s: number; readonly payload: string }[];
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  /** False for interaction and webhook routes, which the token in the path authorises. */
  readonly auth: boolean;
  readonly handle: (params: string[], body: RequestBody, query: URLSearchParams) => Promise<RouteResult> | RouteResult;
}

interface RouteResult {
  readonly status: number;
  readonly body?: unknown;
}

/** A gateway session's place: `[shard id, shard count]`, as IDENTIFY and READY carry it. */
export type Shard = readonly [id: number, count: number];

/**
 * Discord's rule for which shard receives a guild's events: `(guild_id >> 22) % shard_count`.
 * Events without a guild (DMs) go to shard 0.
 */
export function shardOf(guildId: string | undefined, count: number): number {
  return guildId === undefined ? 0 : Number((BigInt(guildId) >> 22n) % BigInt(count));
}

const ok = (body: unknown): RouteResult => ({ status: 200, body });
const NO_CONTENT: RouteResult = { status: 204 };

const MAX_CONTENT_LENGTH = 2000;
const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;

/**
 * A local Discord: REST under /api/v10 and the gateway on one HTTP server, good enough for the
 * real discord.js Client. Tests script users, guilds, messages and commands, and read back what the
 * bot did. JSON encoding, no compression.
 *
 * Sharding as Discord does it: each session is routed by its own IDENTIFY `shard: [id, count]` and
 * gets only the guilds for which `shardOf(guild, count) === id` (READY, then every guild event); a
 * guild whose shard has no session is delivered to nobody. An id outside `0..count-1` is closed
 * with 4010. Like Discord, the emulator does not refuse a count other than the one it recommends,
 * nor a second session for a shard that has one: both sessions then get that shard's events.
 */
export class DiscordEmulator {
  /** The bot token. */
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: DiscordUser;
  /** Interaction callbacks, in the order they arrived. */
  readonly callbacks: InteractionCallback[] = [];
  /** Follow-ups and edits of replies through interaction webhooks. */
  readonly followUps: WebhookMessage[] = [];
  /** Messages the bot sent to channels. */
  readonly messages: SentChannelMessage[] = [];
  readonly reactions: Reaction[] = [];
  /** Registered application commands, per guild id ("global" for global ones). */
  readonly commands = new Map<string, Json[]>();
  /** Every REST request, answered or not. */
  readonly calls: RecordedCall[] = [];
  /** Gateway dispatches sent, by event name, in order, with the shard of the session they went to. */
  readonly dispatches: { readonly t: string; readonly s: number; readonly d: unknown; readonly shard: Shard }[] = [];
  /** The shard of each IDENTIFY that was accepted, in order. */
  readonly identified: Shard[] = [];
  /** Emulator bugs and requests it cannot answer; a test should end with none. */
  readonly faults: string[] = [];
  /** The intents of the last IDENTIFY, or undefined before any. */
  identifiedIntents: number | undefined;
  /** Heartbeats received (op 1). */
  heartbeats = 0;

  private readonly ids = new SnowflakeMaker();
  private readonly heartbeatIntervalMs: number;
  private readonly attachmentSizeLimit: number;
  private readonly recommendedShards: number;
  private readonly guilds = new Map<string, GuildState>();
  private readonly channelGuild = new Map<string, string>();
  /** Channel id -> the users it is hidden from. */
  private readonly hiddenChannels = new Map<string, Set<string>>();
  private readonly allMessages = new Map<string, Json>();
  private readonly attachmentFiles = new Map<string, { readonly bytes: Buffer; readonly contentType: string }>();
  private readonly downloaded = new Set<string>();
  private readonly interactions = new Map<string, InteractionState>();
  private readonly sessions = new Map<string, Session>();
  private readonly failures: { readonly route: string | RegExp; readonly options: FailureOptions }[] = [];
  private readonly holds: {
    readonly match: (line: string, query: URLSearchParams) => boolean;
    readonly reached: () => void;
    readonly released: Promise<void>;
  }[] = [];
  private readonly routes: Route[];
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(
    private readonly server: Server,
    private readonly port: number,
    options: DiscordEmulatorOptions,
  ) {
    this.token =
      options.token ?? `${Buffer.from('emulated-bot').toString('base64url')}.${randomBytes(4).toString('hex')}.${randomBytes(16).toString('base64url')}`;
    if (this.token === '') throw new Error('Empty token!');
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 41_250;
    this.attachmentSizeLimit = options.attachmentSizeLimit ?? 10 * 1024 * 1024;
    this.recommendedShards = options.shards ?? 1;
    this.applicationId = this.ids.next();
    this.botUser = { id: this.applicationId, username: 'facefile', bot: true };
    this.routes = this.buildRoutes();
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.onRequest(request, response).catch((error: unknown) => {
        this.faults.push(`${request.method ?? '?'} ${request.url ?? '?'}: ${String(error)}`);
        if (!response.headersSent) sendJson(response, 500, { message: '500: Internal Server Error', code: 0 });
      });
    });
    server.on('upgrade', (request, socket, head) => {
      if (!(request.url ?? '').startsWith('/gateway')) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.onConnection(ws, new URL(request.url ?? '/', this.httpRoot).searchParams);
      });
    });
  }

  /** Starts on 127.0.0.1 at an ephemeral port. */
  static async start(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new DiscordEmulator(server, (server.address() as AddressInfo).port, options);
  }

  /** What to pass as discord.js's `rest.api`. */
  get apiRoot(): string {
    return `${this.httpRoot}/api`;
  }

  /** The gateway URL handed out by GET /gateway/bot. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  private get httpRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether a client has identified and its socket is open. */
  get connected(): boolean {
    return [...this.sessions.values()].some((session) => session.socket !== undefined);
  }

  /** Stops the gateway and the HTTP server, cutting every connection. */
  async close(): Promise<void> {
    for (const session of this.sessions.values()) session.socket?.terminate();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- scripting -------------------------------------------------------------------------------

  /** A new (non-bot) user with a fresh snowflake. */
  user(username: string): DiscordUser {
    return { id: this.ids.next(), username };
  }

  /** Adds a guild the bot is in; dispatches GUILD_CREATE when a client is connected. */
  addGuild(spec: GuildSpec): EmulatedGuild {
    if (this.guilds.has(spec.id)) throw new Error(`guild ${spec.id} exists`);
    const channels = (spec.channels ?? [{ name: 'general' }]).map((channel) => ({ id: channel.id ?? this.ids.next(), name: channel.name }));
    const guild: EmulatedGuild = { id: spec.id, name: spec.name, ownerId: spec.ownerId, channels };
    const botRole: RoleState = {
      id: this.ids.next(),
      name: this.botUser.username,
      permissions: spec.botPermissions ?? Permission.EveryoneDefault,
      position: 1,
      managed: true,
    };
    const state: GuildState = {
      spec: guild,
      roles: [{ id: spec.id, name: '@everyone', permissions: Permission.EveryoneDefault, position: 0, managed: false }, botRole],
      members: new Map(),
      threads: new Map(),
      joinedAt: new Date().toISOString(),
    };
    state.members.set(this.botUser.id, { user: this.botUser, roles: [botRole.id], joinedAt: state.joinedAt });
    this.guilds.set(spec.id, state);
    for (const channel of channels) this.channelGuild.set(channel.id, spec.id);
    this.dispatch(spec.id, 'GUILD_CREATE', this.guildCreatePayload(state), Intent.Guilds);
    return guild;
  }

  /** The bot is removed from a guild (kicked, or the guild deleted): GUILD_DELETE without `unavailable`. */
  removeGuild(guildId: string): void {
    const state = this.guildState(guildId);
    this.guilds.delete(guildId);
    for (const channel of [...state.spec.channels, ...state.threads.values()]) this.channelGuild.delete(channel.id);
    this.dispatch(guildId, 'GUILD_DELETE', { id: guildId }, Intent.Guilds);
  }

  /**
   * Hides a channel from one member (a member overwrite that denies View Channel), as a private
   * channel does; CHANNEL_UPDATE tells a connected client.
   */
  hideChannel(channelId: string, userId: string): void {
    const hidden = this.hiddenChannels.get(channelId) ?? new Set<string>();
    hidden.add(userId);
    this.hiddenChannels.set(channelId, hidden);
    const guildId = this.guildIdOf(channelId);
    const channel = this.guildState(guildId).spec.channels.find((c) => c.id === channelId)!;
    this.dispatch(guildId, 'CHANNEL_UPDATE', this.channelJson(channel, guildId), Intent.Guilds);
  }

  /**
   * A member starts a thread under a text channel, with the members given (the owner and the bot
   * are in it); THREAD_CREATE tells a connected client. Returns the thread's id, a channel id that
   * messages can be posted to.
   */
  addThread(
    parentId: string,
    owner: DiscordUser,
    options: { readonly name: string; readonly private?: boolean; readonly members?: readonly DiscordUser[]; readonly archived?: boolean },
  ): string {
    const guildId = this.guildIdOf(parentId);
    const guild = this.guildState(guildId);
    if (!guild.spec.channels.some((channel) => channel.id === parentId)) throw new Error(`${parentId} is not a text channel`);
    const thread: ThreadState = {
      id: this.ids.next(),
      name: options.name,
      parentId,
      ownerId: owner.id,
      private: options.private ?? false,
      members: new Set([owner.id, this.botUser.id, ...(options.members ?? []).map((member) => member.id)]),
      createdAt: new Date().toISOString(),
      archived: options.archived ?? false,
      archivedAt: new Date().toISOString(),
    };
    guild.threads.set(thread.id, thread);
    this.channelGuild.set(thread.id, guildId);
    this.dispatch(guildId, 'THREAD_CREATE', { ...threadJson(thread, guildId), newly_created: true }, Intent.Guilds);
    return thread.id;
  }

  /**
   * A thread archived (as Discord does after a day without messages): THREAD_UPDATE tells a
   * connected client, and from then on it is listed only by the archived-threads routes.
   */
  archiveThread(threadId: string): void {
    const thread = this.threadOf(threadId);
    if (!thread) throw new Error(`${threadId} is not a thread`);
    thread.archived = true;
    thread.archivedAt = new Date().toISOString();
    const guildId = this.guildIdOf(threadId);
    this.dispatch(guildId, 'THREAD_UPDATE', threadJson(thread, guildId), Intent.Guilds);
  }

  /**
   * GET /channels/{id}/threads/archived/public and /users/@me/threads/archived/private under a
   * channel: archived threads newest archived first, `before` an ISO timestamp, `limit` (50 when
   * absent), with `has_more`. Private ones: those the bot is a member of.
   */
  private archivedThreads(parentId: string, query: URLSearchParams, which: 'public' | 'joined-private'): Json {
    const guildId = this.guildIdOf(parentId);
    if (this.hiddenChannels.get(parentId)?.has(this.botUser.id)) throw new DiscordApiError(403, 50001, 'Missing Access');
    const limit = query.has('limit') ? Number(query.get('limit')) : 50;
    if (!Number.isInteger(limit) || limit < 2 || limit > 100) throw badRequest('limit: Must be between 2 and 100.');
    const before = query.get('before');
    const all = [...this.guildState(guildId).threads.values()]
      .filter((t) => t.parentId === parentId && t.archived && (which === 'public' ? !t.private : t.private && t.members.has(this.botUser.id)))
      .filter((t) => before === null || t.archivedAt < before)
      .sort((a, b) => (a.archivedAt < b.archivedAt ? 1 : a.archivedAt > b.archivedAt ? -1 : 0));
    const page = all.slice(0, limit);
    return {
      threads: page.map((t) => threadJson(t, guildId)),
      members: page.filter((t) => t.members.has(this.botUser.id)).map((t) => ({ id: t.id, user_id: this.botUser.id, join_timestamp: t.createdAt, flags: 0 })),
      has_more: all.length > limit,
    };
  }

  private threadOf(channelId: string): ThreadState | undefined {
    return this.guildState(this.guildIdOf(channelId)).threads.get(channelId);
  }

  /** GET /channels/{id}/thread-members/{user}: Unknown Member (10007) for a user not in the thread. */
  private threadMember(threadId: string, userId: string): Json {
    const thread = this.threadOf(threadId);
    if (!thread) throw badRequest('Invalid thread', 50024);
    if (!thread.members.has(userId)) throw notFound('Member', 10007);
    return { id: thread.id, user_id: userId, join_timestamp: thread.createdAt, flags: 0 };
  }

  private channelJson(channel: ChannelSpec, guildId: string): Json {
    return channelJson(channel, guildId, [...(this.hiddenChannels.get(channel.id) ?? [])]);
  }

  /** Makes a user a member of a guild, with a role of their own carrying `permissions`. */
  addMember(guildId: string, user: DiscordUser, options: MemberOptions = {}): void {
    const guild = this.guildState(guildId);
    const roles: string[] = [];
    if (options.permissions !== undefined) {
      const role: RoleState = {
        id: this.ids.next(),
        name: `${user.username}'s role`,
        permissions: BigInt(options.permissions),
        position: guild.roles.length,
        managed: false,
      };
      guild.roles.push(role);
      roles.push(role.id);
      this.dispatch(guildId, 'GUILD_ROLE_CREATE', { guild_id: guildId, role: roleJson(role) }, Intent.Guilds);
    }
    const member: MemberState = { user, roles, joinedAt: new Date().toISOString() };
    guild.members.set(user.id, member);
    this.dispatch(guildId, 'GUILD_MEMBER_ADD', { ...this.memberJson(guild, member), guild_id: guildId }, Intent.GuildMembers);
  }

  /**
   * A user posts in a channel: MESSAGE_CREATE to a client with GuildMessages. Without the
   * MessageContent intent the bot gets an empty content and no attachments unless mentioned.
   */
  async postMessage(channelId: string, author: DiscordUser, options: PostOptions = {}): Promise<Json & { readonly id: string }> {
    const guild = this.guildState(this.guildIdOf(channelId));
    const member = guild.members.get(author.id);
    if (!member) throw new Error(`${author.username} is not a member of guild ${guild.spec.id}`);
    const id = this.ids.next(options.postedAt?.getTime());
    const attachments = await Promise.all((options.attachments ?? []).map((file) => this.storeAttachment(channelId, file)));
    const message = {
      ...this.messageJson({ id, channelId, author, content: options.content ?? '', attachments, ...(options.postedAt ? { timestamp: options.postedAt } : {}) }),
      id,
      member: this.memberJson(guild, member),
    };
    this.allMessages.set(id, message);
    this.dispatch(guild.spec.id, 'MESSAGE_CREATE', message, Intent.GuildMessages, (intents) => {
      const mentioned = (options.content ?? '').includes(`<@${this.botUser.id}>`);
      return (intents & Intent.MessageContent) !== 0 || mentioned ? message : { ...message, content: '', attachments: [], embeds: [], components: [] };
    });
    return message;
  }

  /**
   * A user runs a registered slash command. `attachments` maps attachment options' names to files:
   * each becomes an option of type 11 and an entry of `data.resolved.attachments`.
   */
  async invokeCommand(
    guildId: string,
    channelId: string,
    user: DiscordUser,
    name: string,
    options: readonly CommandOptionInput[] = [],
    attachments: Readonly<Record<string, AttachmentInput>> = {},
  ): Promise<InvokedInteraction> {
    const command = this.registeredCommand(guildId, name, 1);
    const resolved: Record<string, Json> = {};
    const attachmentOptions: CommandOptionInput[] = [];
    for (const [optionName, file] of Object.entries(attachments)) {
      const attachment = await this.storeAttachment(channelId, file, true);
      const attachmentId = String(attachment.id);
      resolved[attachmentId] = attachment;
      attachmentOptions.push({ name: optionName, type: 11, value: attachmentId });
    }
    const data: Json = { id: command.id, name, type: 1, guild_id: guildId, options: [...options, ...attachmentOptions] };
    if (attachmentOptions.length > 0) data.resolved = { attachments: resolved };
    return this.sendInteraction(guildId, channelId, user, data);
  }

  /** A user runs a message context-menu command (command type 3) on a message. */
  invokeMessageCommand(guildId: string, channelId: string, user: DiscordUser, name: string, targetMessageId: string): InvokedInteraction {
    const command = this.registeredCommand(guildId, name, 3);
    const target = this.allMessages.get(targetMessageId);
    if (!target) throw new Error(`no message ${targetMessageId}`);
    return this.sendInteraction(guildId, channelId, user, {
      id: command.id,
      name,
      type: 3,
      guild_id: guildId,
      target_id: targetMessageId,
      resolved: { messages: { [targetMessageId]: target } },
    });
  }

  /** A user submits a modal the bot showed: text inputs by custom id, each in a label (type 18). */
  submitModal(guildId: string, channelId: string, user: DiscordUser, customId: string, fields: Readonly<Record<string, string>>): InvokedInteraction {
    const components = Object.entries(fields).map(([id, value]) => ({ type: 18, component: { type: 4, custom_id: id, value } }));
    return this.sendInteraction(guildId, channelId, user, { custom_id: customId, components }, 5);
  }

  /**
   * Holds the next request matching `match` (given "METHOD path" and the query) until `release`:
   * a test stops the bot, or acts, at a known point of a conversation.
   */
  hold(match: (line: string, query: URLSearchParams) => boolean): HeldRequest {
    let reached!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ match, reached, released });
    return { reached: arrived, release };
  }

  /** The next request matching `route` (exact path, "METHOD path", or a RegExp on "METHOD path") fails once. */
  failNext(route: string | RegExp, options: FailureOptions = {}): void {
    this.failures.push({ route, options });
  }

  /** Closes the client's socket as Discord does before a resume (4000 by default); the session survives. */
  dropConnections(code = 4000): void {
    for (const session of this.sessions.values()) {
      session.socket?.close(code, 'dropped by the emulator');
      session.socket = undefined;
    }
  }

  /** Polls `probe` until it returns something truthy, which is returned. */
  async waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== null && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(10);
    }
  }

  /** Whether a client has fetched an attachment URL the emulator handed out. */
  wasDownloaded(url: string): boolean {
    return this.downloaded.has(new URL(url).pathname);
  }

  /** The bytes the emulator serves for an attachment URL it handed out. */
  attachmentBytes(url: string): Buffer | undefined {
    return this.attachmentFiles.get(new URL(url).pathname)?.bytes;
  }

  // ---- gateway ---------------------------------------------------------------------------------

  private onConnection(socket: WebSocket, query: URLSearchParams): void {
    if (query.get('v') !== '10' || query.get('encoding') !== 'json') {
      socket.close(4012, 'Invalid API version or encoding.');
      return;
    }
    let session: Session | undefined;
    const send = (payload: Json): void => {
      socket.send(JSON.stringify(payload));
    };
    socket.on('message', (raw: RawData) => {
      let payload: Json;
      try {
        payload = asObject(JSON.parse(rawText(raw)));
      } catch {
        socket.close(4002, 'Error while decoding payload.');
        return;
      }
      const d = asObject(payload.d);
      switch (payload.op) {
        case 1:
          this.heartbeats += 1;
          send({ op: 11, d: null });
          return;
        case 2: {
          if (session) {
            socket.close(4005, 'Already authenticated.');
            return;
          }
          if (d.token !== this.token) {
            socket.close(4004, 'Authentication failed.');
            return;
          }
          const shard = shardOfIdentify(d.shard);
          if (!shard) {
            socket.close(4010, 'Invalid shard.');
            return;
          }
          const intents = typeof d.intents === 'number' ? d.intents : 0;
          this.identifiedIntents = intents;
          this.identified.push(shard);
          session = { id: randomBytes(16).toString('hex'), shard, socket, intents, seq: 0, log: [] };
          this.sessions.set(session.id, session);
          const guilds = [...this.guilds.values()].filter((guild) => shardOf(guild.spec.id, shard[1]) === shard[0]);
          this.sendDispatch(session, 'READY', {
            v: 10,
            user: { ...userJson(this.botUser), verified: true, mfa_enabled: false, flags: 0 },
            guilds: guilds.map((guild) => ({ id: guild.spec.id, unavailable: true })),
            session_id: session.id,
            resume_gateway_url: this.gatewayUrl,
            shard,
            application: { id: this.applicationId, flags: 0 },
          });
          for (const guild of guilds) this.sendDispatch(session, 'GUILD_CREATE', this.guildCreatePayload(guild));
          return;
        }
        case 6: {
          const resumed = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
          if (!resumed || d.token !== this.token || typeof d.seq !== 'number') {
            send({ op: 9, d: false });
            return;
          }
          session = resumed;
          resumed.socket = socket;
          const missed = resumed.log.filter((entry) => entry.s > (d.seq as number));
          for (const entry of missed) socket.send(entry.payload);
          this.sendDispatch(resumed, 'RESUMED', {});
          return;
        }
        case 3:
        case 4:
        case 8:
          if (!session) socket.close(4003, 'Not authenticated.');
          return;
        default:
          socket.close(4001, 'Unknown opcode.');
      }
    });
    socket.on('close', () => {
      if (session?.socket === socket) session.socket = undefined;
    });
    socket.on('error', (error) => {
      this.faults.push(`gateway socket: ${String(error)}`);
    });
    send({ op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs } });
  }

  /**
   * Sends a guild's event to every session of the guild's shard whose intents cover it (`null`:
   * any); `shape` tailors it per session.
   */
  private dispatch(guildId: string, t: string, d: unknown, intent: number | null, shape?: (intents: number) => unknown): void {
    for (const session of this.sessions.values()) {
      if (shardOf(guildId, session.shard[1]) !== session.shard[0]) continue;
      if (intent !== null && (session.intents & intent) === 0) continue;
      this.sendDispatch(session, t, shape ? shape(session.intents) : d);
    }
  }

  private sendDispatch(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const payload = JSON.stringify({ op: 0, t, s: session.seq, d });
    session.log.push({ s: session.seq, payload });
    this.dispatches.push({ t, s: session.seq, d, shard: session.shard });
    session.socket?.send(payload);
  }

  private sendInteraction(guildId: string, channelId: string, user: DiscordUser, data: Json, type = 2): InvokedInteraction {
    const guild = this.guildState(guildId);
    const member = guild.members.get(user.id);
    if (!member) throw new Error(`${user.username} is not a member of guild ${guildId}`);
    const channel = guild.spec.channels.find((candidate) => candidate.id === channelId);
    if (!channel) throw new Error(`no channel ${channelId} in guild ${guildId}`);
    const interaction: InteractionState = {
      id: this.ids.next(),
      token: `aW50ZXJhY3Rpb24.${randomBytes(24).toString('base64url')}`,
      guildId,
      channelId,
      acknowledged: false,
      originalMessageId: undefined,
    };
    this.interactions.set(interaction.token, interaction);
    const bot = guild.members.get(this.botUser.id)!;
    this.dispatch(
      guildId,
      'INTERACTION_CREATE',
      {
        id: interaction.id,
        application_id: this.applicationId,
        type,
        data,
        guild_id: guildId,
        guild: { id: guildId, locale: 'en-US', features: [] },
        channel_id: channelId,
        channel: this.channelJson(channel, guildId),
        member: this.memberJson(guild, member),
        token: interaction.token,
        version: 1,
        app_permissions: String(permissionsOf(guild, bot)),
        locale: 'en-US',
        guild_locale: 'en-US',
        entitlements: [],
        authorizing_integration_owners: { '0': guildId },
        context: 0,
        attachment_size_limit: this.attachmentSizeLimit,
      },
      null,
    );
    return { id: interaction.id, token: interaction.token };
  }

  // ---- REST ------------------------------------------------------------------------------------

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.httpRoot);
    if (request.method === 'GET' && url.pathname.startsWith('/attachments/')) {
      const file = this.attachmentFiles.get(url.pathname);
      if (!file) {
        response.writeHead(404).end();
        return;
      }
      this.downloaded.add(url.pathname);
      response.writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.length }).end(file.bytes);
      return;
    }
    const method = request.method ?? 'GET';
    const path = url.pathname.startsWith('/api/v10/') ? url.pathname.slice('/api/v10'.length) : url.pathname;
    let body: RequestBody = { json: undefined, files: [] };
    let result: RouteResult;
    let headers: Record<string, string> = {};
    try {
      const size = Number(request.headers['content-length'] ?? 0);
      if (size > this.attachmentSizeLimit + 1024 * 1024) throw new DiscordApiError(413, 40005, 'Request entity too large');
      body = await readBody(request);
      const failure = this.takeFailure(method, path);
      if (failure) {
        const status = failure.status ?? 429;
        const retryAfter = failure.retryAfter ?? 0.1;
        if (status === 429) {
          headers = { ...rateLimitHeaders(bucketOf(method, path), 0, retryAfter), 'retry-after': String(retryAfter), 'x-ratelimit-scope': 'user' };
          result = { status, body: { message: 'You are being rate limited.', retry_after: retryAfter, global: false } };
        } else {
          result = { status, body: { message: `${status}: injected failure`, code: 0 } };
        }
      } else {
        const held = this.holds.findIndex((h) => h.match(`${method} ${path}`, url.searchParams));
        if (held >= 0) {
          const [hold] = this.holds.splice(held, 1);
          hold!.reached();
          await hold!.released;
        }
        result = await this.route(method, path, url.searchParams, body, request.headers.authorization);
        headers = rateLimitHeaders(bucketOf(method, path));
      }
    } catch (error) {
      if (!(error instanceof DiscordApiError)) throw error;
      result = {
        status: error.status,
        body:
          error.status === 400 && error.code === 50035
            ? { message: 'Invalid Form Body', code: 50035, errors: { _errors: [{ code: 'BASE_TYPE_INVALID', message: error.message }] } }
            : { message: error.message, code: error.code },
      };
    }
    this.calls.push({
      method,
      path,
      query: url.search,
      body: body.json,
      files: body.files.map((file) => ({ name: file.name, size: file.bytes.length })),
      status: result.status,
      at: Date.now(),
    });
    sendJson(response, result.status, result.body, headers);
  }

  private takeFailure(method: string, path: string): FailureOptions | undefined {
    const line = `${method} ${path}`;
    const index = this.failures.findIndex(({ route }) => (typeof route === 'string' ? route === path || route === line : route.test(line)));
    if (index < 0) return undefined;
    return this.failures.splice(index, 1)[0]!.options;
  }

  private async route(method: string, path: string, query: URLSearchParams, body: RequestBody, authorization: string | undefined): Promise<RouteResult> {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (route.auth && authorization !== `Bot ${this.token}`) throw new DiscordApiError(401, 0, '401: Unauthorized');
      return route.handle(match.slice(1).map(decodeURIComponent), body, query);
    }
    this.faults.push(`no route for ${method} ${path}`);
    throw new DiscordApiError(404, 0, '404: Not Found');
  }

  private buildRoutes(): Route[] {
    const app = `/applications/(\\d+)`;
    const id = '(\\d+)';
    const r = (method: string, pattern: string, handle: Route['handle'], auth = true): Route => ({ method, pattern: new RegExp(`^${pattern}$`), auth, handle });
    return [
      r('GET', '/gateway/bot', () =>
        ok({
          url: this.gatewayUrl,
          shards: this.recommendedShards,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
        }),
      ),
      r('GET', '/gateway', () => ok({ url: this.gatewayUrl }), false),
      r('GET', '/users/@me', () => ok({ ...userJson(this.botUser), verified: true, mfa_enabled: false, flags: 0 })),
      r('GET', '/applications/@me', () => ok(this.applicationJson())),
      r('GET', `${app}/guilds/${id}/commands`, ([appId, guildId]) => ok(this.commandsOf(appId!, this.guildState(guildId!).spec.id))),
      r('PUT', `${app}/guilds/${id}/commands`, ([appId, guildId], body) => ok(this.overwriteCommands(appId!, this.guildState(guildId!).spec.id, body.json))),
      r('POST', `${app}/guilds/${id}/commands`, ([appId, guildId], body) => ok(this.upsertCommand(appId!, this.guildState(guildId!).spec.id, body.json))),
      r('GET', `${app}/commands`, ([appId]) => ok(this.commandsOf(appId!, 'global'))),
      r('PUT', `${app}/commands`, ([appId], body) => ok(this.overwriteCommands(appId!, 'global', body.json))),
      r(
        'POST',
        `/interactions/${id}/([^/]+)/callback`,
        ([interactionId, token], body, query) => this.interactionCallback(interactionId!, token!, body, query),
        false,
      ),
      r('POST', `/webhooks/${id}/([^/]+)`, ([appId, token], body) => this.webhookPost(appId!, token!, body), false),
      r(
        'GET',
        `/webhooks/${id}/([^/]+)/messages/(@original|%40original|\\d+)`,
        ([appId, token, messageId]) => ok(this.webhookMessage(appId!, token!, messageId!)),
        false,
      ),
      r(
        'PATCH',
        `/webhooks/${id}/([^/]+)/messages/(@original|%40original|\\d+)`,
        ([appId, token, messageId], body) => this.webhookEdit(appId!, token!, messageId!, body),
        false,
      ),
      r(
        'DELETE',
        `/webhooks/${id}/([^/]+)/messages/(@original|%40original|\\d+)`,
        ([appId, token, messageId]) => {
          this.allMessages.delete(String(this.webhookMessage(appId!, token!, messageId!).id));
          return NO_CONTENT;
        },
        false,
      ),
      r('POST', `/channels/${id}/messages`, ([channelId], body) => this.channelPost(channelId!, body)),
      r('GET', `/channels/${id}/messages`, ([channelId], _body, query) => ok(this.history(channelId!, query))),
      r('GET', `/channels/${id}/messages/${id}`, ([channelId, messageId]) => ok(this.messageIn(channelId!, messageId!))),
      r('PUT', `/channels/${id}/messages/${id}/reactions/([^/]+)/@me`, ([channelId, messageId, emoji]) => this.react(channelId!, messageId!, emoji!, false)),
      r('DELETE', `/channels/${id}/messages/${id}/reactions/([^/]+)/@me`, ([channelId, messageId, emoji]) => this.react(channelId!, messageId!, emoji!, true)),
      r('GET', `/channels/${id}/thread-members/${id}`, ([threadId, userId]) => ok(this.threadMember(threadId!, userId!))),
      r('GET', `/channels/${id}/threads/archived/public`, ([parentId], _body, query) => ok(this.archivedThreads(parentId!, query, 'public'))),
      r('GET', `/channels/${id}/users/@me/threads/archived/private`, ([parentId], _body, query) =>
        ok(this.archivedThreads(parentId!, query, 'joined-private')),
      ),
      r('GET', `/channels/${id}`, ([channelId]) => {
        const guildId = this.guildIdOf(channelId!);
        const thread = this.threadOf(channelId!);
        if (thread) return ok(threadJson(thread, guildId));
        return ok(
          this.channelJson(
            this.guildState(guildId).spec.channels.find((channel) => channel.id === channelId)!,
            guildId,
          ),
        );
      }),
      r('GET', `/guilds/${id}`, ([guildId]) => ok(this.guildJson(this.guildState(guildId!)))),
      r('GET', `/guilds/${id}/channels`, ([guildId]) => ok(this.guildState(guildId!).spec.channels.map((channel) => this.channelJson(channel, guildId!)))),
      r('GET', `/guilds/${id}/roles`, ([guildId]) => ok(this.guildState(guildId!).roles.map(roleJson))),
      r('GET', `/guilds/${id}/members/${id}`, ([guildId, userId]) => {
        const guild = this.guildState(guildId!);
        const member = guild.members.get(userId!);
        if (!member) throw notFound('Member', 10007);
        return ok(this.memberJson(guild, member));
      }),
    ];
  }

  private applicationJson(): Json {
    return {
      id: this.applicationId,
      name: this.botUser.username,
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: 0,
      bot: userJson(this.botUser),
      owner: userJson({ id: '1', username: 'owner' }),
      team: null,
    };
  }

  private checkApp(appId: string): void {
    if (appId !== this.applicationId) throw notFound('Application', 10002);
  }

  private commandsOf(appId: string, scope: string): Json[] {
    this.checkApp(appId);
    return this.commands.get(scope) ?? [];
  }

  private overwriteCommands(appId: string, scope: string, json: unknown): Json[] {
    this.checkApp(appId);
    if (!Array.isArray(json)) throw badRequest('commands must be an array');
    const previous = this.commands.get(scope) ?? [];
    const stored = json.map((entry) => this.commandJson(scope, asObject(entry), previous));
    this.commands.set(scope, stored);
    return stored;
  }

  private upsertCommand(appId: string, scope: string, json: unknown): Json {
    this.checkApp(appId);
    const previous = this.commands.get(scope) ?? [];
    const command = this.commandJson(scope, asObject(json), previous);
    this.commands.set(scope, [...previous.filter((existing) => existing.id !== command.id), command]);
    return command;
  }

  /** A stored command; one of the same name and type keeps its id, as Discord does. */
  private commandJson(scope: string, input: Json, previous: readonly Json[]): Json {
    const name = optionalString(input, 'name');
    const type = typeof input.type === 'number' ? input.type : 1;
    // Slash command names are lower-case words; context-menu names may hold spaces and capitals.
    const valid = name !== undefined && (type === 1 ? /^[-_\p{Ll}\p{Lo}\p{N}]{1,32}$/u.test(name) : name.length >= 1 && name.length <= 32);
    if (!valid) throw badRequest(`invalid command name ${String(name)}`);
    if (type === 1 && (optionalString(input, 'description') ?? '').length === 0) throw badRequest(`command ${name} needs a description`);
    const same = previous.find((existing) => existing.name === name && existing.type === type);
    return {
      ...input,
      id: same?.id ?? this.ids.next(),
      application_id: this.applicationId,
      ...(scope === 'global' ? {} : { guild_id: scope }),
      name,
      type,
      description: optionalString(input, 'description') ?? '',
      options: asArray(input.options),
      default_member_permissions: input.default_member_permissions ?? null,
      nsfw: input.nsfw ?? false,
      version: this.ids.next(),
    };
  }

  private registeredCommand(guildId: string, name: string, type: number): Json {
    const command = [...(this.commands.get(guildId) ?? []), ...(this.commands.get('global') ?? [])].find(
      (candidate) => candidate.name === name && candidate.type === type,
    );
    if (!command) throw new Error(`command ${name} (type ${type}) is not registered for guild ${guildId}`);
    return command;
  }

  private interactionOf(token: string): InteractionState | undefined {
    return this.interactions.get(token);
  }

  private async interactionCallback(interactionId: string, token: string, body: RequestBody, query: URLSearchParams): Promise<RouteResult> {
    const interaction = this.interactionOf(token);
    if (interaction?.id !== interactionId) throw notFound('interaction', 10062);
    if (interaction.acknowledged) throw badRequest('Interaction has already been acknowledged.', 40060);
    const json = asObject(body.json);
    const type = typeof json.type === 'number' ? json.type : 0;
    const data = asObject(json.data);
    const flags = typeof data.flags === 'number' ? data.flags : 0;
    let message: Json | undefined;
    if (type === 4) {
      message = await this.botMessage(interaction.channelId, data, body.files, { interaction });
    } else if (type === 5) {
      message = this.messageJson({
        id: this.ids.next(),
        channelId: interaction.channelId,
        author: this.botUser,
        content: '',
        attachments: [],
        flags: (flags & EPHEMERAL) | LOADING,
        webhookId: this.applicationId,
      });
      this.allMessages.set(String(message.id), message);
    } else if (![6, 7, 8, 9].includes(type)) {
      throw badRequest(`unknown interaction callback type ${type}`);
    }
    interaction.acknowledged = true;
    if (message) interaction.originalMessageId = String(message.id);
    this.callbacks.push({ interactionId, type, content: optionalString(data, 'content'), flags, files: body.files.map(sentFile), data });
    if (query.get('with_response') !== 'true') return NO_CONTENT;
    return ok({
      interaction: {
        id: interactionId,
        type: 2,
        activity_instance_id: null,
        response_message_id: message?.id ?? null,
        response_message_loading: type === 5,
        response_message_ephemeral: (flags & EPHEMERAL) !== 0,
      },
      resource: { type, ...(message ? { message } : {}) },
    });
  }

  private webhookInteraction(appId: string, token: string): InteractionState {
    const interaction = this.interactionOf(token);
    // The webhook of an interaction exists only once the interaction is acknowledged.
    if (appId !== this.applicationId || !interaction?.acknowledged) throw notFound('Webhook', 10015);
    return interaction;
  }

  private webhookMessage(appId: string, token: string, messageId: string): Json {
    const interaction = this.webhookInteraction(appId, token);
    const id = messageId === '@original' ? interaction.originalMessageId : messageId;
    const message = id === undefined ? undefined : this.allMessages.get(id);
    if (!message) throw notFound('Message', 10008);
    return message;
  }

  private async webhookPost(appId: string, token: string, body: RequestBody): Promise<RouteResult> {
    const interaction = this.webhookInteraction(appId, token);
    const data = asObject(body.json);
    const message = await this.botMessage(interaction.channelId, data, body.files, { interaction });
    this.followUps.push({
      interactionId: interaction.id,
      kind: 'followUp',
      messageId: String(message.id),
      content: optionalString(data, 'content'),
      flags: Number(message.flags),
      files: body.files.map(sentFile),
      message,
    });
    return ok(message);
  }

  private async webhookEdit(appId: string, token: string, messageId: string, body: RequestBody): Promise<RouteResult> {
    const interaction = this.webhookInteraction(appId, token);
    const existing = this.webhookMessage(appId, token, messageId);
    const data = asObject(body.json);
    checkSize(body.files, this.attachmentSizeLimit);
    const kept = Array.isArray(data.attachments)
      ? asArray(existing.attachments).filter((attachment) =>
          asArray(data.attachments).some((entry) => String(asObject(entry).id) === String(asObject(attachment).id)),
        )
      : asArray(existing.attachments);
    const added = await this.storeUploads(interaction.channelId, data, body.files);
    const content = data.content === undefined ? existing.content : (data.content ?? '');
    if (typeof content === 'string' && content.length > MAX_CONTENT_LENGTH) throw badRequest('content is longer than 2000');
    const message: Json = {
      ...existing,
      content,
      attachments: [...kept, ...added],
      flags: Number(existing.flags) & ~LOADING,
      // The first edit of a deferred reply is its message: its mentions are parsed then.
      mention_everyone: typeof content === 'string' && pingsEveryone(content, data),
      edited_timestamp: new Date().toISOString(),
    };
    this.allMessages.set(String(message.id), message);
    this.followUps.push({
      interactionId: interaction.id,
      kind: messageId === '@original' ? 'editOriginal' : 'editFollowUp',
      messageId: String(message.id),
      content: optionalString(data, 'content'),
      flags: Number(message.flags),
      files: body.files.map(sentFile),
      message,
    });
    return ok(message);
  }

  private async channelPost(channelId: string, body: RequestBody): Promise<RouteResult> {
    this.guildIdOf(channelId);
    const data = asObject(body.json);
    const reference = asObject(data.message_reference);
    const replyTo = optionalString(reference, 'message_id');
    let referenced: Json | undefined;
    if (replyTo !== undefined) {
      referenced = this.allMessages.get(replyTo);
      if (!referenced && reference.fail_if_not_exists !== false) throw badRequest('Unknown message in message_reference', 50035);
    }
    const message = await this.botMessage(channelId, data, body.files, referenced ? { referenced } : {});
    this.messages.push({
      channelId,
      id: String(message.id),
      content: String(message.content),
      replyTo: referenced ? replyTo : undefined,
      files: body.files.map(sentFile),
      message,
    });
    return ok(message);
  }

  /**
   * GET /channels/{id}/messages: a page of history, newest first, as Discord gives it: `limit`
   * 1 to 100 (50 when absent), `before` or `after` a message id. A channel the bot cannot view
   * is Missing Access (403, 50001). Ephemeral messages are nobody's history.
   */
  private history(channelId: string, query: URLSearchParams): Json[] {
    this.guildIdOf(channelId);
    if (this.hiddenChannels.get(channelId)?.has(this.botUser.id)) throw new DiscordApiError(403, 50001, 'Missing Access');
    const limit = query.has('limit') ? Number(query.get('limit')) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest('limit: Must be between 1 and 100.');
    if (query.has('around')) this.faults.push('GET messages with around is not emulated');
    const before = query.get('before');
    const after = query.get('after');
    const newestFirst = [...this.allMessages.values()]
      .filter((m) => m.channel_id === channelId && (Number(m.flags) & EPHEMERAL) === 0)
      .sort((a, b) => (BigInt(String(b.id)) > BigInt(String(a.id)) ? 1 : -1));
    if (after !== null) {
      // The `limit` messages just after it, still newest first.
      const later = newestFirst.filter((m) => BigInt(String(m.id)) > BigInt(after));
      return later.slice(Math.max(0, later.length - limit));
    }
    return newestFirst.filter((m) => before === null || BigInt(String(m.id)) < BigInt(before)).slice(0, limit);
  }

  private messageIn(channelId: string, messageId: string): Json {
    const message = this.allMessages.get(messageId);
    if (message?.channel_id !== channelId) throw notFound('Message', 10008);
    return message;
  }

  private react(channelId: string, messageId: string, emoji: string, removed: boolean): RouteResult {
    this.messageIn(channelId, messageId);
    this.reactions.push({ channelId, messageId, emoji, removed });
    return NO_CONTENT;
  }

  /** A message from the bot: checked like Discord checks it, its files stored and served. */
  private async botMessage(
    channelId: string,
    data: Json,
    files: readonly UploadedFile[],
    extra: { interaction?: InteractionState; referenced?: Json },
  ): Promise<Json> {
    const content = optionalString(data, 'content') ?? '';
    if (content.length > MAX_CONTENT_LENGTH) throw badRequest('content is longer than 2000');
    if (
      content === '' &&
      files.length === 0 &&
      asArray(data.embeds).length === 0 &&
      asArray(data.components).length === 0 &&
      asArray(data.sticker_ids).length === 0
    ) {
      throw new DiscordApiError(400, 50006, 'Cannot send an empty message');
    }
    checkSize(files, this.attachmentSizeLimit);
    const attachments = await this.storeUploads(channelId, data, files);
    const flags = typeof data.flags === 'number' ? data.flags : 0;
    const message = this.messageJson({
      id: this.ids.next(),
      channelId,
      author: this.botUser,
      content,
      attachments,
      flags,
      embeds: asArray(data.embeds),
      mentionEveryone: pingsEveryone(content, data),
      ...(extra.interaction ? { webhookId: this.applicationId } : {}),
      ...(extra.referenced ? { referenced: extra.referenced } : {}),
    });
    this.allMessages.set(String(message.id), message);
    return message;
  }

  /** Matches `files[n]` parts to the payload's `attachments` entries (id n) for their names. */
  private async storeUploads(channelId: string, data: Json, files: readonly UploadedFile[]): Promise<Json[]> {
    const described = asArray(data.attachments).map(asObject);
    return Promise.all(
      files.map((file, index) => {
        const entry = described.find((candidate) => String(candidate.id) === String(index));
        const name = (entry && optionalString(entry, 'filename')) ?? file.name;
        return this.storeAttachment(channelId, { name, bytes: file.bytes, contentType: file.contentType });
      }),
    );
  }

  private async storeAttachment(channelId: string, file: AttachmentInput, ephemeral = false): Promise<Json> {
    const id = this.ids.next();
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(file.name)}`;
    this.attachmentFiles.set(path, { bytes: file.bytes, contentType: file.contentType });
    const url = `${this.httpRoot}${path}`;
    const attachment: Json = { id, filename: file.name, size: file.bytes.length, url, proxy_url: url, content_type: file.contentType };
    if (ephemeral) attachment.ephemeral = true;
    if (file.contentType.startsWith('image/')) {
      const metadata = await sharp(file.bytes)
        .metadata()
        .catch(() => undefined);
      if (metadata) Object.assign(attachment, { width: metadata.width, height: metadata.height });
    }
    return attachment;
  }

  private messageJson(input: {
    id: string;
    channelId: string;
    author: DiscordUser;
    content: string;
    attachments: Json[];
    flags?: number;
    embeds?: unknown[];
    mentionEveryone?: boolean;
    webhookId?: string;
    referenced?: Json;
    timestamp?: Date;
  }): Json {
    const guildId = this.guildIdOf(input.channelId);
    return {
      id: input.id,
      type: input.referenced ? 19 : 0,
      channel_id: input.channelId,
      guild_id: guildId,
      author: userJson(input.author),
      content: input.content,
      timestamp: (input.timestamp ?? new Date()).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: input.mentionEveryone ?? false,
      mentions: [],
      mention_roles: [],
      attachments: input.attachments,
      embeds: input.embeds ?? [],
      components: [],
      pinned: false,
      flags: input.flags ?? 0,
      ...(input.webhookId ? { webhook_id: input.webhookId, application_id: this.applicationId } : {}),
      ...(input.referenced
        ? {
            message_reference: { type: 0, message_id: input.referenced.id, channel_id: input.channelId, guild_id: guildId },
            referenced_message: input.referenced,
          }
        : {}),
    };
  }

  // ---- guilds ----------------------------------------------------------------------------------

  private guildState(guildId: string): GuildState {
    const guild = this.guilds.get(guildId);
    if (!guild) throw notFound('Guild', 10004);
    return guild;
  }

  private guildIdOf(channelId: string): string {
    const guildId = this.channelGuild.get(channelId);
    if (guildId === undefined) throw notFound('Channel', 10003);
    return guildId;
  }

  private guildJson(guild: GuildState): Json {
    return {
      id: guild.spec.id,
      name: guild.spec.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: guild.spec.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: guild.roles.map(roleJson),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      vanity_url_code: null,
      premium_tier: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
    };
  }

  private guildCreatePayload(guild: GuildState): Json {
    return {
      ...this.guildJson(guild),
      joined_at: guild.joinedAt,
      large: false,
      unavailable: false,
      member_count: guild.members.size,
      members: [...guild.members.values()].map((member) => this.memberJson(guild, member)),
      channels: guild.spec.channels.map((channel) => this.channelJson(channel, guild.spec.id)),
      threads: [...guild.threads.values()].filter((thread) => !thread.archived).map((thread) => threadJson(thread, guild.spec.id)),
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  private memberJson(guild: GuildState, member: MemberState): Json {
    return {
      user: userJson(member.user),
      nick: null,
      avatar: null,
      roles: member.roles,
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
      permissions: String(permissionsOf(guild, member)),
    };
  }
}

/** Owner and Administrator have everything; others the union of @everyone and their roles. */
function permissionsOf(guild: GuildState, member: MemberState): bigint {
  if (member.user.id === guild.spec.ownerId) return Permission.All;
  const granted = guild.roles.filter((role) => role.id === guild.spec.id || member.roles.includes(role.id)).reduce((all, role) => all | role.permissions, 0n);
  return (granted & Permission.Administrator) !== 0n ? Permission.All : granted;
}

function userJson(user: DiscordUser): Json {
  return { id: user.id, username: user.username, discriminator: '0', global_name: null, avatar: null, bot: user.bot ?? false, public_flags: 0 };
}

function roleJson(role: RoleState): Json {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: String(role.permissions),
    managed: role.managed,
    mentionable: false,
    flags: 0,
  };
}

function channelJson(channel: ChannelSpec, guildId: string, hiddenFrom: readonly string[]): Json {
  return {
    id: channel.id,
    type: 0,
    guild_id: guildId,
    name: channel.name,
    position: 0,
    // A member overwrite per user the channel is hidden from, as a private channel has.
    permission_overwrites: hiddenFrom.map((id) => ({ id, type: 1, allow: '0', deny: String(Permission.ViewChannel) })),
    topic: null,
    nsfw: false,
    last_message_id: null,
    rate_limit_per_user: 0,
    parent_id: null,
  };
}

/**
 * Whether a message the bot writes pings everyone: `@everyone` or `@here` in its content, and
 * `allowed_mentions` absent (Discord then parses every mention) or naming "everyone". The emulated
 * bot is taken to hold Mention Everyone, as a bot an admin set up often does.
 */
function pingsEveryone(content: string, data: Json): boolean {
  if (!/@(everyone|here)\b/.test(content)) return false;
  if (data.allowed_mentions === undefined || data.allowed_mentions === null) return true;
  return asArray(asObject(data.allowed_mentions).parse).includes('everyone');
}

function threadJson(thread: ThreadState, guildId: string): Json {
  return {
    id: thread.id,
    type: thread.private ? 12 : 11,
    guild_id: guildId,
    parent_id: thread.parentId,
    owner_id: thread.ownerId,
    name: thread.name,
    last_message_id: null,
    rate_limit_per_user: 0,
    message_count: 0,
    member_count: thread.members.size,
    total_message_sent: 0,
    flags: 0,
    thread_metadata: {
      archived: thread.archived,
      auto_archive_duration: 1440,
      archive_timestamp: thread.archivedAt,
      locked: false,
      // Private threads only: whether members who do not manage threads may add others.
      ...(thread.private ? { invitable: true } : {}),
      create_timestamp: thread.createdAt,
    },
  };
}

function sentFile(file: UploadedFile): SentFile {
  return { name: file.name, bytes: file.bytes, contentType: file.contentType };
}

function checkSize(files: readonly UploadedFile[], limit: number): void {
  // A message carries at most ten attachments; Discord refuses more as an invalid form body.
  if (files.length > 10) throw new DiscordApiError(400, 50035, 'Invalid Form Body');
  const total = files.reduce((sum, file) => sum + file.bytes.length, 0);
  if (total > limit) throw new DiscordApiError(413, 40005, 'Request entity too large');
}

/** A stable per-route bucket id, as Discord's X-RateLimit-Bucket. */
function bucketOf(method: string, path: string): string {
  return createHash('sha1')
    .update(`${method} ${path.replace(/\/\d{5,}/g, '/:id')}`)
    .digest('hex')
    .slice(0, 16);
}

/** IDENTIFY's `shard` as `[id, count]` (absent: `[0, 1]`), or undefined when Discord would refuse it (4010). */
function shardOfIdentify(value: unknown): Shard | undefined {
  if (value === undefined) return [0, 1];
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [id, count] = value as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(count)) return undefined;
  const shard: Shard = [id as number, count as number];
  return shard[1] >= 1 && shard[0] >= 0 && shard[0] < shard[1] ? shard : undefined;
}

function rawText(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw).toString('utf8');
}
