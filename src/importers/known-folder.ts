import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { GroupId, Log } from '../core/index.ts';
import { DECODE_FAILURE_MESSAGES, describeAdvice } from '../core/index.ts';
import type { EnrollResult, PhotoLibrary } from '../core/library/index.ts';
import { listPhotos } from '../files/index.ts';

/** One person's folder after `enrollKnownFolder`. */
export interface KnownFolderPerson {
  /** The folder name, which is the name enrolled. */
  readonly name: string;
  /** Samples this run added. */
  readonly added: number;
  /** Photos that were samples of them already (a second run over the same folder). */
  readonly already: number;
  /** Samples the person has now. */
  readonly samples: number;
  /** Earlier photos of the group filed under them by this run. */
  readonly refiled: number;
  /** Photos taken as samples that a better photo would improve (small, blurred, unlike the others): one sentence each. */
  readonly advice: readonly { readonly file: string; readonly text: string }[];
  /** Photos not used, each with the reason. */
  readonly skipped: readonly { readonly file: string; readonly reason: string }[];
}

export interface KnownFolderOptions {
  readonly log: Log;
  /** Who enrols, for the audit log: the person at the terminal acts as an admin of the group. */
  readonly by: string;
  /** Told after each photo, for a progress line. */
  readonly onPhoto?: (file: string) => void;
  /** The biggest photo read (bytes); a bigger one is skipped without being read. */
  readonly maxBytes: number;
}

/**
 * Enrols a group's people from a folder holding one sub-folder of photos per person (the same
 * layout as `facefile archive`'s known faces), as an admin would with `/enroll <name>` on each
 * photo: the photos become the group's too, filed like posts, and earlier photos that now show
 * someone are re-filed. Running it again adds only the photos that are new in the folder.
 */
export async function enrollKnownFolder(library: PhotoLibrary, group: GroupId, knownDir: string, options: KnownFolderOptions): Promise<KnownFolderPerson[]> {
  const people: KnownFolderPerson[] = [];
  for (const name of await personFolders(knownDir)) {
    const tally = { added: 0, already: 0, samples: 0, refiled: 0 };
    const skipped: { file: string; reason: string }[] = [];
    const advice: { file: string; text: string }[] = [];
    // A photo of several faces, none clearly theirs yet, is tried again after the others: their
    // samples from those may then tell which face agrees; with none, the faces of their other such
    // photos may (the one face they all share is theirs).
    const undecided: { file: string; hash: string }[] = [];
    const count = (file: string, result: EnrollResult | Skip, last: boolean): boolean => {
      if (result.kind === 'enrolled') {
        tally.added++;
        tally.samples = result.samples;
        tally.refiled += result.refiled;
        for (const piece of result.advice) advice.push({ file, text: describeAdvice(piece, name) });
      } else if (result.kind === 'already-a-sample') {
        tally.already++;
        tally.samples = result.samples;
      } else if (result.kind === 'choose-face' && !last) {
        undecided.push({ file, hash: result.hash });
      } else {
        skipped.push({ file, reason: whyNot(result, name) });
        // A name refused once is refused for every photo: say it once.
        if (result.kind === 'invalid-name' || result.kind === 'confusable-name' || result.kind === 'name-taken') return false;
      }
      return true;
    };
    for (const file of await listPhotos(path.join(knownDir, name))) {
      const result = await enrollOne(library, group, name, file, options);
      options.onPhoto?.(file);
      if (!count(file, result, false)) break;
    }
    for (const { file, hash } of undecided) {
      const alongside = undecided.flatMap((other) => (other.hash === hash ? [] : [other.hash]));
      count(file, await library.enroll(group, { name, photo: { hash }, face: 'likely', alongside, by: options.by, byAdmin: true, byName: options.by }), true);
    }
    options.log.info({ group, person: name, ...tally, skipped: skipped.length }, 'known folder enrolled');
    people.push({ name, ...tally, skipped, advice });
  }
  return people;
}

type Skip = { readonly kind: 'too-large' | 'unreadable'; readonly reason: string };

async function enrollOne(library: PhotoLibrary, group: GroupId, name: string, file: string, options: KnownFolderOptions): Promise<EnrollResult | Skip> {
  let bytes: Uint8Array;
  try {
    // Stat first: a huge file named .jpg is refused without being read into memory.
    if ((await stat(file)).size > options.maxBytes) return { kind: 'too-large', reason: `larger than ${Math.round(options.maxBytes / 1e6)} MB` };
    bytes = await readFile(file);
  } catch (error) {
    options.log.warn({ err: error, file }, 'known photo unreadable');
    return { kind: 'unreadable', reason: 'cannot be read' };
  }
  return library.enroll(group, {
    name,
    photo: { bytes, originalName: path.basename(file), source: { importedFrom: 'known-folder' } },
    face: 'likely',
    by: options.by,
    byAdmin: true,
    byName: options.by,
  });
}

function whyNot(result: Exclude<EnrollResult, { kind: 'enrolled' | 'already-a-sample' }> | Skip, name: string): string {
  switch (result.kind) {
    case 'too-large':
    case 'unreadable':
      return result.reason;
    case 'choose-face':
      return `${result.faces} faces, none clearly ${name}'s (crop the photo to one face, or enrol it in the chat and pick the face)`;
    case 'no-usable-face':
      return result.reason === 'no-face' ? 'no face found' : 'the face is too small or unclear';
    case 'no-such-face':
      return 'no such face';
    case 'undecodable':
      return DECODE_FAILURE_MESSAGES[result.reason];
    case 'unknown-photo':
      return 'the photo could not be stored';
    case 'invalid-name':
      return result.reason === 'empty' ? 'the folder name is not a usable name' : 'the folder name is too long for a name';
    case 'confusable-name':
      return `the name looks too much like ${result.person.name}, who is enrolled already (rename the folder to that name to add to them)`;
    case 'someone-else':
      return `the face is ${result.person.name}'s, who is enrolled already`;
    case 'name-taken':
    case 'not-allowed':
      return `${result.person.name} is linked to a member's account`;
  }
}

/** The person folders: visible sub-folders (or links to folders), in name order. */
async function personFolders(knownDir: string): Promise<string[]> {
  const names = (await readdir(knownDir)).filter((name) => !name.startsWith('.')).sort((a, b) => a.localeCompare(b));
  const folders: string[] = [];
  for (const name of names) if ((await stat(path.join(knownDir, name)).catch(() => undefined))?.isDirectory()) folders.push(name);
  return folders;
}
