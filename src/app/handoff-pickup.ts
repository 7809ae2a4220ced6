import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { describeError, type ImportCursors, type Log } from '../core/index.ts';
import type { PhotoLibrary } from '../core/library/index.ts';
import {
  abandonedHandoffs,
  announceReceiver,
  HANDOFF_FOLDER,
  importNote,
  importPhotos,
  journalWriter,
  openHandoff,
  readJournal,
  removeAbandoned,
  removeHandoff,
  setAsideHandoff,
  waitingHandoffs,
  type Handoff,
  type ImportReport,
} from '../importers/index.ts';
import type { PhotoJobs } from '../jobs/index.ts';
import { noteToGroup } from './group-note.ts';

/** How often the spool is looked at when no change is heard of (fs.watch misses some, or is not there). */
const POLL_MS = 5_000;
/** While live photos wait or are being filed, how often a hand-off looks again whether its turn has come. */
const YIELD_POLL_MS = 250;
/** A hand-off that failed (the library threw: a full disk) is tried again after this. */
const RETRY_MS = 60_000;
/** A hand-off an importer began writing and never finished is removed after this long untouched. */
const ABANDONED_MS = 24 * 60 * 60 * 1000;

export interface HandoffPickup {
  /** Finishes the photos under way and stops; the rest of a hand-off waits for the next start. */
  stop(): Promise<void>;
}

export interface HandoffPickupParts {
  readonly library: Pick<PhotoLibrary, 'ingest'>;
  readonly importCursors: ImportCursors;
  /** Photos of a hand-off analysed at once. */
  readonly concurrency: number;
  /** The bot's photo queue: a handed-over photo starts only when no posted photo waits or is being filed. */
  readonly queue: Pick<PhotoJobs, 'depth'>;
}

/**
 * The single-process bot's side of `facefile import` while it runs: the importer may not open the
 * library beside the bot (one writer a data folder), so it leaves the photos in DATA_DIR/handoff
 * (see importers/handoff.ts) and the bot files them here, one hand-off at a time, oldest first,
 * through the same `importPhotos` as an import with no bot: each photo once by its content, with
 * its message's date and poster, its progress in the library for /stats, and the group's one note
 * at the end. Posted photos go first: a handed-over photo starts only when the photo queue has
 * nothing waiting or being filed. What is done is recorded in the hand-off, so a bot stopped or
 * killed part way goes on at its next start. A hand-off that is not as an importer writes it is
 * logged and set aside in `handoff/rejected/`; nothing in the spool can stop the bot.
 */
export async function startHandoffPickup(config: Config, log: Log, parts: HandoffPickupParts): Promise<HandoffPickup> {
  const { dataDir } = config;
  const receiver = await announceReceiver(dataDir);
  const stopping = new AbortController();
  /** Hand-offs refused this run whose folder could not be moved aside: not looked at again. */
  const refused = new Set<string>();
  /** Hand-offs whose filing failed, and when to try again. */
  const retryAt = new Map<string, number>();
  let running: Promise<void> | undefined;
  /** Wake-ups asked for: one heard of during a scan brings another right after it. */
  let wanted = 0;

  const livePhotosFirst = async () => {
    for (;;) {
      const depth = await parts.queue.depth();
      if ((depth['waiting'] ?? 0) + (depth['active'] ?? 0) === 0 || stopping.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, YIELD_POLL_MS));
    }
  };
  const library: Pick<PhotoLibrary, 'ingest'> = {
    ingest: async (group, photo) => {
      await livePhotosFirst();
      return parts.library.ingest(group, photo);
    },
  };

  const file = async (handoff: Handoff): Promise<void> => {
    const journal = await readJournal(handoff);
    if (journal.ended) {
      await removeHandoff(handoff);
      return;
    }
    const record = journalWriter(handoff);
    const startedAt = journal.startedAt ?? new Date().toISOString();
    if (journal.startedAt === undefined) record.write({ startedAt });
    const index = new Map(handoff.items.map((item, i) => [item, i]));
    const rest = handoff.items.filter((_, i) => !journal.photos.has(i));
    const before = [...journal.photos.values()];
    const earlierQueued = before.filter((p) => p.outcome !== 'failed').length;
    log.info(
      {
        handoff: handoff.id,
        group: handoff.group,
        from: handoff.from,
        photos: handoff.items.length,
        ...(before.length > 0 ? { doneBefore: before.length } : {}),
      },
      before.length > 0 ? 'going on with the photos an import handed over' : 'filing the photos an import handed over',
    );
    const report = await importPhotos(library, handoff.group, rest, {
      log,
      concurrency: parts.concurrency,
      maxBytes: config.decoder.maxBytes,
      signal: stopping.signal,
      cursors: parts.importCursors,
      resumed: { total: handoff.items.length, queued: earlierQueued, skipped: before.length - earlierQueued, startedAt },
      onPhoto: (outcome, photo) =>
        record.write({
          photo: index.get(photo.item) ?? -1,
          outcome,
          ...(photo.people.length > 0 ? { people: photo.people } : {}),
          ...(photo.reason !== undefined ? { name: photo.item.name, reason: photo.reason } : {}),
        }),
    });
    await record.flushed();
    if (stopping.signal.aborted) {
      log.info({ handoff: handoff.id, group: handoff.group, left: report.notStarted }, 'stopped in the middle of a hand-off: it goes on at the next start');
      return;
    }
    const whole = wholeReport(report, before);
    for (const photo of handoff.missing) log.warn({ group: handoff.group, message: photo.message, file: photo.file }, 'an exported photo is not in the export');
    for (const failure of whole.failed) log.warn({ group: handoff.group, file: failure.name, reason: failure.reason }, 'a handed-over photo was not filed');
    log.info(
      {
        handoff: handoff.id,
        group: handoff.group,
        filed: whole.filed,
        alreadyFiled: whole.alreadyFiled,
        failed: whole.failed.length,
        missing: handoff.missing.length,
      },
      'a hand-off is filed',
    );
    // Recorded before the note is sent: a kill in between costs the note, never a second one.
    record.write({ ended: true });
    await record.flushed();
    await noteToGroup(config, handoff.group, importNote(whole, handoff.missing, "the bot's log")).catch((error: unknown) =>
      log.warn({ err: error, group: handoff.group }, 'the group could not be told that the import ended'),
    );
    await removeHandoff(handoff);
  };

  const take = async (id: string): Promise<void> => {
    const opened = await openHandoff(dataDir, id, log);
    if (opened.kind === 'refused') {
      refused.add(id);
      const where = await setAsideHandoff(dataDir, id, opened.why).then(
        (target) => path.relative(dataDir, target),
        (error: unknown) => `left where it is (${describeError(error)})`,
      );
      log.warn({ handoff: id, why: opened.why, where }, 'a hand-off was refused and set aside');
      return;
    }
    try {
      await file(opened.handoff);
      retryAt.delete(id);
    } catch (error) {
      retryAt.set(id, Date.now() + RETRY_MS);
      log.error({ err: error, handoff: id, group: opened.handoff.group }, 'a hand-off could not be filed; it is tried again in a minute');
    }
  };

  const scan = async (): Promise<void> => {
    for (const id of await abandonedHandoffs(dataDir, ABANDONED_MS)) {
      log.warn({ handoff: id }, 'removing a hand-off that an importer began and never finished');
      await removeAbandoned(dataDir, id);
    }
    for (const id of await waitingHandoffs(dataDir)) {
      if (stopping.signal.aborted) return;
      if (refused.has(id) || (retryAt.get(id) ?? 0) > Date.now()) continue;
      await take(id);
    }
  };

  // One scan at a time; a change heard of during one brings another right after it.
  const wake = () => {
    wanted++;
    if (running || stopping.signal.aborted) return;
    running = (async () => {
      for (let done = 0; done < wanted && !stopping.signal.aborted;) {
        done = wanted;
        await scan().catch((error: unknown) => log.error({ err: error }, 'the hand-off folder could not be read'));
      }
    })().finally(() => (running = undefined));
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path.join(dataDir, HANDOFF_FOLDER), () => wake());
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    // Polling alone, then.
  }
  const timer = setInterval(wake, POLL_MS);
  timer.unref();
  wake();

  return {
    async stop() {
      stopping.abort('the bot stopped');
      clearInterval(timer);
      watcher?.close();
      await running;
      await receiver.withdraw();
    },
  };
}

/** A hand-off's counts over every run of the bot that filed part of it. */
function wholeReport(
  report: ImportReport,
  before: readonly { outcome: string; name?: string; reason?: string }[],
): Pick<ImportReport, 'filed' | 'alreadyFiled' | 'failed'> {
  return {
    filed: report.filed + before.filter((p) => p.outcome === 'filed').length,
    alreadyFiled: report.alreadyFiled + before.filter((p) => p.outcome === 'already-filed').length,
    failed: [...before.filter((p) => p.outcome === 'failed').map((p) => ({ name: p.name ?? 'a photo', reason: p.reason ?? 'not filed' })), ...report.failed],
  };
}
