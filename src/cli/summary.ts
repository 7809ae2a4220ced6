import path from 'node:path';
import stringWidth from 'string-width';
import type { ArchiveReport } from '../archive/index.ts';
import { NO_FACES_FOLDER, UNKNOWN_FOLDER } from '../archive/index.ts';

/** A path as the user would type it: relative when it is below the current folder. */
export function shown(target: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, target);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? `./${relative}` : target;
}

/** The closing summary of `facefile archive`, for people. The counts are what the folders hold after the run. */
export function formatSummary(report: ArchiveReport, outputDir: string, zipDir: string | undefined): string {
  const lines: string[] = [];
  const seconds = report.elapsedMs / 1000;
  const { changes } = report;
  const would = report.dryRun ? 'would be ' : '';
  lines.push(
    `${report.dryRun ? 'Dry run over' : 'Archived'} ${plural(report.photos, 'photo')} in ${seconds.toFixed(1)} s (${report.photosPerSecond.toFixed(2)} photos/s): ` +
      `${plural(report.faces, 'face')}, ${plural(changes.added.length, 'copy', 'copies')} ${would}added, ${changes.removed.length} ${would}removed.`,
  );
  if (report.dryRun) {
    for (const change of changes.removed) lines.push(`  - ${change.path}`);
    for (const change of changes.added) lines.push(`  + ${change.path}`);
    for (const zip of changes.zipsWritten) lines.push(`  zip ${shown(zip)} would be written`);
    for (const zip of changes.zipsRemoved) lines.push(`  zip ${shown(zip)} would be removed`);
  }
  const width = Math.max(12, ...Object.keys(report.perPerson).map((n) => stringWidth(n))) + 2;
  for (const [person, count] of Object.entries(report.perPerson)) lines.push(`  ${padEnd(person, width)}${plural(count, 'photo')}`);
  lines.push(`  ${padEnd(UNKNOWN_FOLDER, width)}${plural(report.unknown, 'photo')} with faces of nobody known`);
  lines.push(`  ${padEnd(NO_FACES_FOLDER, width)}${plural(report.noFaces, 'photo')} without faces`);
  if (report.errors.length > 0) {
    lines.push(`  ${padEnd('errors', width)}${plural(report.errors.length, 'photo')} skipped:`);
    for (const error of report.errors) lines.push(`    ${shown(error.file)}: ${error.reason}`);
  }
  if (report.duplicates.length > 0) {
    const copies = report.duplicates.reduce((sum, d) => sum + d.same.length, 0);
    lines.push(`  ${padEnd('duplicates', width)}${plural(copies, 'photo')} with the same bytes as another, filed once:`);
    for (const duplicate of report.duplicates) lines.push(`    ${shown(duplicate.kept)} = ${duplicate.same.map((file) => shown(file)).join(' = ')}`);
  }
  if (report.unknownClusters.length > 0) {
    const sizes = report.unknownClusters.map((c) => c.length).join(', ');
    lines.push(`  ${plural(report.unknownClusters.length, 'unknown face', 'unknown faces')} seen in several photos (${sizes}): see the report`);
  }
  if (changes.keptChanged.length > 0) {
    lines.push(`  kept, as they were changed since facefile placed them (no longer matched; delete them if you like):`);
    for (const kept of changes.keptChanged) lines.push(`    ${kept}`);
  }
  const problems = report.known.flatMap((k) =>
    k.problems.flatMap((p) => [`    ${shown(p.file)}: ${p.reason}`, ...(p.sheet ? [`      its faces: ${shown(p.sheet)}`] : [])]),
  );
  const unusable = report.known.filter((k) => k.samples === 0).map((k) => k.name);
  if (problems.length > 0) lines.push('  known photos not used:', ...problems);
  const advice = report.known.flatMap((k) => k.advice.map((a) => `    ${shown(a.file)}: ${a.text}`));
  if (advice.length > 0) lines.push('  known photos used that a better photo would improve:', ...advice);
  if (unusable.length > 0) lines.push(`  nobody to look for under ${unusable.join(', ')}: no usable face in their photos`);
  lines.push(`Sorted copies: ${shown(outputDir)}`);
  if (report.reportFile) lines.push(`Review them: ${shown(report.reportFile)}`);
  if (zipDir) lines.push(`Zips: ${shown(zipDir)} (${plural(report.zips.length, 'zip')})`);
  if (report.dryRun) lines.push('Dry run: nothing was changed.');
  return lines.join('\n');
}

/**
 * Pads to a width in terminal columns, not in UTF-16 units: a CJK character or an emoji takes
 * two columns, and a name like 王小明 would push its count out of line with `padEnd`.
 */
function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}

export function plural(count: number, word: string, words = `${word}s`): string {
  return `${count} ${count === 1 ? word : words}`;
}
