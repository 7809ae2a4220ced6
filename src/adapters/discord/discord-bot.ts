import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  Client,
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
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
  type RESTPostAPIApplicationCommandsJSONBody,
  type RepliableInteraction,
  type User,
} from 'discord.js';
import type { GroupId, Log } from '../../core/index.ts';
import { describeError } from '../../core/index.ts';
import type { PhotoLibrary } from '../../core/library/index.ts';
import { isPhotoName } from '../../files/index.ts';
import type { PhotoJobMeta, PhotoQueue } from '../shared/photo-queue.ts';
import * as replies from '../shared/replies.ts';

export const DISCORD = 'discord';

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
  readonly library: PhotoLibrary;
  readonly queue: PhotoQueue;
  readonly log: Log;
}

const ENROLL_FROM_MESSAGE = 'Enroll a face from this photo';
const NOT_THIS_PERSON = 'Not this person';
const MANAGE = PermissionFlagsBits.ManageGuild.toString();

const COMMANDS: RESTPostAPIApplicationCommandsJSONBody[] = [
  {
    name: 'enroll',
    description: 'Teach me a face from a photo',
    options: [
      { name: 'name', description: 'Who it is', type: ApplicationCommandOptionType.String, required: true },
      { name: 'photo', description: 'A photo of them', type: ApplicationCommandOptionType.Attachment, required: true },
      { name: 'face', description: 'Which face, when the photo has several', type: ApplicationCommandOptionType.Integer, min_value: 1 },
      { name: 'me', description: 'It is me: link my account', type: ApplicationCommandOptionType.Boolean },
    ],
  },
  { name: 'album', description: "Someone's photos as zip files", options: [{ name: 'name', description: 'Whose album', type: ApplicationCommandOptionType.String, required: true }] },
  { name: 'people', description: 'Who is enrolled' },
  { name: 'unknown', description: 'Faces that keep turning up' },
  {
    name: 'name',
    description: 'Name a face that keeps turning up',
    options: [
      { name: 'cluster', description: 'The number from /unknown', type: ApplicationCommandOptionType.Integer, required: true },
      { name: 'name', description: 'Who it is', type: ApplicationCommandOptionType.String, required: true },
    ],
  },
  { name: 'stats', description: 'How many photos, faces and people' },
  { name: 'help', description: 'What I do and what I store' },
  {
    name: 'threshold',
    description: 'Admins: show or set the match threshold',
    default_member_permissions: MANAGE,
    options: [
      { name: 'value', description: 'The new threshold', type: ApplicationCommandOptionType.Number },
      { name: 'report', description: 'Plot how people match', type: ApplicationCommandOptionType.Boolean },
    ],
  },
  {
    name: 'settings',
    description: 'Admins: quiet or summary replies to photos',
    default_member_permissions: MANAGE,
    options: [
      {
        name: 'mode',
        description: 'How I answer photos',
        type: ApplicationCommandOptionType.String,
        choices: [
          { name: 'quiet', value: 'quiet' },
          { name: 'summary', value: 'summary' },
        ],
      },
    ],
  },
  {
    name: 'forget',
    description: 'Admins: forget a person. Anyone: name "me" forgets you',
    default_member_permissions: MANAGE,
    options: [{ name: 'name', description: 'Who, or "me"', type: ApplicationCommandOptionType.String, required: true }],
  },
  { name: ENROLL_FROM_MESSAGE, type: ApplicationCommandType.Message },
  { name: NOT_THIS_PERSON, type: ApplicationCommandType.Message },
];

/**
 * The Discord adapter: turns gateway events into library calls and results into replies, with no
 * business logic of its own. Photos are downloaded at once (their URLs expire) and handed to the
 * durable queue; every interaction is answered or deferred before the library is touched, since
 * Discord gives 3 s. discord.js queues REST calls and honours rate limits itself.
 */
export class DiscordBot {
  private client: Client;
  private readonly running = new Set<Promise<void>>();
  private commandsOnly = false;

  constructor(private readonly options: DiscordBotOptions) {
    if (!options.token) throw new Error('the Discord token is empty');
    this.client = this.createClient(options.messageContent);
  }

  /** Logs in (without MessageContent if Discord refuses it) and starts answering queued photos. */
  async start(): Promise<void> {
    this.options.queue.onDone(DISCORD, (meta, result) => this.answerPhoto(meta, result));
    if (!this.options.messageContent) this.logCommandsOnly();
    try {
      await this.login();
    } catch (error) {
      if (!this.options.messageContent || !isDisallowedIntents(error)) throw error;
      // Close code 4014: the MessageContent intent is not enabled in the Developer Portal.
      await this.client.destroy();
      this.client = this.createClient(false);
      this.logCommandsOnly();
      await this.login();
    }
    this.options.log.info({ bot: this.client.user?.username, guilds: this.client.guilds.cache.size }, 'Discord bot started');
  }

  /** Resolves when no download, command or reply of this adapter is in progress. */
  async idle(): Promise<void> {
    do {
      while (this.running.size > 0) await Promise.allSettled([...this.running]);
      await this.options.queue.idle();
    } while (this.running.size > 0);
  }

  /** Stops taking events, then lets the running commands finish. */
  async stop(): Promise<void> {
    await this.client.destroy();
    await Promise.allSettled([...this.running]);
  }

  private createClient(messageContent: boolean): Client {
    const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, ...(messageContent ? [GatewayIntentBits.MessageContent] : [])];
    const client = new Client({ intents, ...(this.options.apiRoot ? { rest: { api: this.options.apiRoot } } : {}) });
    client.on(Events.ClientReady, (ready) => {
      for (const guild of ready.guilds.cache.values()) void this.track(this.register(guild));
    });
    client.on(Events.GuildCreate, (guild) => void this.track(this.register(guild)));
    client.on(Events.MessageCreate, (message) => void this.track(this.onMessage(message)));
    client.on(Events.InteractionCreate, (interaction) => void this.track(this.onInteraction(interaction)));
    client.on(Events.Error, (error) => this.options.log.error({ err: error }, 'Discord client error'));
    return client;
  }

  private async login(): Promise<void> {
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    await this.client.login(this.options.token);
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
      await guild.commands.set(COMMANDS);
    } catch (error) {
      this.options.log.error({ err: error, guild: guild.id }, 'could not register the slash commands');
    }
  }

  private async onMessage(message: Message): Promise<void> {
    // The bot's own messages come back as events: never file its zips, nor other bots' posts.
    if (message.author.bot || !message.inGuild()) return;
    const images = [...message.attachments.values()].filter(isImage);
    if (images.length === 0) return;
    const group = this.groupOf(message.guildId, message.channelId);
    try {
      const limit = this.options.maxDownloadBytes;
      // All at once: attachment URLs expire.
      const downloads = await Promise.all(images.map(async (image) => (image.size > limit ? undefined : download(image.url, limit))));
      for (const [i, bytes] of downloads.entries()) {
        const image = images[i]!;
        if (!bytes) {
          await this.send(message.channelId, message.id, `${image.name} is larger than ${Math.round(limit / 1_000_000)} MB, so I can't file it.`);
          continue;
        }
        const meta: PhotoJobMeta = {
          platform: DISCORD,
          group,
          postedAt: message.createdAt.toISOString(),
          postedBy: userOf(message.author),
          originalName: image.name,
          source: { chat: message.channelId, message: message.id, file: image.id },
        };
        await this.options.queue.add(bytes, meta);
      }
    } catch (error) {
      this.options.log.error({ err: error, channel: message.channelId, reason: describeError(error) }, 'a photo could not be queued');
      await this.send(message.channelId, message.id, replies.BUSY);
    }
  }

  /** After the queue filed a photo: a reaction, a one-line summary, or the reason it failed. */
  private async answerPhoto(meta: PhotoJobMeta, result: Parameters<typeof replies.photoError>[0]): Promise<void> {
    const channel = meta.source.chat!;
    const messageId = meta.source.message!;
    const error = replies.photoError(result);
    if (error) return this.send(channel, messageId, `${meta.originalName ? `${meta.originalName}: ` : ''}${error}`);
    if (result.kind === 'failed' || result.kind === 'undecodable') return;
    const { replyMode } = await this.options.library.settings(meta.group);
    if (replyMode === 'summary') {
      const text = replies.ingestSummary(result);
      if (text) await this.send(channel, messageId, text);
      return;
    }
    if (result.people.length > 0) await this.client.rest.put(Routes.channelMessageOwnReaction(channel, messageId, encodeURIComponent('👍')));
  }

  private async send(channel: string, messageId: string, content: string): Promise<void> {
    await this.client.rest.post(Routes.channelMessages(channel), {
      body: { content, message_reference: { message_id: messageId, fail_if_not_exists: false }, allowed_mentions: { parse: [] } },
    });
  }

  private async onInteraction(interaction: Interaction): Promise<void> {
    if (!interaction.isRepliable()) return;
    try {
      if (!interaction.inGuild()) {
        await interaction.reply({ content: 'I work in servers only.', flags: MessageFlags.Ephemeral });
        return;
      }
      if (interaction.isChatInputCommand()) await this.runCommand(interaction);
      else if (interaction.isMessageContextMenuCommand()) await this.contextMenu(interaction);
      else if (interaction.isModalSubmit()) await this.modalSubmit(interaction);
    } catch (error) {
      this.options.log.error({ err: error, guild: interaction.guildId, reason: describeError(error) }, 'a Discord interaction failed');
      await this.answer(interaction, replies.BUSY).catch(() => undefined);
    }
  }

  /** A reply, an edit of the deferred reply, whichever the interaction is ready for. */
  private async answer(interaction: RepliableInteraction, content: string, files: { attachment: Buffer; name: string }[] = []): Promise<void> {
    if (interaction.deferred || interaction.replied) await interaction.editReply({ content, files });
    else await interaction.reply({ content, files, flags: MessageFlags.Ephemeral });
  }

  private async runCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const group = this.groupOf(interaction.guildId!, interaction.channelId);
    const library = this.options.library;
    const options = interaction.options;
    switch (interaction.commandName) {
      case 'help':
        return this.answer(interaction, replies.helpText(HELP_SEEING));
      case 'enroll':
        return this.enroll(interaction, group);
      case 'album':
        return this.album(interaction, group, options.getString('name', true).trim());
      case 'people':
        await interaction.deferReply();
        return this.answer(interaction, replies.peopleReply(await library.people(group)));
      case 'unknown': {
        await interaction.deferReply();
        const result = await library.unknownClusters(group);
        return this.answer(interaction, replies.unknownReply(result), result.sheet ? [{ attachment: Buffer.from(result.sheet), name: 'faces.png' }] : []);
      }
      case 'name': {
        await interaction.deferReply();
        const result = await library.nameCluster(group, options.getInteger('cluster', true), options.getString('name', true), userOf(interaction.user));
        return this.answer(interaction, replies.nameClusterReply(result));
      }
      case 'stats':
        await interaction.deferReply();
        return this.answer(interaction, replies.statsReply(await library.stats(group)));
      case 'threshold':
        return this.threshold(interaction, group);
      case 'settings':
        return this.settings(interaction, group);
      case 'forget':
        return this.forget(interaction, group, options.getString('name', true).trim());
      default:
        return this.answer(interaction, 'I do not know that command.');
    }
  }

  private async enroll(interaction: ChatInputCommandInteraction, group: GroupId): Promise<void> {
    await interaction.deferReply();
    const me = interaction.options.getBoolean('me') ?? false;
    const name = me ? (interaction.member && 'displayName' in interaction.member ? interaction.member.displayName : interaction.user.displayName) : interaction.options.getString('name', true);
    const face = interaction.options.getInteger('face') ?? undefined;
    const photo = interaction.options.getAttachment('photo', true);
    const bytes = await download(photo.url, this.options.maxDownloadBytes);
    if (!bytes) return this.answer(interaction, `That photo is larger than ${Math.round(this.options.maxDownloadBytes / 1_000_000)} MB.`);
    const result = await this.options.library.enroll(group, {
      name,
      photo: { bytes, postedAt: interaction.createdAt, source: { chat: interaction.channelId, interaction: interaction.id, file: photo.id } },
      ...(face !== undefined ? { face } : {}),
      ...(me ? { userId: userOf(interaction.user) } : {}),
      by: userOf(interaction.user),
    });
    if (result.kind === 'choose-face') {
      return this.answer(interaction, `I see ${result.faces} faces. Which one is ${name}? Run /enroll again with the same photo and face:<number>.`, [
        { attachment: Buffer.from(result.sheet), name: 'faces.png' },
      ]);
    }
    return this.answer(interaction, replies.enrollReply(result, name));
  }

  private async album(interaction: ChatInputCommandInteraction, group: GroupId, name: string): Promise<void> {
    await interaction.deferReply();
    const limit = interaction.attachmentSizeLimit || DEFAULT_UPLOAD_LIMIT;
    const result = await this.options.library.album(group, name, limit);
    switch (result.kind) {
      case 'unknown-person':
        return this.answer(interaction, replies.unknownPeopleReply(result.people));
      case 'empty':
        return this.answer(interaction, replies.albumEmptyReply(result.person.name));
      case 'album-photos':
        return this.answer(interaction, replies.albumEmptyReply(name));
      case 'album':
        try {
          const { parts, tooLarge } = result.export;
          await interaction.editReply(`${result.person.name}: ${parts.length} zip ${parts.length === 1 ? 'file' : 'files'}.`);
          for (const part of parts) {
            await interaction.followUp({ content: `${part.photos} photos`, files: [{ attachment: part.path, name: part.fileName }] });
          }
          if (tooLarge.length > 0) await interaction.followUp(replies.albumTooLargeReply(tooLarge.map((e) => e.name), limit));
        } finally {
          await result.export.dispose();
        }
    }
  }

  private async threshold(interaction: ChatInputCommandInteraction, group: GroupId): Promise<void> {
    if (!isAdmin(interaction)) return this.answer(interaction, replies.NOT_ADMIN);
    await interaction.deferReply();
    const library = this.options.library;
    const value = interaction.options.getNumber('value') ?? undefined;
    if (interaction.options.getBoolean('report')) {
      const report = await library.thresholdReport(group, value);
      return this.answer(interaction, replies.thresholdReportCaption(report), [{ attachment: Buffer.from(report.plot), name: 'threshold.png' }]);
    }
    if (value === undefined) return this.answer(interaction, replies.thresholdReply((await library.settings(group)).threshold));
    return this.answer(interaction, replies.setThresholdReply(await library.setThreshold(group, value)));
  }

  private async settings(interaction: ChatInputCommandInteraction, group: GroupId): Promise<void> {
    if (!isAdmin(interaction)) return this.answer(interaction, replies.NOT_ADMIN);
    await interaction.deferReply();
    const mode = interaction.options.getString('mode');
    if (mode === 'quiet' || mode === 'summary') {
      await this.options.library.setReplyMode(group, mode);
      return this.answer(interaction, mode === 'quiet' ? 'I will stay quiet about photos (a 👍 when I file one).' : 'I will reply to each photo with who I filed it under.');
    }
    const settings = await this.options.library.settings(group);
    return this.answer(interaction, `Replies to photos: ${settings.replyMode}. Threshold: ${settings.threshold.toFixed(3)}.\nChange with /settings mode:quiet or mode:summary.`);
  }

  private async forget(interaction: ChatInputCommandInteraction, group: GroupId, name: string): Promise<void> {
    if (name.toLowerCase() === 'me') {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      return this.answer(interaction, replies.forgetReply(await this.options.library.forget(group, { userId: userOf(interaction.user) })));
    }
    if (!isAdmin(interaction)) return this.answer(interaction, `${replies.NOT_ADMIN} (/forget name:me works for anyone.)`);
    await interaction.deferReply();
    return this.answer(interaction, replies.forgetReply(await this.options.library.forget(group, { name })));
  }

  /** Both context-menu commands need a name: a modal asks for it; the photo is read on submit. */
  private async contextMenu(interaction: MessageContextMenuCommandInteraction): Promise<void> {
    const target = interaction.targetMessage;
    if (![...target.attachments.values()].some(isImage)) return this.answer(interaction, 'That message has no photo.');
    const enroll = interaction.commandName === ENROLL_FROM_MESSAGE;
    const input = new TextInputBuilder().setCustomId('name').setStyle(TextInputStyle.Short).setRequired(true).setMaxLength(100);
    const modal = new ModalBuilder()
      .setCustomId(`${enroll ? 'enroll' : 'notthis'}:${target.channelId}:${target.id}`)
      .setTitle(enroll ? 'Enroll a face' : 'Not this person')
      .addLabelComponents(new LabelBuilder().setLabel(enroll ? 'Whose face is it?' : 'Who is not in this photo?').setTextInputComponent(input));
    await interaction.showModal(modal);
  }

  private async modalSubmit(interaction: ModalSubmitInteraction): Promise<void> {
    const [kind, channelId, messageId] = interaction.customId.split(':');
    if ((kind !== 'enroll' && kind !== 'notthis') || !channelId || !messageId || !interaction.guildId) return;
    await interaction.deferReply();
    const name = interaction.fields.getTextInputValue('name').trim();
    const group = this.groupOf(interaction.guildId, channelId);
    const channel = await this.client.channels.fetch(channelId);
    if (!channel?.isTextBased()) return this.answer(interaction, "I can't read that channel.");
    const message = await channel.messages.fetch(messageId);
    const image = [...message.attachments.values()].find(isImage);
    if (!image) return this.answer(interaction, 'That message has no photo.');
    const bytes = await download(image.url, this.options.maxDownloadBytes);
    if (!bytes) return this.answer(interaction, 'That photo is too large.');
    if (kind === 'notthis') return this.answer(interaction, replies.notThisReply(await this.options.library.notThis(group, name, { bytes })));
    const result = await this.options.library.enroll(group, {
      name,
      photo: { bytes, postedAt: message.createdAt, source: { chat: channelId, message: messageId, file: image.id } },
      by: userOf(interaction.user),
    });
    if (result.kind === 'choose-face') return this.answer(interaction, `I see ${result.faces} faces: use /enroll with this photo and face:<number>.`, [{ attachment: Buffer.from(result.sheet), name: 'faces.png' }]);
    return this.answer(interaction, replies.enrollReply(result, name));
  }

  private groupOf(guildId: string, channelId: string | null): GroupId {
    return this.options.scope === 'channel' && channelId ? `dc:${guildId}:${channelId}` : `dc:${guildId}`;
  }

  /** Runs beside the gateway; errors are logged, never thrown into discord.js. Stop waits for it. */
  private track(work: Promise<void>): Promise<void> {
    const guarded = work.catch((error: unknown) => {
      this.options.log.error({ err: error, reason: describeError(error) }, 'a Discord task failed');
    });
    this.running.add(guarded);
    void guarded.finally(() => this.running.delete(guarded));
    return guarded;
  }
}

/** Manage Server or Administrator, as Discord tells it in the interaction (checked again on use). */
function isAdmin(interaction: ChatInputCommandInteraction): boolean {
  const permissions = interaction.memberPermissions;
  return permissions !== null && (permissions.has(PermissionFlagsBits.ManageGuild) || permissions.has(PermissionFlagsBits.Administrator));
}

function isImage(attachment: Attachment): boolean {
  return attachment.contentType?.startsWith('image/') === true || isPhotoName(attachment.name);
}

function userOf(user: User): string {
  return `dc:${user.id}`;
}

function isDisallowedIntents(error: unknown): boolean {
  const text = error instanceof Error ? `${error.name} ${error.message} ${(error as { code?: unknown }).code as string}` : String(error);
  return /disallowed ?intents|4014/i.test(text);
}

/** The bytes behind a URL, or undefined when they exceed `limit`. */
async function download(url: string, limit: number): Promise<Uint8Array | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok || !response.body) throw new Error(`attachment download failed with HTTP ${response.status}`);
  if (Number(response.headers.get('content-length') ?? 0) > limit) {
    await response.body.cancel();
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const HELP_SEEING =
  'On Discord I see photos posted in channels only when my Message Content intent is enabled; the slash commands work either way. A server is one library (or each channel, if the bot owner set it so).';
