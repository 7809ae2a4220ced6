import path from 'node:path';
import { createEngine, noteToGroup, openLibrary, type OpenedLibrary } from '../app/index.ts';
import { DataDirInUseError, InputError, PathError, StartupError, describeError, type FaceEngine, type GroupId } from '../core/index.ts';
import { inspectPath } from '../files/index.ts';
import {
  folderItems,
  importNote,
  importPhotos,
  openExportFiles,
  parseTelegramExport,
  receiverOf,
  telegramItems,
  TELEGRAM_RESULT_FILE,
  writeHandoff,
  type HandoffReceiver,
  type ImportItem,
  type ImportReport,
  type MissingPhoto,
} from '../importers/index.ts';
import type { CommandContext } from './archive-command.ts';
import { groupOption } from './group-option.ts';
import { createImportProgress } from './progress.ts';
import { plural, shown } from './summary.ts';

export interface ImportOptions {
  readonly group?: string;
  readonly dryRun?: boolean;
}

/** What a caller other than bin/facefile.js may hand in: tests hold the import's engine with a gate. */
export interface ImportHooks {
  readonly wrapEngine?: (engine: FaceEngine) => FaceEngine;
}

/** Ctrl-C ended an import after the photos under way: exit code 130, as a shell expects. */
export class ImportStopped extends Error {
  override name = 'ImportStopped';
}

/** The biggest `result.json` read: a chat of many years is tens of megabytes. */
const MAX_RESULT_BYTES = 1024 * 1024 * 1024;

/**
 * `facefile import telegram <export>`: a group's history from Telegram Desktop's export (a folder
 * or a zip of it), into the group the bot files the chat's new photos in.
 */
export async function importTelegramCommand(source: string, options: ImportOptions, context: CommandContext, hooks: ImportHooks = {}): Promise<void> {
  const { out } = context;
  const location = path.resolve(source);
  const files = await openExportFiles(location, TELEGRAM_RESULT_FILE);
  try {
    const result = await files.read(TELEGRAM_RESULT_FILE, MAX_RESULT_BYTES);
    if (!('bytes' in result)) {
      throw new InputError(shown(location), `no ${TELEGRAM_RESULT_FILE}: not a Telegram Desktop export (export the chat's history as JSON, not HTML)`);
    }
    const exported = parseTelegramExport(Buffer.from(result.bytes).toString('utf8'), shown(path.join(location, TELEGRAM_RESULT_FILE)));
    const group = options.group === undefined ? exported.group : groupOption(options.group);
    const into = group === exported.group ? group : `${group} (as --group says; the export's chat is ${exported.group})`;
    out.write(
      `"${exported.name}", a ${exported.chatType.replaceAll('_', ' ')} of ${plural(exported.messages, 'message')}: ` +
        `${plural(exported.photos.length, 'photo')} to file into ${into}` +
        (exported.missing.length > 0 ? `, ${plural(exported.missing.length, 'photo')} not in the export` : '') +
        `${exported.otherMedia > 0 ? `; ${plural(exported.otherMedia, 'other file')} (stickers, videos, documents) left out` : ''}.\n`,
    );
    const from = `the Telegram export "${exported.name}" (${shown(location)})`;
    await importInto(group, telegramItems(exported, files), exported.missing, from, options, context, hooks);
  } finally {
    await files.close();
  }
}

/** `facefile import folder <dir> --group <group>`: photos that came by other means. */
export async function importFolderCommand(
  folder: string,
  options: ImportOptions & { readonly group: string },
  context: CommandContext,
  hooks: ImportHooks = {},
): Promise<void> {
  const root = path.resolve(folder);
  const group = groupOption(options.group);
  if ((await inspectPath(root)) !== 'folder') throw new PathError(root, 'not-a-folder');
  const items = await folderItems(root);
  context.out.write(`${plural(items.length, 'photo')} in ${shown(root)} to file into ${group}.\n`);
  await importInto(group, items, [], `the folder ${shown(root)}`, options, context, hooks);
}

async function importInto(
  group: GroupId,
  items: readonly ImportItem[],
  missing: readonly MissingPhoto[],
  from: string,
  options: ImportOptions,
  context: CommandContext,
  hooks: ImportHooks,
): Promise<void> {
  const { config, log, out } = context;
  if (options.dryRun) {
    out.write(`Dry run: nothing was filed.${missing.length > 0 ? ' Not in the export:' : ''}\n`);
    writeMissing(out, missing);
    return;
  }
  if (items.length === 0) {
    writeMissing(out, missing);
    out.write('No photos to file.\n');
    return;
  }
  const engine = async () => {
    // Only once the data folder is this process's: a running bot takes the photos without them.
    out.write('Loading the face models…\n');
    const created = await createEngine(config);
    return hooks.wrapEngine ? hooks.wrapEngine(created) : created;
  };
  let opened: OpenedLibrary;
  try {
    opened = await openLibrary(config, { role: 'import', log, engine });
  } catch (error) {
    // One writer per data folder: a running bot takes the photos and files them itself.
    if (!(error instanceof DataDirInUseError)) throw error;
    const receiver = await receiverOf(config.dataDir, error.holder);
    if (!receiver) {
      throw new StartupError(
        `${error.dataDir} is in use by a facefile that takes no photos from an import${error.holder ? ` (${error.holder})` : ''}: ` +
          'another import or an enrolment (wait for it to end), or a bot of an earlier version (stop it, run the import, start it again); nothing was filed',
        { cause: error },
      );
    }
    await handOver(group, items, missing, from, receiver, context);
    return;
  }
  const stop = new AbortController();
  const onCtrlC = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    process.stderr.write('\nfacefile: stopping after the photos under way (Ctrl-C again to stop at once); run it again to go on.\n');
  };
  process.on('SIGINT', onCtrlC);
  let report: ImportReport;
  try {
    const progress = createImportProgress(items.length);
    try {
      report = await importPhotos(opened.library, group, items, {
        log,
        concurrency: opened.engine.info.workers * 2,
        maxBytes: config.decoder.maxBytes,
        signal: stop.signal,
        onPhoto: () => progress.advance(),
        cursors: opened.importCursors,
      });
    } finally {
      progress.end();
    }
  } finally {
    process.off('SIGINT', onCtrlC);
    await opened.close();
  }
  writeReport(out, group, report, missing);
  for (const photo of missing) log.warn({ group, message: photo.message, file: photo.file }, 'an exported photo is not in the export');
  if (stop.signal.aborted) throw new ImportStopped(`stopped by Ctrl-C with ${plural(report.notStarted, 'photo')} left`);
  // The group hears once that its history is in; nobody is answered for the photos themselves.
  try {
    if (await noteToGroup(config, group, importNote(report, missing, "the importer's output and its log"))) out.write('The group was told in Telegram.\n');
  } catch (error) {
    log.warn({ err: error, group }, 'the group could not be told that the import ended');
    process.stderr.write(`facefile: the group could not be told that the import ended (${describeError(error)}); the photos are filed.\n`);
  }
}

/**
 * A bot holds the data folder and takes hand-offs: the photos go into its spool (hard-linked where
 * the disk allows, else copied) and it files them after the photos posted meanwhile. Nothing is
 * filed here and no model is loaded; Ctrl-C while handing over leaves nothing behind.
 */
async function handOver(
  group: GroupId,
  items: readonly ImportItem[],
  missing: readonly MissingPhoto[],
  from: string,
  receiver: HandoffReceiver,
  context: CommandContext,
): Promise<void> {
  const { config, log, out } = context;
  out.write(`A facefile bot is running on ${shown(config.dataDir)} (process ${receiver.pid}): handing the photos over to it.\n`);
  const stop = new AbortController();
  const onCtrlC = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    process.stderr.write('\nfacefile: stopping; nothing is handed over (Ctrl-C again to stop at once).\n');
  };
  process.on('SIGINT', onCtrlC);
  let receipt: Awaited<ReturnType<typeof writeHandoff>>;
  try {
    const progress = createImportProgress(items.length);
    try {
      receipt = await writeHandoff({
        dataDir: config.dataDir,
        group,
        from,
        items,
        missing,
        maxBytes: config.decoder.maxBytes,
        log,
        signal: stop.signal,
        onPhoto: () => progress.advance(),
      });
    } finally {
      progress.end();
    }
  } finally {
    process.off('SIGINT', onCtrlC);
  }
  if (!receipt) throw new ImportStopped('stopped by Ctrl-C while handing the photos over; nothing was handed over');
  const handed = receipt.linked + receipt.copied;
  log.info(
    { group, handoff: receipt.id, from, linked: receipt.linked, copied: receipt.copied, unreadable: receipt.unreadable.length },
    'photos handed over to the running bot',
  );
  out.write(
    `Handed ${plural(handed, 'photo')} over to the bot for ${group} (in ${shown(receipt.folder)}: ${receipt.linked} linked, ${receipt.copied} copied). ` +
      'It files them after the photos posted meanwhile, each with its date and poster, and each once however often this runs.\n',
  );
  const failed = receipt.unreadable.length + missing.length;
  if (failed > 0) {
    out.write(`Not handed over (${failed}):\n`);
    writeMissing(out, missing);
    for (const photo of [...receipt.unreadable].sort((a, b) => a.name.localeCompare(b.name))) out.write(`  ${photo.name}: ${photo.reason}\n`);
  }
  const told = group.startsWith('tg:') && config.telegram ? '; when it is done the group gets one short note' : '';
  out.write(`Follow it with /stats in the group ("Importing history: …")${told}. The bot's log has a line for each photo not filed.\n`);
}

function writeReport(out: NodeJS.WritableStream, group: GroupId, report: ImportReport, missing: readonly MissingPhoto[]): void {
  const failed = report.failed.length + missing.length;
  out.write(
    `Filed ${plural(report.filed, 'photo')} into ${group}` +
      (report.alreadyFiled > 0 ? `; ${report.alreadyFiled} were there already` : '') +
      (failed > 0 ? `; ${failed} could not be filed (listed below)` : '') +
      `${report.notStarted > 0 ? `; ${report.notStarted} left for the next run` : ''}.\n`,
  );
  for (const [name, count] of [...report.people].sort(([a], [b]) => a.localeCompare(b))) out.write(`  ${name}: ${plural(count, 'photo')}\n`);
  if (failed === 0) return;
  out.write('Not filed:\n');
  writeMissing(out, missing);
  for (const failure of [...report.failed].sort((a, b) => a.name.localeCompare(b.name))) out.write(`  ${failure.name}: ${failure.reason}\n`);
}

function writeMissing(out: NodeJS.WritableStream, missing: readonly MissingPhoto[]): void {
  for (const photo of missing) out.write(`  message ${photo.message} of ${photo.date} (${photo.file}): ${photo.why}\n`);
}
