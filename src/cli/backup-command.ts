import path from 'node:path';
import { backupLibrary, restoreLibrary } from '../app/index.ts';
import type { CommandContext } from './archive-command.ts';
import { plural, shown } from './summary.ts';

/** `facefile backup [file]`: the library and its photos in one file, while a bot may run. */
export async function backupCommand(file: string | undefined, { config, log, out }: CommandContext): Promise<void> {
  const target = path.resolve(file ?? `facefile-backup-${new Date().toISOString().slice(0, 10)}.tar`);
  out.write(`Backing up the library in ${shown(config.dataDir)}…\n`);
  const report = await backupLibrary(config, target);
  log.info({ ...report }, 'backup written');
  const gone = report.photosGone > 0 ? ` (${plural(report.photosGone, 'photo')} forgotten meanwhile left out)` : '';
  out.write(
    `Backed up ${plural(report.photos, 'photo')} of ${plural(report.groups, 'group')} and the library to ${shown(report.file)} (${megabytes(report.bytes)})${gone}.\n`,
  );
}

/** `facefile restore <file>`: a backup into an empty DATA_DIR; then `facefile bot` runs on it. */
export async function restoreCommand(file: string, { config, log, out }: CommandContext): Promise<void> {
  out.write(`Restoring ${shown(path.resolve(file))} into ${shown(config.dataDir)}…\n`);
  const report = await restoreLibrary(config, log, file);
  log.info({ ...report }, 'backup restored');
  out.write(
    `Restored ${plural(report.photos, 'photo')} of ${plural(report.groups, 'group')}, and ${plural(report.albumLinks, 'album entry', 'album entries')}. Start facefile bot on this DATA_DIR.\n`,
  );
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
