import { readFile } from 'node:fs/promises';
import type { Answer, BotDriver, Command, CommandOptions, Group, PhotoFile, Post, PostOptions, Throttling, Who } from './bot-driver.ts';
import { answerTo, startDiscord, type CommandAnswer, type DiscordHarness } from './discord.ts';
import type { AttachmentInput, CommandOptionInput, DiscordUser, EmulatedGuild, InvokedInteraction } from '../emulators/discord/index.ts';

const UPLOAD_LIMIT = 1_500_000;
const DOWNLOAD_LIMIT = 3_000_000;
/** Discord carries at most ten attachments in one message. */
const ATTACHMENTS_PER_MESSAGE = 10;
const EPHEMERAL = 64;
const NOT_THIS_PERSON = 'Not this person';
const ENROLL_FROM_MESSAGE = 'Enroll a face from this photo';
const REACTION = /^PUT \/channels\/\d+\/messages\/\d+\/reactions\//;

const STRING = 3;
const INTEGER = 4;
const BOOLEAN = 5;
const NUMBER = 10;

/**
 * `facefile bot` on Discord through the gateway and REST emulator. Commands are slash commands
 * with typed options; a photo is an attachment option, and a command about a posted photo is a
 * message context-menu command (or the same photo attached again, for /enroll's face choice).
 */
export class DiscordDriver implements BotDriver {
  readonly platform = 'discord';
  readonly uploadLimit = UPLOAD_LIMIT;
  readonly downloadLimit = DOWNLOAD_LIMIT;
  readonly answersPrivately = true;
  private readonly guilds = new Map<string, EmulatedGuild>();
  /** Posts that are slash commands with a photo, not channel messages. */
  private readonly commandPosts = new Set<string>();
  private nextGuild = 1;

  private constructor(
    readonly harness: DiscordHarness,
    private readonly users: Readonly<Record<Who, DiscordUser>>,
  ) {}

  /** Starts the bot against a fresh emulator; `env` adds to (or overrides) the driver's settings. */
  static async start(env: Record<string, string> = {}): Promise<DiscordDriver> {
    let users: Record<Who, DiscordUser> | undefined;
    const harness = await startDiscord(
      (e) => {
        users = { admin: e.user('anna'), member: e.user('ben') };
      },
      { DISCORD_MAX_DOWNLOAD_BYTES: String(DOWNLOAD_LIMIT), ...env },
      { attachmentSizeLimit: UPLOAD_LIMIT },
    );
    return new DiscordDriver(harness, users!);
  }

  get names(): Readonly<Record<Who, string>> {
    return { admin: this.users.admin.username, member: this.users.member.username };
  }

  get dir(): string {
    return this.harness.dir;
  }

  get secrets(): readonly string[] {
    return [this.harness.emulator.token];
  }

  /** The emulated user behind `who`, for discord-specific scenarios. */
  user(who: Who): DiscordUser {
    return this.users[who];
  }

  /** The server behind a group, with its channels. */
  guild(group: Group): EmulatedGuild {
    const guild = this.guilds.get(group.id);
    if (!guild) throw new Error(`no server for group ${group.title}`);
    return guild;
  }

  /** A server owned by the admin, with the member in it; resolves once the bot registered its commands there. */
  async group(title: string): Promise<Group> {
    const e = this.harness.emulator;
    const id = `12${String(this.nextGuild++).padStart(17, '0')}`;
    const guild = e.addGuild({ id, name: title, ownerId: this.users.admin.id });
    e.addMember(id, this.users.admin);
    e.addMember(id, this.users.member);
    this.guilds.set(id, guild);
    // The bot overwrites a server's commands in one request: any registered means all are.
    await e.waitFor(() => (e.commands.get(id)?.length ?? 0) > 0, 10_000, `commands registered in ${title}`);
    return { id, title };
  }

  async postPhotos(group: Group, who: Who, files: readonly PhotoFile[], options: PostOptions = {}): Promise<Post[]> {
    const e = this.harness.emulator;
    const channel = this.channelOf(group);
    const perMessage = options.separately ? 1 : ATTACHMENTS_PER_MESSAGE;
    const posts: Post[] = [];
    const handled: (() => boolean)[] = [];
    for (let i = 0; i < files.length; i += perMessage) {
      const batch = files.slice(i, i + perMessage);
      const message = await e.postMessage(channel, this.users[who], { attachments: batch.map(attachment) });
      for (const file of batch) posts.push({ group, messageId: message.id, file });
      const stored = message.attachments as readonly { readonly url: string; readonly size: number }[];
      // The bot has taken the message in once it fetched each photo, or told why it would not.
      handled.push(() => stored.every((a) => e.wasDownloaded(a.url) || (a.size > this.downloadLimit && e.messages.some((m) => m.replyTo === message.id))));
    }
    await e.waitFor(() => handled.every((done) => done()), 300_000, `the bot to take in ${files.length} photos`);
    await this.harness.bots.idle();
    return posts;
  }

  async command(group: Group, who: Who, command: Command, options: CommandOptions = {}): Promise<Answer> {
    const e = this.harness.emulator;
    const where = { guild: group.id, channel: this.channelOf(group) };
    const user = this.users[who];
    const about = options.about;
    const onMessage = about !== undefined && !this.commandPosts.has(about.messageId);
    if (command.name === 'notthis' || (command.name === 'enroll' && onMessage && command.face === undefined)) {
      // A context-menu command on the photo's message; the bot asks for the name in a modal.
      if (!about || !onMessage) throw new Error(`/${command.name} needs the posted message it is about`);
      const menu = e.invokeMessageCommand(
        where.guild,
        where.channel,
        user,
        command.name === 'notthis' ? NOT_THIS_PERSON : ENROLL_FROM_MESSAGE,
        about.messageId,
      );
      const modal = await e.waitFor(() => e.callbacks.find((c) => c.interactionId === menu.id && c.type === 9), 10_000, 'the modal');
      const submitted = e.submitModal(where.guild, where.channel, user, String(modal.data.custom_id), { name: command.person });
      return this.answer(group, submitted, about, `/${command.name} from the context menu`);
    }
    // The slash command takes the photo again as an attachment, even for a choice of face.
    const photo = options.photo ?? (command.name === 'enroll' ? about?.file : undefined);
    const invoked = await e.invokeCommand(where.guild, where.channel, user, command.name, slashOptions(command), photo ? { photo: attachment(photo) } : {});
    if (photo) this.commandPosts.add(invoked.id);
    return this.answer(group, invoked, photo && { group, messageId: invoked.id, file: photo }, `/${command.name}`);
  }

  repliesTo(post: Post): string[] {
    return this.harness.emulator.messages.filter((m) => m.replyTo === post.messageId).map((m) => m.content);
  }

  reacted(post: Post): boolean {
    return this.harness.emulator.reactions.some((r) => r.messageId === post.messageId && r.emoji === '👍' && !r.removed);
  }

  throttleReactions(times: number, seconds: number): void {
    for (let i = 0; i < times; i++) this.harness.emulator.failNext(REACTION, { status: 429, retryAfter: seconds });
  }

  throttling(): Throttling {
    const calls = this.harness.emulator.calls.filter((c) => REACTION.test(`${c.method} ${c.path}`));
    const refusedAt = calls.filter((c) => c.status === 429).map((c) => c.at);
    const first = refusedAt[0];
    return { refusedAt, nextAcceptedAt: first === undefined ? undefined : calls.find((c) => c.status < 300 && c.at >= first)?.at };
  }

  log(): Promise<string> {
    return readFile(this.harness.logFile, 'utf8');
  }

  close(): Promise<void> {
    return this.harness.close();
  }

  private channelOf(group: Group): string {
    return this.guild(group).channels[0]!.id;
  }

  private async answer(group: Group, invoked: InvokedInteraction, post: Post | undefined, what: string): Promise<Answer> {
    const e = this.harness.emulator;
    const answer: CommandAnswer = await answerTo(this.harness, invoked, `an answer to ${what} in ${group.title}`);
    // A deferred reply is made private when it is deferred, not when it is edited.
    const first = e.callbacks.find((c) => c.interactionId === invoked.id && (c.type === 4 || c.type === 5));
    return {
      text: [answer.text, ...answer.followUps.map((f) => f.content ?? '')].join('\n'),
      files: [...answer.files, ...answer.followUps.flatMap((f) => f.files)],
      private: ((first?.flags ?? answer.flags) & EPHEMERAL) !== 0,
      post,
    };
  }
}

function slashOptions(command: Command): CommandOptionInput[] {
  const string = (name: string, value: string): CommandOptionInput => ({ name, type: STRING, value });
  switch (command.name) {
    case 'enroll':
      return [
        string('name', command.person),
        ...(command.person === 'me' ? [{ name: 'me', type: BOOLEAN, value: true }] : []),
        ...(command.face === undefined ? [] : [{ name: 'face', type: INTEGER, value: command.face }]),
      ];
    case 'album':
      // Discord's options: one each, the people after the first in `with`, joined by +.
      return [
        string('name', command.person),
        ...(command.with ? [string('with', command.with.join(' + '))] : []),
        ...(command.period === undefined ? [] : [string('period', command.period)]),
        ...(command.photos ? [{ name: 'photos', type: BOOLEAN, value: true }] : []),
      ];
    case 'notthis':
    case 'forget':
      return [string('name', command.person)];
    case 'name':
      return [{ name: 'cluster', type: INTEGER, value: command.cluster }, string('name', command.person)];
    case 'threshold':
      return [
        ...(command.value === undefined ? [] : [{ name: 'value', type: NUMBER, value: command.value }]),
        ...(command.report ? [{ name: 'report', type: BOOLEAN, value: true }] : []),
      ];
    case 'settings':
      return command.mode === undefined ? [] : [string('mode', command.mode)];
    case 'people':
    case 'unknown':
    case 'stats':
    case 'help':
      return [];
  }
}

/** A photo as a Discord attachment, its content type read from its name. */
export function attachment(file: PhotoFile): AttachmentInput {
  return { name: file.name, bytes: file.bytes, contentType: file.name.toLowerCase().endsWith('.png') ? 'image/png' : 'image/jpeg' };
}
