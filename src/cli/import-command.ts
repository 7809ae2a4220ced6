import path from 'node:path';
import { createEngine, noteToGroup, openLibrary } from '../app/index.ts';
import { DataDirInUseError, InputError, PathError, StartupError, describeError, type FaceEngine, type GroupId } from '../core/index.ts';
import { inspectPath } from '../files/index.ts';
import {
  folderItems,
  importPhotos,
  openExportFiles,
  parseTelegramExport,
  telegramItems,
  TELEGRAM_RESULT_FILE,
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
    await importInto(group, telegramItems(exported, files), exported.missing, options, context, hooks);
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
  await importInto(group, items, [], options, context, hooks);
}

async function importInto(
  group: GroupId,
  items: readonly ImportItem[],
  missing: readonly MissingPhoto[],
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
  out.write('Loading the face models…\n');
  const engine = async () => {
    const created = await createEngine(config);
    return hooks.wrapEngine ? hooks.wrapEngine(created) : created;
  };
  const opened = await openLibrary(config, { role: 'import', log, engine }).catch((error: unknown) => {
    // One writer per data folder: a running bot files its own photos, and the import waits for it.
    if (error instanceof DataDirInUseError) {
      throw new StartupError(
        `a facefile bot (or another facefile) is using ${error.dataDir}${error.holder ? ` (${error.holder})` : ''}: stop the bot, run the import, then start the bot again; nothing was filed`,
        { cause: error },
      );
    }
    throw error;
  });
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
    if (await noteToGroup(config, group, groupNote(report, missing))) out.write('The group was told in Telegram.\n');
  } catch (error) {
    log.warn({ err: error, group }, 'the group could not be told that the import ended');
    process.stderr.write(`facefile: the group could not be told that the import ended (${describeError(error)}); the photos are filed.\n`);
  }
}

/** The group's one note: the counts, and where the photos not filed are listed. */
function groupNote(report: ImportReport, missing: readonly MissingPhoto[]): string {
  const counts = [
    `${plural(report.filed, 'photo')} filed`,
    ...(report.alreadyFiled > 0 ? [`${report.alreadyFiled} here already`] : []),
    `${report.failed.length} unreadable`,
    ...(missing.length > 0 ? [`${missing.length} missing from the export`] : []),
  ];
  const where = report.failed.length + missing.length > 0 ? " The ones not filed are listed in the importer's output and its log." : '';
  return `The history import is done: ${counts.join(', ')}.${where}`;
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
