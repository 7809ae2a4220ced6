import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Box, Log, PersonScore } from '../core/index.ts';
import { iou } from '../core/index.ts';
import { writeAtomically } from '../files/index.ts';

/**
 * What the user taught the archiver beyond the known folders: faces that are not a person
 * ("not Anna" on a face, "no" to "Is this Anna?"). Kept in the known folder, beside the people it
 * is about, so the page and `facefile archive` read the same corrections and a copy of the folder
 * takes them along.
 */
export const CORRECTIONS_NAME = '.facefile-corrections.json';

/** A face is the same face when its box overlaps the stored one this much: boxes move by a pixel when models change. */
const SAME_FACE_IOU = 0.5;
/** A bound on the file, so a hostile or runaway file cannot take the run's memory. */
const MAX_ENTRIES = 100_000;

const boxSchema = z.object({ x: z.number(), y: z.number(), width: z.number().positive(), height: z.number().positive() });
const entrySchema = z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), box: boxSchema, person: z.string().min(1).max(256) });
const fileSchema = z.object({ version: z.literal(1), notThis: z.array(entrySchema).max(MAX_ENTRIES) });

/** "This face, in the photo with these bytes, is not `person`." */
export type NotThis = z.infer<typeof entrySchema>;

export interface Corrections {
  readonly notThis: readonly NotThis[];
}

export const NO_CORRECTIONS: Corrections = { notThis: [] };

/**
 * The corrections kept in `knownDir`; none when there is no file yet. A file that does not parse
 * is logged and ignored (the run files as if there were none) rather than stopping the run; the
 * next correction made replaces it.
 */
export async function readCorrections(knownDir: string, log?: Log): Promise<Corrections> {
  const file = path.join(knownDir, CORRECTIONS_NAME);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log?.warn({ err: error, file }, 'corrections unreadable: none applied');
    return NO_CORRECTIONS;
  }
  try {
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (parsed.success) return { notThis: parsed.data.notThis };
    log?.warn({ file, problem: parsed.error.issues[0]?.message }, 'corrections of another shape: none applied');
  } catch (error) {
    log?.warn({ err: error, file }, 'corrections not JSON: none applied');
  }
  return NO_CORRECTIONS;
}

/** Adds "not `person`" for a face (once: the same face and person again changes nothing) and saves the file atomically. */
export async function addNotThis(knownDir: string, entry: NotThis, log?: Log): Promise<Corrections> {
  const current = await readCorrections(knownDir, log);
  if (current.notThis.some((e) => sameEntry(e, entry))) return current;
  return save(knownDir, { notThis: [...current.notThis, entry].slice(-MAX_ENTRIES) });
}

/** Takes back "not `person`" for a face: the user has now said it is them. */
export async function removeNotThis(knownDir: string, entry: NotThis, log?: Log): Promise<Corrections> {
  const current = await readCorrections(knownDir, log);
  if (!current.notThis.some((e) => sameEntry(e, entry))) return current;
  return save(knownDir, { notThis: current.notThis.filter((e) => !sameEntry(e, entry)) });
}

function sameEntry(a: NotThis, b: NotThis): boolean {
  return a.hash === b.hash && a.person === b.person && iou(a.box, b.box) >= SAME_FACE_IOU;
}

async function save(knownDir: string, corrections: Corrections): Promise<Corrections> {
  await writeAtomically(path.join(knownDir, CORRECTIONS_NAME), `${JSON.stringify({ version: 1, ...corrections }, null, 1)}\n`);
  return corrections;
}

/** For each face of the photo with `hash`, the people it was said not to be. */
export function rejectedFor(corrections: Corrections, hash: string, faces: readonly { readonly box: Box }[]): ReadonlySet<string>[] {
  const entries = corrections.notThis.filter((e) => e.hash === hash);
  return faces.map((face) => new Set(entries.filter((e) => iou(e.box, face.box) >= SAME_FACE_IOU).map((e) => e.person)));
}

/** Each face's scores without the people it was said not to be: the matcher then decides as if they did not exist for that face. */
export function withoutRejected<T extends readonly PersonScore[] | undefined>(scores: readonly T[], rejected: readonly ReadonlySet<string>[]): T[] {
  return scores.map((scored, i) => {
    const not = rejected[i];
    return scored && not && not.size > 0 ? (scored.filter((s) => !not.has(s.personId)) as unknown as T) : scored;
  });
}
