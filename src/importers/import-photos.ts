import {
  DECODE_FAILURE_MESSAGES,
  describeError,
  FILE_IMPORT_CHANNEL,
  forEachConcurrent,
  importStatuses,
  type GroupId,
  type ImportCursor,
  type ImportCursors,
  type Log,
} from '../core/index.ts';
import type { PhotoLibrary } from '../core/library/index.ts';
import type { ExportRead } from './export-files.ts';

/** One photo to bring into a group, read only when its turn comes. */
export interface ImportItem {
  /** Where it is, as the user would find it (a path in the export or the folder). */
  readonly name: string;
  /** The photo's date in the group: the message's, or the file's time. */
  readonly postedAt: Date;
  readonly postedBy?: string;
  /** Kept with the record: where it came from. */
  readonly source: Readonly<Record<string, string>>;
  read(maxBytes: number): Promise<ExportRead>;
  /**
   * The photo's own file on this disk, when it is one (a folder, an unpacked export), checked as
   * `read` checks it: a hand-off to a running bot links it rather than copying it.
   */
  locate?(): Promise<string | undefined>;
}

/** How one photo of an import ended. */
export type ImportOutcome = 'filed' | 'already-filed' | 'failed';

/** One photo of an import as it ended: the people it was filed under, or why it was not filed. */
export interface ImportedPhoto {
  readonly item: ImportItem;
  readonly people: readonly string[];
  readonly reason?: string;
}

export interface ImportOptions {
  readonly log: Log;
  /** Photos analysed at once (the engine's workers); the library still files one at a time per group. */
  readonly concurrency: number;
  /** The biggest photo read (bytes). */
  readonly maxBytes: number;
  /** Ctrl-C: no photo is started after it; the ones under way are finished. */
  readonly signal?: AbortSignal;
  /** Told after each photo, for the progress line (and a hand-off's record of what is done). */
  readonly onPhoto?: (outcome: ImportOutcome, photo: ImportedPhoto) => void;
  /** Where the progress is kept with the library, for /stats in any process. */
  readonly cursors?: ImportCursors;
  /**
   * The same import begun before and gone on with now (a hand-off after the bot restarted): its
   * photos in all and those done then, so that /stats counts the whole import, not this run.
   */
  readonly resumed?: { readonly total: number; readonly queued: number; readonly skipped: number; readonly startedAt: string };
}

export interface ImportReport {
  readonly filed: number;
  /** In the group already, by content (an earlier run, or the bot saw it posted). */
  readonly alreadyFiled: number;
  readonly failed: readonly { readonly name: string; readonly reason: string }[];
  /** Photos filed by this run under each person, by name. */
  readonly people: ReadonlyMap<string, number>;
  /** Photos not started because the import was stopped. */
  readonly notStarted: number;
}

/**
 * Files photos from outside the chat into a group through the library's own ingest, the way a
 * posted photo is filed: one content hash per photo, so a photo the group has already (from an
 * earlier run, or posted while the bot was there) is recognised before it is decoded and filed
 * once, however often the import runs. Nothing is answered in the chat. An interrupted import
 * loses nothing: each photo is filed whole or not at all, and the next run skips what is in.
 */
export async function importPhotos(
  library: Pick<PhotoLibrary, 'ingest'>,
  group: GroupId,
  items: readonly ImportItem[],
  options: ImportOptions,
): Promise<ImportReport> {
  const failed: { name: string; reason: string }[] = [];
  const people = new Map<string, number>();
  let filed = 0;
  let alreadyFiled = 0;
  let started = 0;
  const progress = recordProgress(group, items.length, options);
  const ended = (outcome: ImportOutcome, photo: ImportedPhoto) => {
    progress.advance(outcome);
    options.onPhoto?.(outcome, photo);
  };
  const importing = forEachConcurrent(items, options.concurrency, async (item) => {
    if (options.signal?.aborted) return;
    started++;
    const read = await item.read(options.maxBytes).catch((error: unknown) => {
      options.log.warn({ err: error, file: item.name }, 'an imported photo could not be read');
      return { unreadable: true } as const;
    });
    if (!('bytes' in read)) {
      options.log.warn({ group, file: item.name }, 'an imported photo was not filed');
      const reason =
        'tooLarge' in read
          ? `larger than ${Math.round(options.maxBytes / 1e6)} MB`
          : 'missing' in read
            ? 'not in the export (deleted, or left out when exporting)'
            : 'cannot be read';
      failed.push({ name: item.name, reason });
      ended('failed', { item, people: [], reason });
      return;
    }
    const result = await library.ingest(group, {
      bytes: read.bytes,
      postedAt: item.postedAt,
      originalName: item.name.split('/').pop() ?? item.name,
      source: item.source,
      ...(item.postedBy ? { postedBy: item.postedBy } : {}),
    });
    if (result.kind === 'undecodable') {
      options.log.warn({ group, file: item.name, reason: result.reason }, 'an imported photo was not filed');
      failed.push({ name: item.name, reason: DECODE_FAILURE_MESSAGES[result.reason] });
      ended('failed', { item, people: [], reason: DECODE_FAILURE_MESSAGES[result.reason] });
      return;
    }
    if (result.kind === 'duplicate') {
      alreadyFiled++;
      ended('already-filed', { item, people: [] });
      return;
    }
    filed++;
    for (const person of result.people) people.set(person.name, (people.get(person.name) ?? 0) + 1);
    ended('filed', { item, people: result.people.map((person) => person.name) });
  });
  // A failure of the library's ends the run: the import is then left to be run again, as after Ctrl-C.
  await importing.catch(async (error: unknown) => {
    await progress.end(`stopped (${describeError(error)})`);
    throw error;
  });
  const report = { filed, alreadyFiled, failed, people, notStarted: items.length - started };
  // Ctrl-C at a terminal; whoever else stops an import (a bot stopping) says why as the abort's reason.
  const stopped = options.signal?.aborted ? (typeof options.signal.reason === 'string' ? options.signal.reason : 'stopped by Ctrl-C') : undefined;
  await progress.end(stopped);
  options.log.info({ group, filed, alreadyFiled, failed: failed.length, notStarted: report.notStarted }, 'import finished');
  return report;
}

/** The progress goes into the log at most this often. */
const LOG_PROGRESS_EVERY_MS = 60_000;

interface ProgressRecord {
  advance(outcome: ImportOutcome): void;
  /** Done, or left half way: `stopped` says why. */
  end(stopped: string | undefined): Promise<void>;
}

/**
 * Keeps the import's counts in the library's import cursor after each photo, so that /stats shows
 * how far it is from any process, and logs the same figures now and then. The writes go one after
 * another (photos end out of order), and a failed one costs a line of the log, never the import.
 */
function recordProgress(group: GroupId, total: number, options: ImportOptions): ProgressRecord {
  const now = new Date().toISOString();
  const { resumed } = options;
  let cursor: ImportCursor = resumed
    ? {
        group,
        channel: FILE_IMPORT_CHANNEL,
        done: false,
        scanned: resumed.queued + resumed.skipped,
        queued: resumed.queued,
        skipped: resumed.skipped,
        total: resumed.total,
        startedAt: resumed.startedAt,
        updatedAt: now,
      }
    : { group, channel: FILE_IMPORT_CHANNEL, done: false, scanned: 0, queued: 0, skipped: 0, total, startedAt: now, updatedAt: now };
  let writes = Promise.resolve();
  let loggedAt = Date.now();
  const save = (next: ImportCursor) => {
    cursor = next;
    const { cursors } = options;
    if (!cursors) return;
    writes = writes.then(() => cursors.save(next)).catch((error: unknown) => options.log.warn({ err: error, group }, 'the import progress could not be kept'));
  };
  save(cursor);
  return {
    advance(outcome) {
      const failed = outcome === 'failed';
      save({
        ...cursor,
        scanned: cursor.scanned + 1,
        queued: cursor.queued + (failed ? 0 : 1),
        skipped: cursor.skipped + (failed ? 1 : 0),
        updatedAt: new Date().toISOString(),
      });
      if (Date.now() - loggedAt >= LOG_PROGRESS_EVERY_MS) {
        loggedAt = Date.now();
        options.log.info({ group, ...importStatuses([cursor])[0] }, 'import progress');
      }
    },
    async end(stopped) {
      save(stopped === undefined ? { ...cursor, done: true } : { ...cursor, problem: `${stopped}; the same import run again goes on from here` });
      await writes;
    },
  };
}
