import path from 'node:path';
import { openLibrary, createEngine } from '../app/index.ts';
import { PathError } from '../core/index.ts';
import { inspectPath } from '../files/index.ts';
import { enrollKnownFolder } from '../importers/index.ts';
import type { CommandContext } from './archive-command.ts';
import { groupOption } from './group-option.ts';
import { plural, shown } from './summary.ts';

export interface EnrollOptions {
  readonly group?: string;
}

/**
 * `facefile enroll --group <id> [known]`: a group's people from a folder, one sub-folder of photos
 * per person, instead of an /enroll message per photo. Without --group it lists the groups.
 */
export async function enrollCommand(folder: string | undefined, options: EnrollOptions, { config, log, out }: CommandContext): Promise<void> {
  const knownDir = path.resolve(folder ?? config.archive.knownDir);
  const group = options.group === undefined ? undefined : groupOption(options.group);
  if (group !== undefined && (await inspectPath(knownDir)) !== 'folder') throw new PathError(knownDir, 'not-a-folder');
  out.write(group === undefined ? 'Opening the library…\n' : `Enrolling the people in ${shown(knownDir)} into ${group}. Loading the face models…\n`);
  const opened = await openLibrary(config, { role: 'enroll', log, engine: () => createEngine(config) });
  try {
    const groups = await opened.library.groups();
    if (group === undefined) {
      if (groups.length === 0) out.write('The library has no groups yet: add the bot to a group first, or name one with --group.\n');
      else out.write(`Groups in the library (pass one with --group):\n${groups.map((g) => `  ${g}`).join('\n')}\n`);
      return;
    }
    if (!groups.includes(group)) out.write(`The library has nothing of ${group} yet; its people are enrolled for when the bot sees it.\n`);
    let done = 0;
    const people = await enrollKnownFolder(opened.library, group, knownDir, {
      log,
      by: 'facefile enroll',
      maxBytes: config.decoder.maxBytes,
      onPhoto: () => {
        done++;
      },
    });
    if (people.length === 0) {
      out.write(`No person folders in ${shown(knownDir)}: make one per person, e.g. ${shown(path.join(knownDir, 'Anna Smith', 'anna1.jpg'))}.\n`);
      return;
    }
    for (const person of people) {
      const already = person.already > 0 ? `, ${person.already} already` : '';
      const refiled = person.refiled > 0 ? `; ${plural(person.refiled, 'earlier photo')} filed under them` : '';
      out.write(`  ${person.name}: ${plural(person.added, 'sample')} added${already} (${person.samples} in all)${refiled}\n`);
      for (const skip of person.skipped) out.write(`    not used: ${shown(skip.file)}: ${skip.reason}\n`);
      for (const tip of person.advice) out.write(`    used, could be better: ${shown(tip.file)}: ${tip.text}\n`);
    }
    const added = people.reduce((sum, p) => sum + p.added, 0);
    out.write(`Enrolled ${plural(people.length, 'person', 'people')} from ${plural(done, 'photo')} (${plural(added, 'new sample')}) into ${group}.\n`);
  } finally {
    await opened.close();
  }
}
