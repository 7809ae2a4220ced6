import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { groupId } from '../../src/core/index.ts';
import { lockDataDir } from '../../src/storage/index.ts';
import { runCli } from '../helpers/cli.ts';
import { sha256File, storedPhotos } from '../helpers/stored-photos.ts';
import { NO_DATASETS, POSTS } from '../helpers/datasets.ts';

const GROUP = groupId({ platform: 'discord', guildId: '123456789012345678' });

/** `facefile import folder <dir> --group <group>`: photos from a shared drive or an old phone, on the real models. */
describe('facefile import folder <dir> --group <group>', { skip: NO_DATASETS }, () => {
  let dir: string;
  let env: Record<string, string>;
  let folder: string;
  /** Each photo with the file time it was given; alex_lacamoire1.jpg carries an EXIF capture date. */
  const photos = [
    { file: 'alex_lacamoire1.jpg', at: 'old-phone/alex_lacamoire1.jpg', mtime: new Date('2019-07-01T08:00:00Z'), exif: '2016-05-04T11:49:48.000Z' },
    { file: 'bbt1.jpg', at: 'old-phone/2018/bbt1.jpg', mtime: new Date('2018-03-02T10:11:12Z') },
    { file: 'obama_32bit_rgba.png', at: 'drive/obama.png', mtime: new Date('2015-12-24T18:30:00Z') },
  ];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-import-folder-'));
    env = { DATA_DIR: path.join(dir, 'data') };
    folder = path.join(dir, 'photos');
    for (const photo of photos) {
      const target = path.join(folder, photo.at);
      await mkdir(path.dirname(target), { recursive: true });
      await copyFile(path.join(POSTS, photo.file), target);
      await utimes(target, photo.mtime, photo.mtime);
    }
    await writeFile(path.join(folder, 'drive', 'notes.txt'), 'not a photo');
    await writeFile(path.join(folder, 'drive', 'broken.jpg'), Buffer.from('this is no JPEG'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a folder of photos THEN each is filed once, dated by its EXIF capture date, else by its file time; a re-run files nothing again', async () => {
    const result = await runCli(['import', 'folder', folder, '--group', GROUP], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^4 photos in \\./photos to file into ${GROUP}\\.$`, 'm'));
    assert.match(result.stdout, new RegExp(`^Filed 3 photos into ${GROUP}; 1 could not be filed`, 'm'));
    assert.match(result.stdout, /^ {2}drive\/broken\.jpg: /m);
    const rows = storedPhotos(env.DATA_DIR!, GROUP);
    assert.equal(rows.size, 3);
    for (const photo of photos) {
      const row = rows.get(await sha256File(path.join(POSTS, photo.file)));
      assert.ok(row, `${photo.file} not filed`);
      assert.equal(row.postedAt, photo.mtime.toISOString(), `${photo.file}: the file's time`);
      assert.equal(row.takenAt, photo.exif ?? null, `${photo.file}: the EXIF date`);
      assert.deepEqual(JSON.parse(row.source ?? 'null'), { importedFrom: 'folder', file: photo.at });
    }

    const again = await runCli(['import', 'folder', folder, '--group', GROUP], dir, env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`^Filed 0 photos into ${GROUP}; 3 were there already; 1 could not be filed`, 'm'));
    assert.deepEqual(storedPhotos(env.DATA_DIR!, GROUP), rows);
  });

  it('GIVEN the data folder held by a facefile that takes no hand-offs (another import) THEN the import refuses in one line, exit 2, and files nothing', async () => {
    const before = storedPhotos(env.DATA_DIR!, GROUP);
    const lock = await lockDataDir(env.DATA_DIR!, () => undefined);
    try {
      const result = await runCli(['import', 'folder', folder, '--group', GROUP], dir, env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr.trim(),
        new RegExp(
          `^facefile: .*data is in use by a facefile that takes no photos from an import \\(process ${process.pid} on .*\\): another import or an enrolment \\(wait for it to end\\), or a bot of an earlier version \\(stop it, run the import, start it again\\); nothing was filed$`,
        ),
      );
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    } finally {
      await lock.release();
    }
    assert.deepEqual(storedPhotos(env.DATA_DIR!, GROUP), before);
  });

  it('GIVEN no --group or a malformed one THEN exit 2 with one line', async () => {
    const missing = await runCli(['import', 'folder', folder], dir, env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '-g, --group <id>' not specified/);
    const malformed = await runCli(['import', 'folder', folder, '--group', '12345'], dir, env);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /^facefile: --group: not a group id/);
  });
});
