import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pack } from 'tar-stream';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import { silentLog, type Person, type PhotoRecord } from '../../src/core/index.ts';
import { SqlGalleryStore, SqlPhotoStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { FakeFaceEngine } from '../fakes/fake-face-engine.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { runCli, tree } from '../helpers/cli.ts';
import { Gate, gatedEngine } from '../helpers/gate.ts';
import { answerTo, startTelegram, textOf } from '../helpers/telegram.ts';
import { until } from '../helpers/until.ts';

const CHAT = -5001;
const GROUP_ID = `tg:${CHAT}`;

/** Every record and person of a group, comparable with deepEqual (embeddings as plain arrays). */
async function libraryOf(dataDir: string): Promise<{ photos: Map<string, unknown>; people: unknown[] }> {
  const database = await openLibraryDatabase({ dataDir });
  try {
    const plain = (value: unknown) => JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v))) as unknown;
    const records: PhotoRecord[] = await new SqlPhotoStore(database.db).list(GROUP_ID);
    const people: Person[] = await new SqlGalleryStore(database.db).list(GROUP_ID);
    return { photos: new Map(records.map((r) => [r.hash, plain(r)])), people: people.sort((a, b) => a.id.localeCompare(b.id)).map(plain) };
  } finally {
    await database.close();
  }
}

/** The album files of the group, `<person>/<file>`. */
async function albumFiles(dataDir: string): Promise<string[]> {
  const groups = path.join(dataDir, 'groups');
  const [folder] = await readdir(groups);
  return tree(path.join(groups, folder!, 'albums'));
}

describe('facefile backup and restore', { skip: NO_DATASETS }, () => {
  it('GIVEN a bot filing photos WHEN a backup is taken THEN a restore into a new DATA_DIR is the library as it was at the backup: records, people and albums', async (t) => {
    const gate = new Gate(true);
    const h = await startTelegram({ TELEGRAM_GROUP_INTERVAL_MS: '0' }, {}, { wrapEngine: (engine) => gatedEngine(engine, gate) });
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-backup-test-'));
    t.after(async () => {
      gate.open();
      await h.close();
      await rm(scratch, { recursive: true, force: true });
    });
    const e = h.emulator;
    const ada = e.user(1, 'Ada');
    e.addChat({ id: CHAT, type: 'supergroup', title: 'Backups' }, { creator: ada });
    for (const person of ['obama', 'biden', 'kit_harington']) {
      const file = (await readdir(path.join(GROUP, person))).sort()[0]!;
      const enrol = await e.postPhoto(CHAT, ada, await readFile(path.join(GROUP, person, file)), { caption: `/enroll ${person}` });
      assert.match(textOf(await e.waitFor(answerTo(enrol), 120_000)), /enrolled|added/i);
    }
    const posts = (await readdir(POSTS)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    const before = posts.slice(0, 8);
    const after = posts.slice(8, 12);
    for (const file of before) await e.postPhoto(CHAT, ada, await readFile(path.join(POSTS, file)));
    await e.idle(60_000);
    await h.bots.idle();

    // The next photos are held in the engine: queued, not filed, while the backup runs.
    gate.close();
    for (const file of after) await e.postPhoto(CHAT, ada, await readFile(path.join(POSTS, file)));
    await until(
      async () => (await readdir(path.join(h.dir, 'queue'))).filter((f) => f.endsWith('.json')).length === after.length,
      'the held photos queued',
      60_000,
    );
    const backup = path.join(scratch, 'library.tar');
    const taken = await runCli(['backup', backup], scratch, { DATA_DIR: h.dir });
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stdout, /Backed up \d+ photos? of 1 group and the library to .*library\.tar/);
    const atBackup = await libraryOf(h.dir);
    const albumsAtBackup = await albumFiles(h.dir);
    gate.open();
    await h.bots.idle();
    assert.ok((await libraryOf(h.dir)).photos.size > atBackup.photos.size, 'the bot filed more photos after the backup');

    const restored = path.join(scratch, 'restored');
    const done = await runCli(['restore', backup], scratch, { DATA_DIR: restored });
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /Restored \d+ photos? of 1 group, and \d+ album entr/);
    const back = await libraryOf(restored);
    assert.deepEqual([...back.photos.keys()].sort(), [...atBackup.photos.keys()].sort());
    for (const [hash, record] of atBackup.photos) assert.deepEqual(back.photos.get(hash), record, hash);
    assert.deepEqual(back.people, atBackup.people);
    assert.ok(albumsAtBackup.length > 0);
    assert.deepEqual(await albumFiles(restored), albumsAtBackup);
    // Opened as a bot would, nothing is left to repair.
    const opened = await createLibrary(loadConfig({ DATA_DIR: restored }, { cwd: restored }), new FakeFaceEngine(), silentLog);
    try {
      for (const report of (await opened.library.checkConsistency()).values()) {
        assert.equal(report.albumLinksRestored + report.recordsWithoutOriginal.length + report.orphanOriginalsRemoved, 0, JSON.stringify(report));
      }
    } finally {
      await opened.close();
    }

    // A library is never overwritten: a second restore into it is refused, and nothing changes.
    const again = await runCli(['restore', backup], scratch, { DATA_DIR: restored });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds a library: restore into an empty DATA_DIR/);
    assert.deepEqual((await libraryOf(restored)).photos.size, atBackup.photos.size);
  });

  it('GIVEN a backup whose photo was changed, or a tar that is not a backup THEN restore refuses in one line, exit 2, and leaves DATA_DIR without a library', async (t) => {
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-backup-bad-'));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    const tarOf = async (file: string, entries: [string, Buffer][]) => {
      const tar = pack();
      for (const [name, bytes] of entries) tar.entry({ name, size: bytes.length }, bytes);
      tar.finalize();
      const chunks: Buffer[] = [];
      for await (const chunk of tar) chunks.push(chunk as Buffer);
      await writeFile(path.join(scratch, file), Buffer.concat(chunks));
    };
    const manifest = Buffer.from(JSON.stringify({ format: 1, createdAt: '2026-01-01', groups: ['tg:-1'], photos: 1 }));
    await tarOf('damaged.tar', [
      ['facefile-backup.json', manifest],
      ['library.sqlite', Buffer.from('x')],
      [`groups/0/${'a'.repeat(64)}.jpg`, Buffer.from('not the photo that hash names')],
    ]);
    await tarOf('escape.tar', [
      ['facefile-backup.json', manifest],
      ['../../etc/cron.d/evil', Buffer.from('x')],
    ]);
    await tarOf('other.tar', [['notes.txt', Buffer.from('hello')]]);
    await writeFile(path.join(scratch, 'cut.tar'), (await readFile(path.join(scratch, 'damaged.tar'))).subarray(0, 700));
    for (const [file, words] of [
      ['damaged.tar', /damaged \(its content does not match its name\)/],
      ['escape.tar', /not a facefile backup \(unexpected entry "\.\.\/\.\.\/etc\/cron\.d\/evil"\)/],
      ['other.tar', /not a facefile backup \(it does not start with facefile-backup\.json\)/],
      ['cut.tar', /not a tar file, or cut short|not a facefile backup/],
    ] as const) {
      const dataDir = path.join(scratch, `data-${file}`);
      const result = await runCli(['restore', file], scratch, { DATA_DIR: dataDir });
      assert.equal(result.code, 2, `${file}: ${result.stderr}`);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, words, file);
      const left = (await readdir(dataDir).catch(() => [] as string[])).filter((f) => f !== 'facefile.log');
      assert.deepEqual(left, [], `${file} left ${left.join(', ')}`);
    }
  });

  it('GIVEN no library, or PostgreSQL THEN backup says so in one line, exit 2', async (t) => {
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-backup-none-'));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    const none = await runCli(['backup', 'x.tar'], scratch, { DATA_DIR: path.join(scratch, 'empty') });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /library\.sqlite: no such file or folder/);
    const pg = await runCli(['backup', 'x.tar'], scratch, { DATA_DIR: scratch, DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' });
    assert.equal(pg.code, 2);
    assert.match(pg.stderr, /pg_dump/);
    assert.ok(!pg.stderr.includes('secret'));
  });
});
