import {
  ChannelType,
  Client,
  type GuildMember,
  DiscordAPIError,
  RESTJSONErrorCodes,
  Events,
  GatewayIntentBits,
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  PermissionFlagsBits,
  Routes,
  TextInputBuilder,
  TextInputStyle,
  type Attachment,
  type ChatInputCommandInteraction,
  type Guild,
  type Interaction,
  type Message,
  type PermissionsBitField,
  type RepliableInteraction,
} from 'discord.js';
import { groupId, memberId, parseGroupId, type GroupId, type ImportCursors, type Log, type Platform } from '../../core/index.ts';
import type { Bot } from '../../bot/index.ts';
import { megabytes, NOT_ADMIN, type ChatContext, type ChatUser, type CommandArgs, type FetchedPhoto, type Syntax } from '../../bot/index.ts';
import { isPhotoName } from '../../files/index.ts';
import type { PhotoJobs } from '../../jobs/index.ts';
import { downloadLimited, Tracker, verifyAtStart } from '../shared/index.ts';
import { DiscordBackfill, IMPORT_COMMAND, archivedThreads } from './backfill.ts';
import { commandArgs, discordCommands, menuCommand } from './commands.ts';
import { describeShards, planShards, type DiscordShards, type ShardPlan } from './shards.ts';

export const DISCORD = 'discord' satisfies Platform;

const DEFAULT_API_ROOT = 'https://discord.com/api';

/** `allowed_mentions` that pings nobody, whatever the text says. */
const NO_PINGS = { parse: [] };

/** Discord's upload limit per file when an interaction does not say otherwise. */
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

export interface DiscordBotOptions {
  readonly token: string;
  /** The REST base (`https://discord.com/api` by default); the gateway address is read from it. */
  readonly apiRoot?: string;
  /** `guild`: one library per server; `channel`: one per channel. */
  readonly scope: 'guild' | 'channel';
  /** Ask for the privileged MessageContent intent (needed to see ordinary photos). */
  readonly messageContent: boolean;
  readonly maxDownloadBytes: number;
  readonly bot: Bot;
  readonly queue: PhotoJobs;
  readonly log: Log;
  /** Told when the gateway session is lost for good: the process should end so that it is restarted. */
  readonly onFatal?: (error: unknown) => void;
  /** The gateway shards this process runs; one shard (of one) when absent. */
  readonly shards?: DiscordShards;
  /** Where history imports keep their place: given, the bot has `/import`. */
  readonly importCursors?: ImportCursors;
  /** The group gallery, where it is set up: a signed link for one member of one server. */
  readonly galleryLink?: (group: GroupId, user: { readonly id: string; readonly name: string }) => string;
}

/**
 * Checks the token with GET /users/@me before anything slow starts, and, given `shards`, that the
 * shards to run exist: a one-line `StartupError` otherwise.
 */
export function verifyDiscord(options: {
  readonly token: string;
  readonly apiRoot?: string;
  readonly timeoutMs?: number;
  readonly shards?: DiscordShards;
}): Promise<unknown> {
  const root = options.apiRoot ?? DEFAULT_API_ROOT;
  return verifyAtStart('Discord', new URL(root).host, options.timeoutMs ?? 15_000, async (signal) => {
    const me = await getJson(root, options.token, '/users/@me', signal);
    if (options.shards) await planShards(options.shards, () => recommendedShards(root, options.token, signal));
    return me;
  });
}

/** A GET below /v10 with the bot token; an HTTP error carries its `status`, as `verifyAtStart` reads it. */
async function getJson(root: string, token: string, path: string, signal: AbortSignal): Promise<unknown> {
  const response = await fetch(`${root}/v10${path}`, { headers: { authorization: `Bot ${token}` }, signal });
  if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
  return response.json();
}

/** The shard count Discord recommends for the bot (GET /gateway/bot). */
async function recommendedShards(root: string, token: string, signal: AbortSignal): Promise<number> {
  const { shards } = (await getJson(root, token, '/gateway/bot', signal)) as { shards?: unknown };
  if (typeof shards !== 'number') throw new Error('GET /gateway/bot gave no shard count');
  return shards;
}

/**
 * The Discord adapter: turns gateway events and interactions into `ChatContext`s for the bot layer
 * and keeps Discord's quirks to itself (the 3 s deferral, ephemeral answers, forms for the message
 * menus, the MessageContent intent). Photos are downloaded at once (their URLs expire) and handed
 * to the durable queue. discord.js queues REST calls and honours rate limits itself. With
 * `shards`, the one client runs several gateway shards, or this process's share of them (see
 * shards.ts).
 */
export class DiscordBot {
  /** Made at start, once the shards are known. */
  private client: Client | undefined;
  private readonly tasks: Tracker;
  private readonly syntax: Syntax;
  private commandsOnly = false;
  private readonly backfill: DiscordBackfill | undefined;

  constructor(private readonly options: DiscordBotOptions) {
    if (!options.token) throw new Error('the Discord token is empty');
    this.tasks = new Tracker(options.log, 'Discord');
    this.syntax = discordSyntax(options.bot);
    if (options.importCursors) {
      this.backfill = new DiscordBackfill({
        rest: () => this.discord.rest,
        queue: options.queue,
        cursors: options.importCursors,
        log: options.log,
        maxDownloadBytes: options.maxDownloadBytes,
        platform: DISCORD,
        channelName: (id) => {
          const channel = this.client?.channels.cache.get(id);
          return channel && 'name' in channel && channel.name ? `#${channel.name}` : `channel ${id}`;
        },
        announce: async (channel, content) => {
          await this.discord.rest.post(Routes.channelMessages(channel), { body: { content, allowed_mentions: NO_PINGS } });
        },
      });
    }
  }

  /**
   * Resolves the shards (a `StartupError` for one that does not exist), logs in (without
   * MessageContent if Discord refuses it) and starts answering queued photos.
   */
  async start(): Promise<void> {
    const { token, apiRoot = DEFAULT_API_ROOT } = this.options;
    const plan = await verifyAtStart('Discord', new URL(apiRoot).host, 15_000, (signal) =>
      planShards(this.options.shards ?? { count: 1 }, () => recommendedShards(apiRoot, token, signal)),
    );
    this.options.log.info({ shards: plan.ids, shardCount: plan.count }, describeShards(plan));
    this.client = this.createClient(this.options.messageContent, plan);
    this.options.queue.onDone(DISCORD, (meta, result) => {
      const [channel, message] = [meta.source.chat!, meta.source.message!];
      const react = () => this.discord.rest.put(Routes.channelMessageOwnReaction(channel, message, encodeURIComponent('👍'))).then(() => undefined);
      return this.options.bot.answerPhoto({ reply: (text) => this.send(channel, message, text), react }, meta, result);
    });
    if (!this.options.messageContent) this.logCommandsOnly();
    try {
      await this.login();
    } catch (error) {
      if (!this.options.messageContent || !isDisallowedIntents(error)) throw error;
      // Close code 4014: the MessageContent intent is not enabled in the Developer Portal.
      await this.client.destroy();
      this.client = this.createClient(false, plan);
      this.logCommandsOnly();
      await this.login();
    }
    this.options.log.info({ bot: this.client.user?.username, guilds: this.client.guilds.cache.size }, 'Discord bot started');
  }

  /** The client, once `start` made it: events and answers come only after that. */
  private get discord(): Client {
    if (!this.client) throw new Error('the Discord bot is not started');
    return this.client;
  }

  /** For /readyz: resolves while the gateway session is up, rejects saying why otherwise. */
  readiness(): Promise<void> {
    return this.client?.isReady() ? Promise.resolve() : Promise.reject(new Error('not connected to the Discord gateway'));
  }

  /** Resolves when no download, command or reply of this adapter is in progress. */
  async idle(): Promise<void> {
    do {
      await this.tasks.idle();
      await this.options.queue.idle();
    } while (this.tasks.size > 0);
  }

  /** Stops taking events, then lets the running commands finish; an import is left to resume at the next start. */
  async stop(): Promise<void> {
    await this.backfill?.stop();
    await this.client?.destroy();
    await this.tasks.idle();
  }

  private createClient(messageContent: boolean, plan: ShardPlan): Client {
    const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, ...(messageContent ? [GatewayIntentBits.MessageContent] : [])];
    const client = new Client({
      intents,
      shards: [...plan.ids],
      shardCount: plan.count,
      ...(this.options.apiRoot ? { rest: { api: this.options.apiRoot } } : {}),
    });
    // Once every shard of this process is ready, with the servers of all of them.
    client.on(Events.ClientReady, (ready) => {
      for (const guild of ready.guilds.cache.values()) void this.tasks.track(this.register(guild));
      // Imports an earlier run left half way go on, for the servers of this process's shards.
      if (this.backfill) {
        const mine = (group: string) => {
          const ref = parseGroupId(group);
          return ref?.platform === DISCORD && ready.guilds.cache.has(ref.guildId);
        };
        void this.tasks.track(this.backfill.resume(mine).then(() => undefined));
      }
      // A server that removed the bot while it was offline sends no GuildDelete: it is just missing.
      // Only a process that runs every shard sees all the servers; one that runs some cannot tell
      // a server it left from one on another process's shard, so it leaves the groups alone.
      if (plan.ids.length < plan.count) return;
      const servers = new Set(ready.guilds.cache.keys());
      void this.tasks.track(this.options.bot.reconcile(DISCORD, (group) => group.platform === DISCORD && servers.has(group.guildId)));
    });
    client.on(Events.GuildCreate, (guild) => {
      void this.tasks.track(this.register(guild));
      for (const group of this.groupsOf(guild)) void this.tasks.track(this.options.bot.addedTo(group));
    });
    // Removed from a server (an outage is GuildUnavailable, not this): erased after the grace period.
    client.on(Events.GuildDelete, (guild) => {
      for (const group of this.groupsOf(guild)) {
        void this.tasks.track(this.options.bot.removedFrom(group));
        // Its history is no longer ours to read: an import stops and is not resumed if the bot comes back.
        if (this.backfill) void this.tasks.track(this.backfill.cancel(group).then(() => undefined));
      }
    });
    client.on(Events.MessageCreate, (message) => void this.tasks.track(this.onMessage(message)));
    client.on(Events.InteractionCreate, (interaction) => void this.tasks.track(this.onInteraction(interaction)));
    client.on(Events.Error, (error) => this.options.log.error({ err: error }, 'Discord client error'));
    client.on(Events.Invalidated, () => {
      const error = new Error('the Discord session was invalidated and cannot be resumed');
      this.options.log.error({ err: error }, 'Discord connection lost for good');
      this.options.onFatal?.(error);
    });
    return client;
  }

  private async login(): Promise<void> {
    const ready = new Promise<void>((resolve) => this.discord.once(Events.ClientReady, () => resolve()));
    await this.discord.login(this.options.token);
    await ready;
  }

  private logCommandsOnly(): void {
    if (this.commandsOnly) return;
    this.commandsOnly = true;
    this.options.log.warn(
      {},
      'Discord: without the Message Content intent I cannot see photos posted in channels; only the slash commands work. Enable it in the Developer Portal (Bot, Privileged Gateway Intents).',
    );
  }

  private async register(guild: Guild): Promise<void> {
    try {
      await guild.commands.set([...discordCommands(this.options.bot.commands), ...(this.backfill ? [IMPORT_COMMAND] : [])]);
    } catch (error) {
      this.options.log.error({ err: error, guild: guild.id }, 'could not register the slash commands');
    }
  }

  private async onMessage(message: Message): Promise<void> {
    // The bot's own messages come back as events: never file its zips, nor other bots' posts.
    if (message.author.bot || !message.inGuild()) return;
    const images = [...message.attachments.values()].filter(isImage);
    if (images.length === 0) return;
    const limit = this.options.maxDownloadBytes;
    await this.options.bot.photosPosted({
      platform: DISCORD,
      group: this.groupOf(message.guildId, message.channelId),
      caller: callerOf(message.author.id, message.member?.displayName ?? message.author.displayName),
      postedAt: message.createdAt,
      source: { chat: message.channelId, message: message.id },
      photos: images.map((image) => ({
        fileId: image.id,
        fileName: image.name,
        download: async () => (image.size > limit ? undefined : downloadLimited(image.url, limit)),
      })),
      downloadLimitBytes: limit,
      reply: (text) => this.send(message.channelId, message.id, text),
      tooLarge: this.syntax.tooLarge,
    });
  }

  private async send(channel: string, messageId: string, content: string): Promise<void> {
    await this.discord.rest.post(Routes.channelMessages(channel), {
      body: { content, message_reference: { message_id: messageId, fail_if_not_exists: false }, allowed_mentions: { parse: [] } },
    });
  }

  private async onInteraction(interaction: Interaction): Promise<void> {
    if (!interaction.isRepliable()) return;
    if (!interaction.inGuild()) {
      await interaction.reply({ content: 'I work in servers only.', flags: MessageFlags.Ephemeral });
      return;
    }
    if (interaction.isMessageContextMenuCommand()) {
      // The menus need a name: a form asks for it; the photo is read when the form comes back.
      const command = menuCommand(this.options.bot.commands, interaction.commandName);
      const target = interaction.targetMessage;
      if (!command?.messageMenu) return;
      if (![...target.attachments.values()].some(isImage)) {
        await interaction.reply({ content: 'That message has no photo.', flags: MessageFlags.Ephemeral });
        return;
      }
      const { title, field, prompt } = command.messageMenu;
      const input = new TextInputBuilder().setCustomId(field).setStyle(TextInputStyle.Short).setRequired(true).setMaxLength(100);
      const modal = new ModalBuilder()
        .setCustomId(`${command.name}:${target.channelId}:${target.id}`)
        .setTitle(title)
        .addLabelComponents(new LabelBuilder().setLabel(prompt).setTextInputComponent(input));
      await interaction.showModal(modal);
      return;
    }
    let name: string;
    let args: CommandArgs;
    let photo: () => Promise<FetchedPhoto>;
    if (interaction.isChatInputCommand() && interaction.commandName === IMPORT_COMMAND.name && this.backfill) {
      await this.onImport(interaction, this.backfill);
      return;
    }
    if (interaction.isChatInputCommand()) {
      name = interaction.commandName;
      args = commandArgs(this.options.bot.find(name), interaction.options);
      const attachment = interaction.options.getAttachment('photo');
      photo = () => this.fetch(attachment, interaction.createdAt, { chat: interaction.channelId, interaction: interaction.id });
    } else if (interaction.isModalSubmit()) {
      const [kind, channelId, messageId] = interaction.customId.split(':');
      const field = kind ? this.options.bot.find(kind)?.messageMenu?.field : undefined;
      if (!kind || !field || !channelId || !messageId) return;
      name = kind;
      args = { [field]: interaction.fields.getTextInputValue(field).trim() };
      photo = async () => {
        // The form carries the channel id it was opened in: only trusted for a channel of this
        // server that the member can see.
        if (!(await this.canView(interaction.guildId, interaction.user.id, channelId, 'permissionsIn' in interaction.member ? interaction.member : undefined)))
          return { kind: 'none' };
        const channel = await this.discord.channels.fetch(channelId);
        if (!channel?.isTextBased()) return { kind: 'none' };
        const message = await channel.messages.fetch(messageId);
        return this.fetch([...message.attachments.values()].find(isImage) ?? null, message.createdAt, { chat: channelId, message: messageId });
      };
    } else {
      return;
    }
    const ctx = this.contextOf(interaction, photo);
    await this.options.bot.command(ctx, name, args);
  }

  /**
   * `/import`: starts an import of the server's history (every text channel, or the one given), or
   * shows the one under way in this private answer from now on, or cancels it. Admins only.
   */
  private async onImport(interaction: ChatInputCommandInteraction<'cached' | 'raw'>, backfill: DiscordBackfill): Promise<void> {
    const permissions = interaction.memberPermissions;
    const reply = (content: string) => interaction.editReply({ content, allowedMentions: NO_PINGS }).then(() => undefined);
    if (!permissions.has(PermissionFlagsBits.ManageGuild) && !permissions.has(PermissionFlagsBits.Administrator)) {
      await interaction.reply({ content: NOT_ADMIN, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const group = this.groupOf(interaction.guildId, interaction.channelId);
    if (interaction.options.getBoolean('cancel') === true) {
      const last = await backfill.cancel(group);
      await reply(last ?? 'No import is under way.');
      return;
    }
    const chosen = interaction.options.get('channel')?.value;
    const guild = this.discord.guilds.cache.get(interaction.guildId);
    let channels: string[];
    if (typeof chosen === 'string') {
      if (!guild?.channels.cache.has(chosen)) return reply('That channel is not one of this server.');
      if (this.options.scope === 'channel' && chosen !== interaction.channelId)
        return reply('Each channel is its own library here: run /import in that channel.');
      channels = [chosen];
    } else if (this.options.scope === 'channel') {
      channels = [interaction.channelId];
    } else {
      channels = [...(guild?.channels.cache.values() ?? [])]
        .filter((c) => c.type === ChannelType.GuildText || c.type === ChannelType.GuildAnnouncement)
        .sort((a, b) => ('position' in a && 'position' in b ? a.position - b.position : 0) || (a.id < b.id ? -1 : 1))
        .map((c) => c.id);
    }
    if (channels.length === 0) return reply('This server has no text channel to import.');
    // A server-wide library takes a channel's threads with it, each right after its channel: the
    // active ones the client holds, and the archived ones Discord lists (public, and private ones
    // the bot was added to). Their photos keep the thread as their channel, so its walls hold.
    if (this.options.scope === 'guild' && guild) {
      const withThreads: string[] = [];
      for (const channel of channels) {
        const active = [...guild.channels.cache.values()].filter((c) => c.isThread() && c.parentId === channel).map((c) => c.id);
        const archived = await archivedThreads(this.discord.rest, channel).catch((error: unknown) => {
          this.options.log.warn({ err: error, channel }, 'the archived threads of a channel could not be listed for the import');
          return [];
        });
        withThreads.push(channel, ...new Set([...active.sort(), ...archived]));
      }
      channels = withThreads;
    }
    await backfill.start({
      group,
      channels,
      requestedBy: memberId(DISCORD, interaction.user.id),
      reporter: { update: reply },
      announceIn: interaction.channelId,
    });
  }

  private contextOf(interaction: RepliableInteraction<'cached' | 'raw'>, photo: () => Promise<FetchedPhoto>): ChatContext {
    // The first answer fills the deferred reply (or, not deferred, is a reply only the caller sees);
    // the ones after it follow up.
    let answered = false;
    let privately = false;
    const answer = async (content: string, files: { attachment: Buffer | string; name: string }[] = []) => {
      // Answers echo names people typed ("@everyone", "<@id>"): they never ping anyone.
      const message = { content, files, allowedMentions: NO_PINGS };
      // Follow-ups are not private by themselves, even after a private deferral: each says so.
      if (answered) await interaction.followUp({ ...message, ...(privately ? { flags: MessageFlags.Ephemeral } : {}) });
      else if (interaction.deferred) await interaction.editReply(message);
      else await interaction.reply({ ...message, flags: MessageFlags.Ephemeral });
      answered = true;
    };
    const permissions = interaction.memberPermissions;
    const member = interaction.member;
    return {
      group: this.groupOf(interaction.guildId, interaction.channelId),
      caller: callerOf(interaction.user.id, 'displayName' in member ? member.displayName : interaction.user.displayName),
      syntax: this.syntax,
      uploadLimitBytes: interaction.attachmentSizeLimit || DEFAULT_UPLOAD_LIMIT,
      isAdmin: () => Promise.resolve(permissions.has(PermissionFlagsBits.ManageGuild) || permissions.has(PermissionFlagsBits.Administrator)),
      photo,
      defer: async (how) => {
        if (interaction.deferred || interaction.replied) return;
        privately = how?.private ?? false;
        await interaction.deferReply(privately ? { flags: MessageFlags.Ephemeral } : {});
      },
      reply: (text) => answer(text),
      replyImage: (png, fileName, caption) => answer(caption, [{ attachment: Buffer.from(png), name: fileName }]),
      sendFiles: async (files) => {
        for await (const file of files) await answer(file.caption, [{ attachment: file.path, name: file.name }]);
      },
      // Up to ten attachments in one message: Discord shows them together, as a gallery.
      sendPhotos: (photos) =>
        answer(
          '',
          photos.map((p) => ({ attachment: p.path, name: p.name })),
        ),
      // A server is one library, but each channel has its own walls: the caller gets only what was
      // posted where they can look. A channel-scoped library is one channel, seen by whoever asks.
      ...(this.options.scope === 'guild'
        ? {
            canSee: memo((source: Readonly<Record<string, string>>) =>
              this.canView(interaction.guildId, interaction.user.id, source.chat, 'permissionsIn' in interaction.member ? interaction.member : undefined),
            ),
          }
        : {}),
      ...(this.options.galleryLink
        ? {
            galleryLink: () => ({
              url: this.options.galleryLink!(this.groupOf(interaction.guildId, interaction.channelId), {
                id: interaction.user.id,
                name: 'displayName' in member ? member.displayName : interaction.user.displayName,
              }),
              personal: true,
            }),
          }
        : {}),
    };
  }

  /**
   * For the gallery: whether a user is a member of the server now, and which photos they may see
   * (the channels they can view); undefined when they are not. A channel-scoped library needs the
   * channel itself in view. Read through the REST API where this process's shards do not hold the
   * server: any process behind the balancer can answer.
   */
  async galleryMember(
    group: GroupId,
    userId: string,
  ): Promise<{ readonly canSee?: (source: Readonly<Record<string, string>>) => Promise<boolean>; readonly admin: boolean } | undefined> {
    const ref = parseGroupId(group);
    if (ref?.platform !== DISCORD || !/^\d{1,20}$/.test(userId)) return undefined;
    const guild = this.discord.guilds.cache.get(ref.guildId) ?? (await this.discord.guilds.fetch(ref.guildId).catch(() => null));
    const member = await guild?.members.fetch(userId).catch(() => null);
    if (!guild || !member) return undefined;
    // The same admins as the commands': Manage Server or Administrator.
    const admin = member.permissions.has(PermissionFlagsBits.ManageGuild) || member.permissions.has(PermissionFlagsBits.Administrator);
    if (ref.channelId !== undefined) return (await this.canView(guild.id, userId, ref.channelId, member)) ? { admin } : undefined;
    return { admin, canSee: memo((source: Readonly<Record<string, string>>) => this.canView(guild.id, userId, source.chat, member)) };
  }

  /** Whether a member may view a channel of a server (a photo with no channel is anyone's in it). */
  private async canView(guildId: string, userId: string, channelId: string | undefined, given?: GuildMember): Promise<boolean> {
    if (channelId === undefined) return true;
    const guild = this.discord.guilds.cache.get(guildId) ?? (await this.discord.guilds.fetch(guildId).catch(() => null));
    const channel = guild?.channels.cache.get(channelId) ?? (await guild?.channels.fetch(channelId).catch(() => null));
    if (!guild || !channel || channel.guildId !== guildId) return false;
    const member = given ?? (await guild.members.fetch(userId).catch(() => null));
    if (member === null) return false;
    // discord.js gives a thread its parent's permissions: a private thread is seen only by its
    // members and by those who manage threads, as Discord shows it.
    // Null at run time for a thread whose parent is not cached, whatever the typings say.
    const permissions = channel.permissionsFor(member) as Readonly<PermissionsBitField> | null;
    if (!permissions?.has(PermissionFlagsBits.ViewChannel)) return false;
    if (channel.type !== ChannelType.PrivateThread || permissions.has(PermissionFlagsBits.ManageThreads)) return true;
    try {
      await channel.members.fetch({ member: userId, force: true });
      return true;
    } catch (error) {
      if (!(error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownMember))
        this.options.log.warn({ err: error, channel: channelId }, 'could not check who is in a private thread: it is treated as closed');
      return false;
    }
  }

  /** An attachment's bytes for a command, with the record's ids. */
  private async fetch(attachment: Attachment | null, postedAt: Date, source: Record<string, string>): Promise<FetchedPhoto> {
    if (!attachment) return { kind: 'none' };
    const limitBytes = this.options.maxDownloadBytes;
    const bytes = attachment.size > limitBytes ? undefined : await downloadLimited(attachment.url, limitBytes);
    if (!bytes) return { kind: 'too-large', limitBytes };
    return { kind: 'photo', bytes, postedAt, source: { ...source, file: attachment.id }, fileName: attachment.name };
  }

  /** The libraries a server holds: itself, or one per channel. */
  private groupsOf(guild: Guild): string[] {
    return this.options.scope === 'channel'
      ? [...guild.channels.cache.keys()].map((channel) => this.groupOf(guild.id, channel))
      : [this.groupOf(guild.id, null)];
  }

  private groupOf(guildId: string, channelId: string | null): string {
    return groupId({ platform: DISCORD, guildId, ...(this.options.scope === 'channel' && channelId ? { channelId } : {}) });
  }
}

/** How commands are written on Discord: slash commands with named options, menus on messages. */
function discordSyntax(bot: Bot): Syntax {
  return {
    command(name, args = {}) {
      const options = bot.find(name)?.options ?? [];
      const typed = Object.entries(args).map(([key, value]) => (options.find((o) => o.name === key)?.type === 'boolean' ? `${key}:True` : `${key}:${value}`));
      const photo = options.some((o) => o.type === 'photo' && o.required) && !('photo' in args) ? ['photo:'] : [];
      return [`/${name}`, ...typed, ...photo].join(' ');
    },
    withPhoto: 'with the photo attached',
    onPostedPhoto: 'with the same photo',
    enrollMe: '/enroll me:True',
    notThis: '"Not this person" in the Apps menu of a photo filed under the wrong person',
    seeing:
      'On Discord I see photos posted in channels only when my Message Content intent is enabled; the slash commands work either way. A server is one library (or each channel, if the bot owner set it so).',
    tooLarge: (limit, fileName) => `${fileName ?? 'That photo'} is larger than ${megabytes(limit)}, so I can't file it.`,
  };
}

/** One answer per channel for the length of one command: an album asks about each photo. */
function memo(check: (source: Readonly<Record<string, string>>) => Promise<boolean>): (source: Readonly<Record<string, string>>) => Promise<boolean> {
  const seen = new Map<string, Promise<boolean>>();
  return (source) => {
    const key = source['chat'] ?? '';
    let answer = seen.get(key);
    if (!answer) {
      answer = check(source);
      seen.set(key, answer);
    }
    return answer;
  };
}

function isImage(attachment: Attachment): boolean {
  return attachment.contentType?.startsWith('image/') === true || isPhotoName(attachment.name);
}

function callerOf(id: string, displayName: string): ChatUser {
  return { id: memberId(DISCORD, id), displayName };
}

function isDisallowedIntents(error: unknown): boolean {
  const text = error instanceof Error ? `${error.name} ${error.message} ${(error as { code?: unknown }).code as string}` : String(error);
  return /disallowed ?intents|4014/i.test(text);
}
