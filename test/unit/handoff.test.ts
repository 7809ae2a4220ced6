import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import type { GroupId, ImportCursor, ImportCursors, Log } from '../../src/core/index.ts';
import type { IncomingPhoto, IngestResult } from '../../src/core/library/index.ts';
import { startHandoffPickup } from '../../src/app/handoff-pickup.ts';
import { openHandoff, readJournal, receiverOf, announceReceiver, waitingHandoffs, writeHandoff, type ImportItem } from '../../src/importers/index.ts';
import { Gate } from '../helpers/gate.ts';
import { until } from '../helpers/until.ts';

const GROUP: GroupId = 'tg:-1001987654321';

/** A log that keeps its lines, to find the one a bad hand-off must leave. */
function recordingLog(): Log & { lines: { level: string; context: object; message: string }[] } {
  const lines: { level: string; context: object; message: string }[] = [];
  const keep = (level: string) => (context: object, message: string) => void lines.push({ level, context, message });
  return { lines, info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/** An import item whose bytes are in memory (as from a zip), or on disk (`file`, as from a folder). */
function item(name: string, bytes: Buffer | undefined, at: string, file?: string): ImportItem {
  return {
    name,
    postedAt: new Date(at),
    postedBy: 'tg:1000',
    source: { importedFrom: 'telegram-export', chat: '1987654321', message: name },
    read: (maxBytes) => Promise.resolve(bytes === undefined ? { missing: true } : bytes.length > maxBytes ? { tooLarge: bytes.length } : { bytes }),
    ...(file !== undefined ? { locate: () => Promise.resolve(file) } : {}),
  };
}

/**
 * A library that files each content once, as the real one does by its hash; with `gate`, the
 * first `passes` photos go through and the others wait at it.
 */
function fakeLibrary(gate?: Gate, passes = 0) {
  const filed = new Map<string, IncomingPhoto>();
  let calls = 0;
  return {
    filed,
    get calls() {
      return calls;
    },
    async ingest(_group: GroupId, photo: IncomingPhoto): Promise<IngestResult> {
      calls++;
      if (passes > 0) passes--;
      else await gate?.pass();
      const hash = createHash('sha256').update(photo.bytes).digest('hex');
      if (filed.has(hash)) return { kind: 'duplicate', hash, people: [] };
      filed.set(hash, photo);
      return { kind: 'filed', hash, people: [{ id: 1, name: 'Ada' }] as never, unknownFaces: 0, unusableFaces: 0 };
    },
  };
}

function memoryCursors(): ImportCursors & { saved: ImportCursor[] } {
  const saved: ImportCursor[] = [];
  return {
    saved,
    list: () => Promise.resolve(saved.slice(-1)),
    save: (cursor) => Promise.resolve(void saved.push(cursor)),
    remove: () => Promise.resolve(0),
  };
}

async function withDataDir(test: (dataDir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-handoff-'));
  try {
    await test(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a hand-off folder as an importer would (whole, under its final name), with whatever manifest a test gives. */
async function plantHandoff(dataDir: string, id: string, manifest: string, photos: Record<string, Buffer> = {}): Promise<void> {
  const partial = path.join(dataDir, 'handoff', `${id}.partial`);
  await mkdir(path.join(partial, 'photos'), { recursive: true });
  for (const [file, bytes] of Object.entries(photos)) await writeFile(path.join(partial, file), bytes);
  await writeFile(path.join(partial, 'manifest.json'), manifest);
  await rename(partial, path.join(dataDir, 'handoff', id));
}

const manifestOf = (photos: unknown[], group = GROUP) =>
  JSON.stringify({ version: 1, group, from: 'a test', handedAt: '2026-12-07T10:00:00.000Z', photos, missing: [] });
const photoAt = (file: string, n: number) => ({ file, name: `photo ${n}`, postedAt: `2021-05-0${n}T10:00:00.000Z`, source: { message: String(n) } });

describe('the hand-off spool', () => {
  it('GIVEN photos from a folder and from a zip THEN the folder ones are hard-linked, the others copied, the unreadable ones named, and the bot reads each back with its date, poster and source', async () => {
    await withDataDir(async (dataDir) => {
      const folder = path.join(dataDir, 'export');
      await mkdir(folder);
      await writeFile(path.join(folder, 'a.jpg'), 'photo a');
      const items = [
        item('photos/a.jpg', Buffer.from('photo a'), '2021-05-03T09:15:00Z', path.join(folder, 'a.jpg')),
        item('files/b.PNG', Buffer.from('photo b'), '2021-05-03T10:15:00Z'),
        item('photos/c.jpg', undefined, '2021-05-03T11:15:00Z'),
        item('photos/d.jpg', Buffer.alloc(64), '2021-05-03T12:15:00Z'),
      ];
      const missing = [{ message: 9, date: '2021-05-04T00:00:00', file: 'IMG_1.JPG', why: 'File not included' }];
      const receipt = await writeHandoff({ dataDir, group: GROUP, from: 'a test export', items, missing, maxBytes: 32, log: recordingLog() });
      assert.ok(receipt);
      assert.equal(receipt.linked, 1);
      assert.equal(receipt.copied, 1);
      assert.deepEqual(
        receipt.unreadable.map((u) => u.name),
        ['photos/c.jpg', 'photos/d.jpg'],
      );
      assert.equal((await stat(path.join(folder, 'a.jpg'))).nlink, 2, 'the folder photo is linked, not copied');
      assert.deepEqual(await waitingHandoffs(dataDir), [receipt.id]);

      const opened = await openHandoff(dataDir, receipt.id, recordingLog());
      assert.equal(opened.kind, 'ready');
      const { handoff } = opened;
      assert.equal(handoff.group, GROUP);
      assert.deepEqual(handoff.missing, missing);
      assert.deepEqual(
        handoff.items.map((i) => [i.name, i.postedAt.toISOString(), i.postedBy, i.source['message']]),
        items.map((i) => [i.name, i.postedAt.toISOString(), i.postedBy, i.source['message']]),
      );
      assert.deepEqual(await handoff.items[0]!.read(32), { bytes: Buffer.from('photo a') });
      assert.deepEqual(await handoff.items[1]!.read(32), { bytes: Buffer.from('photo b') });
      assert.deepEqual(await handoff.items[2]!.read(32), { missing: true });
      assert.deepEqual(await handoff.items[3]!.read(32), { tooLarge: 64 });
    });
  });

  it('GIVEN a hand-off being written THEN the bot does not see it until it is whole', async () => {
    await withDataDir(async (dataDir) => {
      await mkdir(path.join(dataDir, 'handoff', '20261207T100000Z-abcdef.partial', 'photos'), { recursive: true });
      await writeFile(path.join(dataDir, 'handoff', 'receiver.json'), '{}');
      assert.deepEqual(await waitingHandoffs(dataDir), []);
    });
  });

  it('GIVEN the lock names a process THEN only a bot that announced itself as that process, after it took the lock, takes hand-offs', async () => {
    await withDataDir(async (dataDir) => {
      const lockedAt = new Date(Date.now() - 1000).toISOString();
      const holder = `process ${process.pid} on ${os.hostname()}, since ${lockedAt}`;
      assert.equal(await receiverOf(dataDir, holder), undefined, 'nobody announced');
      const announced = await announceReceiver(dataDir);
      assert.equal((await receiverOf(dataDir, holder))?.pid, process.pid);
      assert.equal(await receiverOf(dataDir, undefined), undefined, 'a holder not named');
      assert.equal(await receiverOf(dataDir, `process ${process.pid + 1} on ${os.hostname()}, since ${lockedAt}`), undefined, 'another process');
      // The same pid after a restart (a container's pid 1): the lock was taken after the announcement.
      assert.equal(await receiverOf(dataDir, `process ${process.pid} on ${os.hostname()}, since ${new Date(Date.now() + 60_000).toISOString()}`), undefined);
      await announced.withdraw();
      assert.equal(await receiverOf(dataDir, holder), undefined, 'withdrawn');
    });
  });

  it('GIVEN a manifest that is not JSON, of another shape, of no group, or with a path out of the hand-off THEN it is refused with why', async () => {
    await withDataDir(async (dataDir) => {
      const bad: [string, string, RegExp][] = [
        ['20261207T100000Z-000001', '{ not json', /not JSON/],
        ['20261207T100000Z-000002', JSON.stringify({ version: 1, photos: 'all' }), /not a hand-off's/],
        ['20261207T100000Z-000003', manifestOf([], 'tg:evil'), /group: not a group id/],
        ['20261207T100000Z-000004', manifestOf([photoAt('../../../etc/passwd', 1)]), /outside the hand-off's photos\//],
        ['20261207T100000Z-000005', manifestOf([photoAt('/etc/passwd', 1)]), /outside the hand-off's photos\//],
        ['20261207T100000Z-000006', manifestOf([photoAt('photos/../../x.jpg', 1)]), /outside the hand-off's photos\//],
        ['20261207T100000Z-000007', manifestOf([{ ...photoAt('photos/1.jpg', 1), postedAt: 'yesterday' }]), /postedAt: not a date/],
      ];
      for (const [id, manifest, why] of bad) {
        await plantHandoff(dataDir, id, manifest);
        const opened = await openHandoff(dataDir, id, recordingLog());
        assert.equal(opened.kind, 'refused', id);
        assert.match(opened.why, why, id);
      }
      // A manifest that is a link to a file elsewhere.
      const id = '20261207T100000Z-000008';
      await mkdir(path.join(dataDir, 'handoff', id));
      await writeFile(path.join(dataDir, 'elsewhere.json'), manifestOf([]));
      await symlink(path.join(dataDir, 'elsewhere.json'), path.join(dataDir, 'handoff', id, 'manifest.json'));
      assert.deepEqual(await openHandoff(dataDir, id, recordingLog()), { kind: 'refused', why: 'no manifest.json, or not a plain file' });
    });
  });

  it('GIVEN a photo of a hand-off that is gone or is a link THEN only that photo is not filed, with a log line', async () => {
    await withDataDir(async (dataDir) => {
      const id = '20261207T100000Z-00000a';
      await writeFile(path.join(dataDir, 'secret.jpg'), 'secret');
      await plantHandoff(dataDir, id, manifestOf([photoAt('photos/1.jpg', 1), photoAt('photos/2.jpg', 2), photoAt('photos/3.jpg', 3)]), {
        'photos/1.jpg': Buffer.from('one'),
      });
      await symlink(path.join(dataDir, 'secret.jpg'), path.join(dataDir, 'handoff', id, 'photos', '3.jpg'));
      const log = recordingLog();
      const opened = await openHandoff(dataDir, id, log);
      assert.equal(opened.kind, 'ready');
      assert.deepEqual(await opened.handoff.items[0]!.read(100), { bytes: Buffer.from('one') });
      assert.deepEqual(await opened.handoff.items[1]!.read(100), { missing: true });
      assert.deepEqual(await opened.handoff.items[2]!.read(100), { missing: true });
      assert.deepEqual(
        log.lines.map((l) => l.message),
        ['a handed-over photo is missing from the hand-off', 'a handed-over photo is not a plain file'],
      );
    });
  });
});

describe("the bot's pickup of hand-offs", () => {
  const photos = (n: number) => Array.from({ length: n }, (_, i) => item(`photos/${i + 1}.jpg`, Buffer.from(`photo ${i + 1}`), `2021-05-0${i + 1}T10:00:00Z`));

  it('GIVEN posted photos waiting in the queue THEN no handed-over photo starts until they are done; then each is filed with its date, the progress kept, and the hand-off removed', async () => {
    await withDataDir(async (dataDir) => {
      const config = loadConfig({ DATA_DIR: dataDir }, { cwd: dataDir });
      const library = fakeLibrary();
      const cursors = memoryCursors();
      let live = 1;
      let asked = 0;
      const queue = {
        depth: () => {
          asked++;
          return Promise.resolve({ waiting: live, active: 0 });
        },
      };
      const receipt = await writeHandoff({ dataDir, group: GROUP, from: 'test', items: photos(3), missing: [], maxBytes: 1000, log: recordingLog() });
      assert.ok(receipt);
      const pickup = await startHandoffPickup(config, recordingLog(), { library, importCursors: cursors, concurrency: 2, queue });
      try {
        await until(() => asked >= 3, 'the pickup to look at the queue more than once');
        assert.equal(library.calls, 0, 'a handed-over photo started while a posted one waited');
        live = 0;
        await until(async () => (await waitingHandoffs(dataDir)).length === 0, 'the hand-off to be filed and removed', 30_000);
        assert.deepEqual([...library.filed.values()].map((p) => p.postedAt?.toISOString()).sort(), [
          '2021-05-01T10:00:00.000Z',
          '2021-05-02T10:00:00.000Z',
          '2021-05-03T10:00:00.000Z',
        ]);
        const last = cursors.saved.at(-1)!;
        assert.deepEqual([last.done, last.queued, last.skipped, last.total], [true, 3, 0, 3]);
      } finally {
        await pickup.stop();
      }
      assert.deepEqual(await readdir(path.join(dataDir, 'handoff')), [], 'the bot says it takes hand-offs only while it runs');
    });
  });

  it('GIVEN a bot stopped in the middle of a hand-off WHEN the next one starts THEN it goes on with the photos not done, files none twice, and counts the whole import', async () => {
    await withDataDir(async (dataDir) => {
      const config = loadConfig({ DATA_DIR: dataDir }, { cwd: dataDir });
      const gate = new Gate();
      const library = fakeLibrary(gate, 2);
      const queue = { depth: () => Promise.resolve({ waiting: 0, active: 0 }) };
      const receipt = await writeHandoff({ dataDir, group: GROUP, from: 'test', items: photos(5), missing: [], maxBytes: 1000, log: recordingLog() });
      assert.ok(receipt);
      const first = await startHandoffPickup(config, recordingLog(), { library, importCursors: memoryCursors(), concurrency: 1, queue });
      try {
        await until(() => gate.waiting === 1, 'the third photo held');
        assert.equal(library.filed.size, 2);
      } finally {
        const stopped = first.stop();
        gate.open();
        await stopped;
      }
      assert.equal(library.filed.size, 3, 'the photo under way was finished');
      const journal = await readJournal(receipt);
      assert.equal(journal.photos.size, 3);
      assert.deepEqual(await waitingHandoffs(dataDir), [receipt.id], 'the rest waits for the next start');

      const cursors = memoryCursors();
      const log = recordingLog();
      const second = await startHandoffPickup(config, log, { library, importCursors: cursors, concurrency: 1, queue });
      try {
        await until(async () => (await waitingHandoffs(dataDir)).length === 0, 'the hand-off to be finished', 30_000);
      } finally {
        await second.stop();
      }
      assert.equal(library.calls, 5, 'only the two photos left were filed by the second start');
      assert.equal(library.filed.size, 5);
      const last = cursors.saved.at(-1)!;
      assert.deepEqual([last.done, last.queued, last.total], [true, 5, 5]);
      const done = log.lines.find((l) => l.message === 'a hand-off is filed');
      assert.deepEqual(done && { filed: (done.context as { filed: number }).filed }, { filed: 5 });
    });
  });

  it('GIVEN a malformed hand-off and one reaching out of the spool THEN each is logged and set aside, and a good one after them is filed', async () => {
    await withDataDir(async (dataDir) => {
      const config = loadConfig({ DATA_DIR: dataDir }, { cwd: dataDir });
      const library = fakeLibrary();
      await plantHandoff(dataDir, '20261207T100000Z-000001', '{ not json');
      await plantHandoff(dataDir, '20261207T100000Z-000002', manifestOf([photoAt('../../../etc/passwd', 1)]));
      await plantHandoff(dataDir, '20261207T100000Z-000003', manifestOf([photoAt('photos/1.jpg', 1), photoAt('photos/2.jpg', 2)]), {
        'photos/1.jpg': Buffer.from('one'),
      });
      const log = recordingLog();
      const pickup = await startHandoffPickup(config, log, {
        library,
        importCursors: memoryCursors(),
        concurrency: 1,
        queue: { depth: () => Promise.resolve({ waiting: 0, active: 0 }) },
      });
      try {
        await until(async () => (await waitingHandoffs(dataDir)).length === 0, 'every hand-off taken', 30_000);
      } finally {
        await pickup.stop();
      }
      const refused = log.lines.filter((l) => l.message === 'a hand-off was refused and set aside').map((l) => (l.context as { handoff: string }).handoff);
      assert.deepEqual(refused, ['20261207T100000Z-000001', '20261207T100000Z-000002']);
      assert.deepEqual(await readdir(path.join(dataDir, 'handoff', 'rejected')), ['20261207T100000Z-000001', '20261207T100000Z-000002']);
      assert.match(await readFile(path.join(dataDir, 'handoff', 'rejected', '20261207T100000Z-000002', 'why.txt'), 'utf8'), /outside the hand-off's photos/);
      assert.equal(library.filed.size, 1);
      assert.ok(log.lines.some((l) => l.message === 'a handed-over photo is missing from the hand-off'));
      const done = log.lines.find((l) => l.message === 'a hand-off is filed');
      assert.deepEqual(done && [(done.context as { filed: number }).filed, (done.context as { failed: number }).failed], [1, 1]);
    });
  });
});
