import { describeError, FacefileError, parseGroupId, type GroupRef, type Platform } from '../core/index.ts';
import { QueueFullError, type PhotoJobMeta, type PhotoJobResult } from '../jobs/index.ts';
import type { ChatContext, ChatUser, PostAnswer, PostedPhoto } from './chat-context.ts';
import type { BotCommand, BotDeps, CommandArgs } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import * as replies from './replies.ts';

export interface BotOptions extends BotDeps {
  readonly commands?: readonly BotCommand[];
}

/** A message with photos, as an adapter hands it over: the photos are downloaded here. */
export interface PhotoPost {
  readonly platform: string;
  readonly group: ChatContext['group'];
  readonly caller: ChatUser | undefined;
  readonly postedAt: Date;
  /** The platform's ids of the chat and message, for the answer once the photo is filed. */
  readonly source: Readonly<Record<string, string>>;
  readonly photos: readonly PostedPhoto[];
  readonly downloadLimitBytes: number;
  reply(text: string): Promise<void>;
  readonly tooLarge: (limitBytes: number, fileName?: string) => string;
}

/**
 * The platform-neutral bot: the sum of its commands and of what it does with posted photos. An
 * adapter turns each update into a `ChatContext` and calls `command` or `photosPosted`; every call
 * runs inside one error boundary, so a failure is logged with its context and answered briefly,
 * and no rejection ever escapes into telegraf or discord.js.
 */
export class Bot {
  readonly commands: readonly BotCommand[];
  private readonly byName: ReadonlyMap<string, BotCommand>;
  /** Costly commands running now, by group and name. */
  private readonly running = new Set<string>();
  /** Costly commands resting, by group, name and caller: until when (ms). */
  private readonly resting = new Map<string, number>();

  constructor(private readonly options: BotOptions) {
    this.commands = options.commands ?? COMMANDS;
    this.byName = new Map(this.commands.map((c) => [c.name, c]));
  }

  /** The command of that name, if the bot has one (`start` is Telegram's name for help). */
  find(name: string): BotCommand | undefined {
    return this.byName.get(name === 'start' ? 'help' : name);
  }

  /** Runs a command whose arguments came as text (`/threshold report 0.9`). */
  async commandText(ctx: ChatContext, name: string, text: string): Promise<void> {
    const command = this.find(name);
    if (!command) return;
    const args = command.parseText ? command.parseText(text) : {};
    if (!args) return this.guard(ctx, command.name, () => ctx.reply(`Use ${command.usage?.(ctx.syntax) ?? ctx.syntax.command(command.name)}.`));
    return this.command(ctx, command.name, args);
  }

  /** Runs a command whose arguments came parsed (a slash command's options, a form's fields). */
  async command(ctx: ChatContext, name: string, args: CommandArgs): Promise<void> {
    const command = this.find(name);
    if (!command) return this.guard(ctx, name, () => ctx.reply('I do not know that command.'));
    return this.guard(ctx, name, async () => {
      if (!(await this.allowed(ctx, command, args))) {
        const hint = command.adminHint?.(ctx.syntax);
        return ctx.reply(hint ? `${replies.NOT_ADMIN} (${hint})` : replies.NOT_ADMIN);
      }
      const rest = typeof command.cooldownSeconds === 'function' ? command.cooldownSeconds(args) : command.cooldownSeconds;
      if (rest === undefined) return command.run(ctx, args, this.options);
      return this.limited(ctx, command, rest, () => command.run(ctx, args, this.options));
    });
  }

  /**
   * The rate limit of costly commands, once for all of them: one run at a time in a group, and a
   * rest after each for the member who asked (behind walls, each member's answer is their own).
   */
  private async limited(ctx: ChatContext, command: BotCommand, restSeconds: number, run: () => Promise<void>): Promise<void> {
    const key = `${ctx.group}\n${command.name}`;
    const mine = `${key}\n${ctx.caller?.id ?? ''}`;
    const now = Date.now();
    for (const [k, until] of this.resting) if (until <= now) this.resting.delete(k);
    if (this.running.has(key)) return ctx.reply(replies.stillRunning(ctx.syntax.command(command.name)));
    const until = this.resting.get(mine);
    if (until !== undefined) return ctx.reply(replies.tryAgainIn(ctx.syntax.command(command.name), Math.ceil((until - now) / 1000)));
    this.running.add(key);
    try {
      await run();
    } finally {
      this.running.delete(key);
      if (restSeconds > 0) this.resting.set(mine, Date.now() + restSeconds * 1000);
    }
  }

  /** The one admin check, in front of every command (grammY's middleware, in one method). */
  private async allowed(ctx: ChatContext, command: BotCommand, args: CommandArgs): Promise<boolean> {
    const adminOnly = typeof command.adminOnly === 'function' ? command.adminOnly(args) : command.adminOnly === true;
    return !adminOnly || (await ctx.isAdmin());
  }

  /**
   * Downloads a post's photos (all at once: platform URLs expire) and hands them to the durable
   * queue; the promise settles once every photo is on the disk, so an adapter confirms the update
   * only then. A photo over the download limit, or one that cannot be downloaded after a few tries,
   * is declined with a reply, and so is one the queue refuses because it holds as much as it may
   * (`QueueFullError`). When the queue itself cannot take a photo (a full or failing disk)
   * after a few tries, this throws `PhotoNotQueuedError`: the adapter must then not confirm the
   * update, so that the platform delivers it again once the disk is fixed.
   */
  async photosPosted(post: PhotoPost): Promise<void> {
    const downloads = await Promise.all(
      post.photos.map((photo) =>
        withRetries(() => photo.download()).catch((error: unknown) => {
          this.options.log.error({ err: error, group: post.group, reason: describeError(error) }, 'a photo could not be downloaded');
          return 'failed' as const;
        }),
      ),
    );
    for (const [i, bytes] of downloads.entries()) {
      const photo = post.photos[i]!;
      if (bytes === 'failed') {
        await post.reply(`${photo.fileName ? `${photo.fileName}: ` : ''}${replies.DOWNLOAD_FAILED}`);
        continue;
      }
      if (!bytes) {
        await post.reply(post.tooLarge(post.downloadLimitBytes, photo.fileName));
        continue;
      }
      const meta: PhotoJobMeta = {
        platform: post.platform,
        group: post.group,
        postedAt: post.postedAt.toISOString(),
        queuedAt: new Date().toISOString(),
        source: { ...post.source, file: photo.fileId },
        ...(post.caller ? { postedBy: post.caller.id } : {}),
        ...(photo.fileName ? { originalName: photo.fileName } : {}),
      };
      try {
        await withRetries(
          () => this.options.queue.add(bytes, meta),
          (error) => !(error instanceof QueueFullError),
        );
      } catch (error) {
        if (error instanceof QueueFullError) {
          // Refused, not lost: the poster is told, and the update is confirmed (holding it back would
          // hold back every later update of the bot, or end the process, for one group's flood).
          this.options.log.warn({ group: post.group, whole: error.whole }, 'a photo was refused: the queue is full');
          await post.reply(`${photo.fileName ? `${photo.fileName}: ` : ''}${replies.QUEUE_FULL}`);
          continue;
        }
        this.options.log.error({ err: error, group: post.group, reason: describeError(error) }, 'a photo could not be queued');
        await post.reply(replies.BUSY).catch(() => undefined);
        throw new PhotoNotQueuedError({ cause: error });
      }
    }
  }

  /** The platform gave a group a new id (Telegram's supergroup upgrade): its library follows. */
  async groupMoved(from: string, to: string): Promise<void> {
    await this.lifecycle('moving a group to its new id', () => this.options.library.moveGroup(from, to));
  }

  /** The bot was removed from a group: its data is erased after the grace period. */
  async removedFrom(group: string): Promise<void> {
    await this.lifecycle('marking a group the bot left', () => this.options.library.markRemoved(group));
  }

  /** The bot was added to a group (again): nothing of it is to be erased. */
  async addedTo(group: string): Promise<void> {
    await this.lifecycle('marking a group the bot is in', () => this.options.library.markPresent(group));
  }

  /**
   * At connection, the platform lists the groups the bot is in: of this platform's libraries,
   * those it is no longer in were left while the bot was offline, and are marked for erasure;
   * those it is in are kept.
   */
  async reconcile(platform: Platform, isPresent: (group: GroupRef) => boolean): Promise<void> {
    await this.lifecycle('checking which groups the bot is still in', async () => {
      for (const group of await this.options.library.groups()) {
        const ref = parseGroupId(group);
        if (ref?.platform !== platform) continue;
        if (isPresent(ref)) await this.options.library.markPresent(group);
        else await this.options.library.markRemoved(group);
      }
    });
  }

  private async lifecycle(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.options.log.error({ err: error, reason: describeError(error) }, `${what} failed`);
    }
  }

  /** After the queue filed a photo: a reaction, a one-line summary, or the reason it failed. */
  async answerPhoto(answer: PostAnswer, meta: PhotoJobMeta, result: PhotoJobResult): Promise<void> {
    // A photo from the chat's history: its poster is not waiting for an answer, and hundreds of
    // replies would bury the chat. The import reports its counts to whoever started it.
    if (meta.imported === true) return;
    const error = replies.photoError(result);
    if (error) return answer.reply(`${meta.originalName ? `${meta.originalName}: ` : ''}${error}`);
    if (result.kind === 'failed' || result.kind === 'undecodable') return;
    const { replyMode } = await this.options.library.settings(meta.group);
    if (replyMode === 'summary') {
      const text = replies.ingestSummary(result);
      if (text) await answer.reply(text);
      return;
    }
    if (result.people.length > 0) await answer.react();
  }

  private async guard(ctx: ChatContext, name: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.options.log.error({ err: error, group: ctx.group, command: name, reason: describeError(error) }, 'a command failed');
      await ctx.reply(replies.BUSY).catch((replyError: unknown) => this.options.log.warn({ err: replyError }, 'could not say that a command failed'));
    }
  }
}

/** The durable queue would not take a photo: the update that brought it must not be confirmed. */
export class PhotoNotQueuedError extends FacefileError {
  override name = 'PhotoNotQueuedError';
  constructor(options: { cause: unknown }) {
    super('a posted photo could not be written to the queue', options);
  }
}

/** Three tries, 1 s and then 3 s apart: enough for a passing network or disk hiccup. */
async function withRetries<T>(
  task: () => Promise<T>,
  retryable: (error: unknown) => boolean = () => true,
  delaysMs: readonly number[] = [1000, 3000],
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      const delay = delaysMs[attempt];
      if (delay === undefined || !retryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
