import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StartupError } from '../../src/core/index.ts';
import { VOLUME_MARKER, checkSharedVolume, openLibraryDatabase, type LibraryDatabase } from '../../src/storage/sql/index.ts';

const folders: string[] = [];
const databases: LibraryDatabase[] = [];
after(async () => {
  for (const db of databases) await db.close();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-volume-'));
  folders.push(dir);
  return dir;
}

/** One shared database (SQLite in its own folder here; PostgreSQL in a deployment) and data folders to check against it. */
async function database(): Promise<LibraryDatabase> {
  const db = await openLibraryDatabase({ dataDir: await folder() });
  databases.push(db);
  return db;
}

const refused = (pattern: RegExp) => (error: unknown) => error instanceof StartupError && pattern.test(error.message);

describe('checkSharedVolume: every process of a deployment mounts the same data volume', () => {
  it('GIVEN the first process THEN it marks the folder and the database; GIVEN another on the same folder THEN it agrees', async () => {
    const db = await database();
    const shared = await folder();
    const first = await checkSharedVolume(shared, db.db);
    assert.equal(first.created, true);
    const second = await checkSharedVolume(shared, db.db);
    assert.deepEqual(second, { id: first.id, created: false });
  });

  it('GIVEN a process whose folder has no marker (a local folder, not the volume) THEN it is refused, naming the volume', async () => {
    const db = await database();
    const { id } = await checkSharedVolume(await folder(), db.db);
    await assert.rejects(
      checkSharedVolume(await folder(), db.db),
      refused(new RegExp(`is not the photo volume of this deployment .*names volume ${id}.*mount the same DATA_DIR`)),
    );
  });

  it('GIVEN a folder marked by another deployment THEN it is refused; GIVEN a damaged marker THEN it says so', async () => {
    const db = await database();
    await checkSharedVolume(await folder(), db.db);
    const other = await folder();
    await checkSharedVolume(other, (await database()).db);
    await assert.rejects(checkSharedVolume(other, db.db), refused(/holds volume .*, but this deployment's database belongs to volume/));
    const damaged = await folder();
    await writeFile(path.join(damaged, VOLUME_MARKER), '{"id": ');
    await assert.rejects(checkSharedVolume(damaged, (await database()).db), refused(/is damaged: it names no volume/));
  });

  it('GIVEN two first processes at once on one folder THEN both agree on one volume', async () => {
    const db = await database();
    const shared = await folder();
    const [a, b] = await Promise.all([checkSharedVolume(shared, db.db), checkSharedVolume(shared, db.db)]);
    assert.equal(a.id, b.id);
  });
});
