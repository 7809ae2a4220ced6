import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { StartupError } from '../../core/index.ts';
import { writeAtomically } from '../../files/index.ts';
import type { LibrarySchema } from './schema.ts';

/** The marker in the data folder that names the volume. */
export const VOLUME_MARKER = 'facefile-volume.json';

/**
 * Checks that this process's data folder is the photo volume every other process of the deployment
 * mounts. The first process writes a marker with a new id into the folder and the same id into
 * the shared database; every later one finds both and compares them. A process whose folder lacks
 * the marker, or holds another one, would file originals where no other process can read them: it
 * is refused at start with one line that says why. Returns the volume's id, and whether this
 * process created it.
 */
export async function checkSharedVolume(dataDir: string, db: Kysely<LibrarySchema>): Promise<{ id: string; created: boolean }> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, VOLUME_MARKER);
  const inFolder = await readMarker(file);
  const inDatabase = await recorded(db);
  if (inDatabase && inFolder === inDatabase) return { id: inDatabase, created: false };
  if (inDatabase && !inFolder) {
    throw new StartupError(
      `the data folder ${dataDir} is not the photo volume of this deployment (it has no ${VOLUME_MARKER}; the database names volume ${inDatabase}): mount the same DATA_DIR volume on every bot and worker`,
    );
  }
  if (inDatabase && inFolder !== inDatabase) throw otherVolume(dataDir, inFolder!, inDatabase);
  // No volume recorded yet: this process is the first. Two first processes at once agree: the
  // marker is never replaced once linked, and the database keeps the first id it is given.
  const id = inFolder ?? (await markFolder(file));
  await db
    .insertInto('deployment')
    .values({ key: 'volume', value: id })
    .onConflict((c) => c.column('key').doNothing())
    .execute();
  // `id` is what the folder holds now (markFolder returns the marker that won there).
  const winner = await recorded(db);
  if (winner !== id) throw otherVolume(dataDir, id, winner);
  return { id, created: !inFolder };
}

function otherVolume(dataDir: string, inFolder: string, inDatabase: string | undefined): StartupError {
  return new StartupError(
    `the data folder ${dataDir} holds volume ${inFolder}, but this deployment's database belongs to volume ${inDatabase}: mount the same DATA_DIR volume on every bot and worker`,
  );
}

/**
 * Writes a new marker unless one appears first: the marker is written beside its name, flushed,
 * and linked into place, which fails rather than replace a marker another process linked a moment
 * before. Returns the id the folder then holds.
 */
async function markFolder(file: string): Promise<string> {
  const id = randomUUID();
  const temporary = `${file}.${id}.tmp`;
  await writeAtomically(temporary, `${JSON.stringify({ id, createdAt: new Date().toISOString() })}\n`, { durable: true });
  try {
    await link(temporary, file);
    return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readMarker(file))!;
  } finally {
    await rm(temporary, { force: true });
  }
}

async function recorded(db: Kysely<LibrarySchema>): Promise<string | undefined> {
  return (await db.selectFrom('deployment').select('value').where('key', '=', 'volume').executeTakeFirst())?.value;
}

async function readMarker(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StartupError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let id: unknown;
  try {
    id = (JSON.parse(text) as { id?: unknown } | null)?.id;
  } catch {
    id = undefined;
  }
  if (typeof id !== 'string' || id === '') throw new StartupError(`${file} is damaged: it names no volume; restore it from another process's data folder`);
  return id;
}
