import type { ImportReport } from './import-photos.ts';
import type { MissingPhoto } from './telegram-export.ts';

/**
 * The group's one note when a history import is done: the counts, and where the photos not filed
 * are listed (`listedIn`: the importer's output and its log, or the bot's log for a hand-off).
 */
export function importNote(report: Pick<ImportReport, 'filed' | 'alreadyFiled' | 'failed'>, missing: readonly MissingPhoto[], listedIn: string): string {
  const counts = [
    `${report.filed} photo${report.filed === 1 ? '' : 's'} filed`,
    ...(report.alreadyFiled > 0 ? [`${report.alreadyFiled} here already`] : []),
    `${report.failed.length} unreadable`,
    ...(missing.length > 0 ? [`${missing.length} missing from the export`] : []),
  ];
  const where = report.failed.length + missing.length > 0 ? ` The ones not filed are listed in ${listedIn}.` : '';
  return `The history import is done: ${counts.join(', ')}.${where}`;
}
