import { readFile } from 'node:fs/promises';
import type { User } from '@telegraf/types';
import type { Answer, AnswerFile, BotDriver, Command, CommandOptions, Group, PhotoFile, Post, PostOptions, Throttling, Who } from './bot-driver.ts';
import { startTelegram, textOf, type TelegramHarness } from './telegram.ts';
import type { SentMessage } from '../emulators/telegram/index.ts';

const UPLOAD_LIMIT = 1_500_000;
const DOWNLOAD_LIMIT = 3_000_000;
/** Updates of a long burst take a while to be confirmed on a busy machine. */
const IDLE_TIMEOUT_MS = 300_000;

/**
 * `facefile bot` on Telegram through the Bot API emulator. Commands are text (or a photo's
 * caption); a command about a photo is a reply to it. Replies to one chat are paced at 0.2 s
 * instead of Telegram's 3.1 s (telegram-specific tests check the pace itself).
 */
export class TelegramDriver implements BotDriver {
  readonly platform = 'telegram';
  readonly names: Readonly<Record<Who, string>> = { admin: 'Ada', member: 'Bob' };
  readonly uploadLimit = UPLOAD_LIMIT;
  readonly downloadLimit = DOWNLOAD_LIMIT;
  readonly answersPrivately = false;
  private readonly users: Readonly<Record<Who, User>>;
  private nextChat = -1001;

  private constructor(readonly harness: TelegramHarness) {
    const e = harness.emulator;
    this.users = { admin: e.user(100, this.names.admin), member: e.user(200, this.names.member) };
  }

  /** Starts the bot against a fresh emulator; `env` adds to (or overrides) the driver's settings. */
  static async start(env: Record<string, string> = {}): Promise<TelegramDriver> {
    const harness = await startTelegram(
      { TELEGRAM_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT), TELEGRAM_MAX_DOWNLOAD_BYTES: String(DOWNLOAD_LIMIT), TELEGRAM_GROUP_INTERVAL_MS: '200', ...env },
      { maxDownloadBytes: DOWNLOAD_LIMIT },
    );
    return new TelegramDriver(harness);
  }

  get dir(): string {
    return this.harness.dir;
  }

  get secrets(): readonly string[] {
    const token = this.harness.emulator.token;
    return [token, token.split(':')[1]!];
  }

  /** The emulated user behind `who`, for telegram-specific scenarios. */
  user(who: Who): User {
    return this.users[who];
  }

  group(title: string): Promise<Group> {
    const id = this.nextChat--;
    // Only the admin is an administrator; Telegram needs no member list to let the member post.
    this.harness.emulator.addChat({ id, type: 'supergroup', title }, { creator: this.users.admin });
    return Promise.resolve({ id: String(id), title });
  }

  async postPhotos(group: Group, who: Who, files: readonly PhotoFile[], options: PostOptions = {}): Promise<Post[]> {
    const e = this.harness.emulator;
    const posts: Post[] = [];
    for (const file of files) {
      const message = options.original
        ? await e.postDocument(Number(group.id), this.users[who], file.bytes, file.name, mimeTypeOf(file.name))
        : await e.postPhoto(Number(group.id), this.users[who], file.bytes);
      posts.push({ group, messageId: String(message.message_id), file });
    }
    await this.idle();
    return posts;
  }

  async command(group: Group, who: Who, command: Command, options: CommandOptions = {}): Promise<Answer> {
    const e = this.harness.emulator;
    const chat = Number(group.id);
    const text = commandText(command);
    const replyTo = options.about === undefined ? {} : { replyTo: Number(options.about.messageId) };
    const from = this.users[who];
    const before = e.sent.length;
    const message = options.photo ? await e.postPhoto(chat, from, options.photo.bytes, { caption: text, ...replyTo }) : e.postText(chat, from, text, replyTo);
    await this.idle();
    // Zips are sent as documents without a reply; everything else answers the command message.
    const answer = e.sent
      .slice(before)
      .filter((s) => s.chat_id === chat && s.method !== 'setMessageReaction' && (s.reply_to_message_id === message.message_id || s.method === 'sendDocument'));
    return {
      text: answer.map(textOf).join('\n'),
      files: answer.flatMap(filesOf),
      private: false,
      post: options.photo ? { group, messageId: String(message.message_id), file: options.photo } : options.about,
    };
  }

  repliesTo(post: Post): string[] {
    return this.harness.emulator.sent
      .filter((s) => s.chat_id === Number(post.group.id) && s.reply_to_message_id === Number(post.messageId) && s.method === 'sendMessage')
      .map(textOf);
  }

  reacted(post: Post): boolean {
    return this.harness.emulator.sent.some(
      (s) =>
        s.method === 'setMessageReaction' &&
        s.chat_id === Number(post.group.id) &&
        s.message_id === Number(post.messageId) &&
        (s.reaction ?? []).some((r) => r.type === 'emoji' && r.emoji === '👍'),
    );
  }

  throttleReactions(times: number, seconds: number): void {
    this.harness.emulator.failNext(
      'setMessageReaction',
      { error_code: 429, description: `Too Many Requests: retry after ${seconds}`, retry_after: seconds },
      times,
    );
  }

  throttling(): Throttling {
    const calls = this.harness.emulator.calls.filter((c) => c.method === 'setMessageReaction');
    const refusedAt = calls.filter((c) => c.error?.error_code === 429).map((c) => c.at);
    const first = refusedAt[0];
    return { refusedAt, nextAcceptedAt: first === undefined ? undefined : calls.find((c) => !c.error && c.at >= first)?.at };
  }

  log(): Promise<string> {
    return readFile(this.harness.logFile, 'utf8');
  }

  /** Every update handled, every photo filed, every answer sent. */
  async idle(): Promise<void> {
    await this.harness.emulator.idle(IDLE_TIMEOUT_MS);
    await this.harness.bots.idle();
  }

  close(): Promise<void> {
    return this.harness.close();
  }
}

function commandText(command: Command): string {
  switch (command.name) {
    case 'enroll':
      return `/enroll ${command.person}${command.face === undefined ? '' : ` ${command.face}`}`;
    case 'album':
      // Telegram's free text: people joined by +, then the period, then "photos".
      return ['/album', [command.person, ...(command.with ?? [])].join(' + '), command.period, command.photos ? 'photos' : undefined].filter(Boolean).join(' ');
    case 'notthis':
    case 'forget':
      return `/${command.name} ${command.person}`;
    case 'name':
      return `/name ${command.cluster} ${command.person}`;
    case 'threshold':
      return ['/threshold', ...(command.report ? ['report'] : []), ...(command.value === undefined ? [] : [String(command.value)])].join(' ');
    case 'settings':
      return command.mode === undefined ? '/settings' : `/settings ${command.mode}`;
    case 'people':
    case 'unknown':
    case 'stats':
    case 'help':
      return `/${command.name}`;
  }
}

function filesOf(sent: SentMessage): AnswerFile[] {
  if (sent.document) return [{ name: sent.document.fileName, bytes: sent.document.bytes }];
  if (sent.photo) return [{ name: 'photo.png', bytes: sent.photo }];
  return [];
}

function mimeTypeOf(name: string): string {
  return name.toLowerCase().endsWith('.png') ? 'image/png' : 'image/jpeg';
}
