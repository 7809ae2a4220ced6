import {
  ApplicationCommandOptionType,
  ChannelType,
  DiscordAPIError,
  PermissionFlagsBits,
  RESTJSONErrorCodes,
  Routes,
  type APIMessage,
  type REST,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import {
  FILE_IMPORT_CHANNEL,
  describeError,
  memberId,
  type GroupId,
  type ImportCursor,
  type ImportCursors,
  type Log,
  type Platform,
} from '../../core/index.ts';
import { isPhotoName } from '../../files/index.ts';
import { QueueFullError, type PhotoJobMeta, type PhotoJobs } from '../../jobs/index.ts';
import { downloadLimited } from '../shared/index.ts';

/** The slash command that starts, follows or cancels an import; admins only, like the bot's admin commands. */
export const IMPORT_COMMAND = {
  name: 'import',
  description: 'File the photos already posted: every channel I can read, or one (admins)',
  default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
  options: [
    {
      type: ApplicationCommandOptionType.Channel,
      name: 'channel',
      description: 'Only this channel (every channel I can read when left out)',
      channel_types: [ChannelType.GuildText, ChannelType.GuildAnnouncement],
    },
    { type: ApplicationCommandOptionType.Boolean, name: 'cancel', description: 'Stop the import under way' },
  ],
} satisfies RESTPostAPIApplicationCommandsJSONBody;

/** Discord's largest page of history. */
const PAGE = 100;
/** Discord's largest page of archived threads. */
const THREAD_PAGE = 100;

/**
 * The archived threads under a channel that the bot can read: the public ones, and the private
 * ones it was added to (newest archived first, as Discord lists them). Active threads are in the
 * client's cache already. A list Discord refuses (no Read Message History there) is empty: the
 * channel's own import says it could not be read.
 */
export async function archivedThreads(rest: REST, parent: string): Promise<string[]> {
  const ids: string[] = [];
  for (const route of [`/channels/${parent}/threads/archived/public`, `/channels/${parent}/users/@me/threads/archived/private`] as const) {
    let before: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ limit: String(THREAD_PAGE), ...(before ? { before } : {}) });
      let page: { threads: { id: string; thread_metadata?: { archive_timestamp: string } }[]; has_more: boolean };
      try {
        page = (await rest.get(route, { query })) as typeof page;
      } catch (error) {
        if (isUnreadable(error)) break;
        throw error;
      }
      for (const thread of page.threads) if (!ids.includes(thread.id)) ids.push(thread.id);
      const last = page.threads.at(-1)?.thread_metadata?.archive_timestamp;
      if (!page.has_more || last === undefined || last === before) break;
      before = last;
    }
  }
  return ids;
}
/** The progress message is edited at most this often (the last edit always goes). */
const PROGRESS_EVERY_MS = 1_500;

/** Where an import's progress is told: one private message, edited as it goes. */
export interface ImportReporter {
  update(text: string): Promise<void>;
}

export interface ImportRequest {
  readonly group: GroupId;
  /** Channel ids, in the order they are read. */
  readonly channels: readonly string[];
  readonly requestedBy?: string;
  readonly reporter?: ImportReporter;
  /** The channel `/import` was run in: it hears there, once, that the import is done. */
  readonly announceIn?: string;
}

export interface DiscordBackfillOptions {
  readonly rest: () => REST;
  readonly queue: PhotoJobs;
  readonly cursors: ImportCursors;
  readonly log: Log;
  readonly maxDownloadBytes: number;
  readonly platform: Platform;
  /** A channel's name for the report (`#general`), or its id when unknown. */
  readonly channelName: (channel: string) => string;
  /** Posts one message in a channel, mentioning nobody. */
  readonly announce: (channel: string, text: string) => Promise<void>;
}

/** One group's import under way. */
interface Run {
  readonly group: GroupId;
  readonly abort: AbortController;
  readonly cursors: Map<string, ImportCursor>;
  reporter: ImportReporter | undefined;
  announceIn: string | undefined;
  cancelled: boolean;
  lastReport: number;
  done: Promise<void>;
}

/**
 * Discord's history import (`/import`): pages back through each channel, 100 messages a request
 * (discord.js's REST manager waits out a 429 by its `retry_after` and asks again), and queues
 * each image attachment as a posted photo is queued, with its message's date and channel, marked
 * imported: it waits behind live photos and nobody in the chat is answered. After each page the
 * channel's cursor (the oldest message done) is saved, so a restart goes on from there; a page
 * queued again after a crash is filed once, by content hash. A channel that cannot be read ends in
 * one line, and the others go on.
 */
export class DiscordBackfill {
  private readonly runs = new Map<GroupId, Run>();

  constructor(private readonly options: DiscordBackfillOptions) {}

  /** The import of a group under way, if any. */
  running(group: GroupId): boolean {
    return this.runs.has(group);
  }

  /**
   * Starts an import of the channels, or, when the group has one under way, tells its progress
   * to this reporter from now on. Resolves once it has started (not when it ends).
   */
  async start(request: ImportRequest): Promise<'started' | 'attached'> {
    const current = this.runs.get(request.group);
    if (current) {
      current.reporter = request.reporter;
      current.announceIn = request.announceIn ?? current.announceIn;
      current.lastReport = 0;
      await this.report(current, false);
      return 'attached';
    }
    const kept = await this.channelCursors(request.group);
    // One stopped half way (a failure of Discord's) goes on from its cursors.
    if (kept.some((c) => !c.done)) {
      const cursors = new Map(kept.map((c) => [c.channel, withoutProblem(c)]));
      this.launch(request.group, cursors, request.reporter, request.announceIn ?? announcedIn(kept));
      return 'attached';
    }
    // A finished import is kept for its counts only: a new one reads the history again.
    if (kept.length > 0) await this.options.cursors.remove(request.group, channelsOf(kept));
    const startedAt = new Date().toISOString();
    const cursors = new Map<string, ImportCursor>();
    for (const channel of request.channels) {
      const cursor: ImportCursor = {
        group: request.group,
        channel,
        done: false,
        scanned: 0,
        queued: 0,
        skipped: 0,
        startedAt,
        updatedAt: startedAt,
        ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
        ...(request.announceIn ? { announceIn: request.announceIn } : {}),
      };
      await this.options.cursors.save(cursor);
      cursors.set(channel, cursor);
    }
    this.launch(request.group, cursors, request.reporter, request.announceIn);
    return 'started';
  }

  /** Goes on with the imports an earlier run left unfinished, of the groups `mine` says are this process's. */
  async resume(mine: (group: GroupId) => boolean): Promise<number> {
    const byGroup = new Map<GroupId, Map<string, ImportCursor>>();
    for (const cursor of await this.options.cursors.list()) {
      if (!mine(cursor.group) || cursor.channel === FILE_IMPORT_CHANNEL) continue;
      const cursors = byGroup.get(cursor.group) ?? new Map<string, ImportCursor>();
      cursors.set(cursor.channel, cursor);
      byGroup.set(cursor.group, cursors);
    }
    let resumed = 0;
    for (const [group, cursors] of byGroup) {
      if (this.runs.has(group) || [...cursors.values()].every((c) => c.done)) continue;
      this.options.log.info({ group, channels: cursors.size }, 'resuming a Discord history import');
      this.launch(group, cursors, undefined, announcedIn([...cursors.values()]));
      resumed++;
    }
    return resumed;
  }

  /**
   * Cancels a group's import: nothing more is queued, and it is not resumed. Returns its last line
   * (the counts), or undefined when none was under way.
   */
  async cancel(group: GroupId): Promise<string | undefined> {
    const run = this.runs.get(group);
    if (run) {
      run.cancelled = true;
      run.abort.abort();
      await run.done;
    }
    const kept = await this.channelCursors(group);
    await this.options.cursors.remove(group, channelsOf(kept));
    if (run) return this.describe(run, true);
    // Stopped half way and not resumed in this process (its guild on another shard's process).
    return kept.some((c) => !c.done) ? 'Import cancelled.' : undefined;
  }

  /** Stops every import (a shutdown): what is saved is resumed at the next start. */
  async stop(): Promise<void> {
    const runs = [...this.runs.values()];
    for (const run of runs) run.abort.abort();
    await Promise.all(runs.map((run) => run.done));
  }

  /** The progress line of a group's import, or undefined when none is under way. */
  summary(group: GroupId): string | undefined {
    const run = this.runs.get(group);
    return run ? this.describe(run, false) : undefined;
  }

  /** A group's cursors of this import: an import from files (the command line) keeps one beside them. */
  private async channelCursors(group: GroupId): Promise<ImportCursor[]> {
    return (await this.options.cursors.list(group)).filter((c) => c.channel !== FILE_IMPORT_CHANNEL);
  }

  private launch(group: GroupId, cursors: Map<string, ImportCursor>, reporter: ImportReporter | undefined, announceIn: string | undefined): void {
    const run: Run = { group, abort: new AbortController(), cursors, reporter, announceIn, cancelled: false, lastReport: 0, done: Promise.resolve() };
    this.runs.set(group, run);
    run.done = this.importAll(run)
      .catch((error: unknown) => this.options.log.error({ err: error, group }, 'a Discord history import failed'))
      .finally(() => this.runs.delete(group));
  }

  private async importAll(run: Run): Promise<void> {
    await this.report(run, false);
    for (const cursor of run.cursors.values()) {
      if (cursor.done) continue;
      if ((await this.importChannel(run, cursor.channel)) === 'stopped') break;
      if (run.abort.signal.aborted) break;
    }
    const stopped = run.abort.signal.aborted && !run.cancelled;
    const { scanned, queued, skipped } = totals(run);
    this.options.log.info({ group: run.group, scanned, queued, skipped, cancelled: run.cancelled, stopped }, 'Discord history import ended');
    // Cancelled: nothing to resume, gone before the admin reads that it is.
    if (run.cancelled) await this.options.cursors.remove(run.group, channelsOf([...run.cursors.values()]));
    // A shutdown leaves the cursors for the next start, and the message as it was.
    if (stopped) return;
    await this.report(run, true);
    if (!run.cancelled) await this.announce(run);
  }

  /**
   * The one public line where /import was run, once the history is read: the counts, and where the
   * problems are told. Each channel's cursor says whether it was read; one left half way is not done.
   */
  private async announce(run: Run): Promise<void> {
    const cursors = [...run.cursors.values()];
    if (!run.announceIn || cursors.some((c) => !c.done)) return;
    const { queued, skipped } = totals(run);
    const unread = cursors.filter((c) => c.problem !== undefined).length;
    const details = skipped + unread > 0 ? "; the details are in the answer to /import and in the bot's log" : '';
    const text =
      `History import done: ${count(queued, 'photo')} queued for filing (behind new posts), ${skipped} skipped` +
      `${unread > 0 ? `, ${count(unread, 'channel')} I could not read` : ''}${details}.`;
    await this.options.announce(run.announceIn, text).catch((error: unknown) => {
      this.options.log.warn({ err: error, group: run.group, channel: run.announceIn }, 'the end of an import could not be told in its channel');
    });
  }

  /** Reads one channel to its start; `stopped` when Discord failed in a way worth trying again later. */
  private async importChannel(run: Run, channel: string): Promise<'read' | 'stopped'> {
    const signal = run.abort.signal;
    // A function, not the property: TypeScript would take it as settled after the first look.
    const aborted = () => signal.aborted;
    for (;;) {
      const cursor = run.cursors.get(channel)!;
      let page: APIMessage[];
      try {
        const query = new URLSearchParams({ limit: String(PAGE), ...(cursor.before ? { before: cursor.before } : {}) });
        page = (await this.options.rest().get(Routes.channelMessages(channel), { query, signal })) as APIMessage[];
      } catch (error) {
        if (signal.aborted) return 'stopped';
        this.options.log.warn({ err: error, group: run.group, channel }, 'a channel could not be read for the import');
        if (isUnreadable(error)) {
          await this.save(run, { ...cursor, done: true, problem: unreadable(error) });
          return 'read';
        }
        // Kept where it is: /import or the next start goes on from this page.
        await this.save(run, { ...cursor, problem: `stopped (${describeError(error)}); /import goes on from here.` });
        return 'stopped';
      }
      let { scanned, queued, skipped } = cursor;
      for (const message of page) {
        if (aborted()) return 'stopped';
        scanned++;
        // The bot's own posts (sheets, zips) and other bots' are not the group's photos, as when live.
        if (message.author.bot) continue;
        for (const attachment of message.attachments.filter(isImage)) {
          if (aborted()) return 'stopped';
          if (await this.queuePhoto(run, channel, message, attachment)) queued++;
          else skipped++;
        }
      }
      // The whole page is queued: a restart goes on below its oldest message.
      const oldest = page.at(-1)?.id;
      const done = page.length < PAGE || oldest === undefined;
      await this.save(run, { ...cursor, scanned, queued, skipped, done, ...(oldest ? { before: oldest } : {}) });
      await this.report(run, false);
      if (done) return 'read';
    }
  }

  /** Downloads one attachment and queues it; false when it is skipped (too large, or not downloaded). */
  private async queuePhoto(run: Run, channel: string, message: APIMessage, attachment: APIMessage['attachments'][number]): Promise<boolean> {
    const limit = this.options.maxDownloadBytes;
    const bytes =
      attachment.size > limit
        ? undefined
        : await downloadLimited(attachment.url, limit).catch((error: unknown) => {
            this.options.log.warn({ err: error, group: run.group, channel, message: message.id }, 'an imported photo could not be downloaded');
            return undefined;
          });
    if (!bytes) return false;
    const meta: PhotoJobMeta = {
      platform: this.options.platform,
      group: run.group,
      postedAt: new Date(message.timestamp).toISOString(),
      queuedAt: new Date().toISOString(),
      // The same ids as a live post's: the channel's walls hold for it (`canSee` reads `chat`).
      source: { chat: channel, message: message.id, file: attachment.id },
      postedBy: memberId(this.options.platform, message.author.id),
      originalName: attachment.filename,
      imported: true,
    };
    for (;;) {
      try {
        await this.options.queue.add(bytes, meta);
        return true;
      } catch (error) {
        // The queue holds as much as it may: wait for what it has, then try again.
        if (!(error instanceof QueueFullError) || run.abort.signal.aborted) {
          if (!(error instanceof QueueFullError)) this.options.log.error({ err: error, group: run.group }, 'an imported photo could not be queued');
          return false;
        }
        await this.options.queue.settled();
      }
    }
  }

  private async save(run: Run, next: ImportCursor): Promise<void> {
    const cursor = { ...next, updatedAt: new Date().toISOString(), ...(run.announceIn ? { announceIn: run.announceIn } : {}) };
    run.cursors.set(cursor.channel, cursor);
    // A cancel removes the cursors: a page that ends after it must not bring them back.
    if (!run.cancelled) await this.options.cursors.save(cursor);
  }

  private async report(run: Run, final: boolean): Promise<void> {
    if (!run.reporter) return;
    const now = Date.now();
    if (!final && now - run.lastReport < PROGRESS_EVERY_MS) return;
    run.lastReport = now;
    await run.reporter.update(this.describe(run, final)).catch((error: unknown) => {
      // An interaction's message can be edited for 15 minutes: the import goes on regardless.
      this.options.log.warn({ err: error, group: run.group }, 'the import progress message could not be edited');
    });
  }

  private describe(run: Run, final: boolean): string {
    const { scanned, queued, skipped } = totals(run);
    const cursors = [...run.cursors.values()];
    const problems = cursors.filter((c) => c.problem !== undefined);
    const unreadChannels = problems.filter((c) => c.done);
    const counts = `${count(scanned, 'message')} read, ${count(queued, 'photo')} queued for filing, ${skipped} skipped`;
    const lines = problems.map((c) => `${this.options.channelName(c.channel)}: ${c.problem}`);
    let head: string;
    const halted = cursors.some((c) => !c.done);
    if (final && run.cancelled) head = `Import cancelled: ${counts}. The photos already queued are still filed.`;
    else if (final && halted) head = `Import stopped: ${counts}. Run /import again to go on from where it stopped.`;
    else if (final) {
      const unread = unreadChannels.length > 0 ? `; ${count(unreadChannels.length, 'channel')} could not be read` : '';
      head = `Import finished: ${count(cursors.length, 'channel')}, ${counts}${unread}. Photos are filed behind new posts; each is filed once.`;
    } else {
      const reading = cursors.find((c) => !c.done);
      const where = reading ? `, reading ${this.options.channelName(reading.channel)}` : '';
      head = `Importing ${count(cursors.length, 'channel')}: ${cursors.filter((c) => c.done).length} done${where}. So far ${counts}.`;
    }
    return [head, ...lines].join('\n');
  }
}

function totals(run: Run): { scanned: number; queued: number; skipped: number } {
  let scanned = 0;
  let queued = 0;
  let skipped = 0;
  for (const cursor of run.cursors.values()) {
    scanned += cursor.scanned;
    queued += cursor.queued;
    skipped += cursor.skipped;
  }
  return { scanned, queued, skipped };
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function isImage(attachment: APIMessage['attachments'][number]): boolean {
  return attachment.content_type?.startsWith('image/') === true || isPhotoName(attachment.filename);
}

const UNREADABLE = new Set<number | string>([RESTJSONErrorCodes.MissingAccess, RESTJSONErrorCodes.MissingPermissions, RESTJSONErrorCodes.UnknownChannel]);

/** Discord refused the channel for good (no access, gone): trying again would not help. */
function isUnreadable(error: unknown): error is DiscordAPIError {
  return error instanceof DiscordAPIError && UNREADABLE.has(error.code);
}

/** One line on why a channel's history could not be read. */
function unreadable(error: DiscordAPIError): string {
  if (error.code === RESTJSONErrorCodes.UnknownChannel) return 'this channel no longer exists; skipped.';
  return 'I cannot read this channel (I need View Channel and Read Message History there); skipped.';
}

function withoutProblem(cursor: ImportCursor): ImportCursor {
  if (cursor.done || cursor.problem === undefined) return cursor;
  const { problem: _problem, ...rest } = cursor;
  return rest;
}

/** The channels of cursors: a cancel removes these, and leaves an import from files alone. */
function channelsOf(cursors: readonly ImportCursor[]): string[] {
  return cursors.map((c) => c.channel);
}

/** Where an import resumed after a restart tells that it is done: where it was started. */
function announcedIn(cursors: readonly ImportCursor[]): string | undefined {
  return cursors.find((c) => c.announceIn !== undefined)?.announceIn;
}
