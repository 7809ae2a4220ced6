import path from 'node:path';
import type { ArchiveReport } from '../archive/archive-job.ts';
import { NO_FACES_FOLDER, UNKNOWN_FOLDER } from '../archive/archive-job.ts';

/** A path as the user would type it: relative when it is below the current folder. */
export function shown(target: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, target);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? `./${relative}` : target;
}

/** The closing summary of `facefile archive`, for people. */
export function formatSummary(report: ArchiveReport, outputDir: string, zipDir: string | undefined): string {
  const lines: string[] = [];
  const seconds = report.elapsedMs / 1000;
  lines.push(
    `Archived ${plural(report.photos, 'photo')} in ${seconds.toFixed(1)} s (${report.photosPerSecond.toFixed(2)} photos/s): ` +
      `${plural(report.faces, 'face')}, ${report.newlyFiled} new ${report.newlyFiled === 1 ? 'copy' : 'copies'} filed.`,
  );
  const width = Math.max(12, ...Object.keys(report.perPerson).map((n) => n.length)) + 2;
  for (const [person, count] of Object.entries(report.perPerson)) lines.push(`  ${person.padEnd(width)}${plural(count, 'photo')}`);
  lines.push(`  ${UNKNOWN_FOLDER.padEnd(width)}${plural(report.unknown, 'photo')} with faces of nobody known`);
  lines.push(`  ${NO_FACES_FOLDER.padEnd(width)}${plural(report.noFaces, 'photo')} without faces`);
  if (report.errors.length > 0) {
    lines.push(`  ${'errors'.padEnd(width)}${plural(report.errors.length, 'photo')} skipped:`);
    for (const error of report.errors) lines.push(`    ${shown(error.file)}: ${error.reason}`);
  }
  const problems = report.known.flatMap((k) => k.problems.map((p) => `    ${shown(p.file)}: ${p.reason}`));
  const unusable = report.known.filter((k) => k.samples === 0).map((k) => k.name);
  if (problems.length > 0) lines.push('  known photos not used:', ...problems);
  if (unusable.length > 0) lines.push(`  nobody to look for under ${unusable.join(', ')}: no usable face in their photos`);
  lines.push(`Sorted copies: ${shown(outputDir)}`);
  if (zipDir) lines.push(`Zips: ${shown(zipDir)} (${plural(report.zips.length, 'zip')})`);
  return lines.join('\n');
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
