import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { albumStoreContract } from '../contracts/album-store.contract.ts';
import { FsAlbumStore, groupFolderName } from '../../src/albums/index.ts';
import { ARCHIVE_OVERHEAD, estimateEntryBytes, zipParts } from '../../src/albums/zip-parts.ts';
import type { PhotoRecord, PhotoRef, ZipPart } from '../../src/core/index.ts';
import { StorageError } from '../../src/core/index.ts';
import { readZip } from '../helpers/zip.ts';

const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** A temporary folder to hold everything a test writes; removed at the end. */
async function sandbox(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-albums-'));
  folders.push(dir);
  return dir;
}

async function fsStore(): Promise<{ dataDir: string; store: FsAlbumStore }> {
  const dataDir = path.join(await sandbox(), 'data');
  return { dataDir, store: new FsAlbumStore(dataDir) };
}

function fake(date = '2024-06-01T12:00:00Z', size = 1000): { ref: PhotoRef; bytes: Buffer } {
  const bytes = randomBytes(size);
  return { ref: { hash: createHash('sha256').update(bytes).digest('hex'), ext: 'jpg', date }, bytes };
}

function record(ref: PhotoRef): PhotoRecord {
  return { hash: ref.hash, ext: ref.ext, bytes: 0, postedAt: ref.date, faces: [] };
}

/** Every file and folder below `dir`, relative to it. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

/** Every file below `<dataDir>/tmp`: export zips, finished or half written. */
async function exportFiles(dataDir: string): Promise<string[]> {
  const tmp = path.join(dataDir, 'tmp');
  try {
    const found = await readdir(tmp, { recursive: true, withFileTypes: true });
    return found
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

albumStoreContract('FsAlbumStore', async () => {
  const { dataDir, store } = await fsStore();
  return { store, read: (file) => readFile(file), exports: () => exportFiles(dataDir) };
});

const G = 'tg:-1001234567';

describe('FsAlbumStore on disk', () => {
  it('GIVEN a photo filed THEN the layout is groups/<group>/photos/<hash>.<ext> and albums/<folder>/<date>_<hash8>.<ext>, a hard link', async () => {
    const { dataDir, store } = await fsStore();
    const p = fake('2024-02-29T18:07:09.500Z');
    await store.storeOriginal(G, p.ref, p.bytes);
    await store.link(G, 'Anna', p.ref);
    const group = path.join(dataDir, 'groups', 'tg%3A-1001234567');
    const original = path.join(group, 'photos', `${p.ref.hash}.jpg`);
    const entry = path.join(group, 'albums', 'Anna', `2024-02-29_180709_${p.ref.hash.slice(0, 8)}.jpg`);
    const [o, e] = [await stat(original), await stat(entry)];
    assert.equal(e.ino, o.ino);
    assert.equal(e.dev, o.dev);
    assert.equal(o.nlink, 2);
    assert.deepEqual(await tree(group), ['albums', path.join('albums', 'Anna'), path.relative(group, entry), 'photos', path.relative(group, original)].sort());
  });

  it('GIVEN stored originals THEN no temporary file is left beside them', async () => {
    const { dataDir, store } = await fsStore();
    for (let i = 0; i < 5; i++) {
      const p = fake();
      await store.storeOriginal(G, p.ref, p.bytes);
      await store.link(G, 'Anna', p.ref);
    }
    assert.deepEqual(
      (await tree(dataDir)).filter((f) => f.includes('.partial')),
      [],
    );
  });

  it('GIVEN the same original stored by several calls at once THEN one whole file results', async () => {
    const { store } = await fsStore();
    const p = fake(undefined, 200_000);
    await Promise.all(Array.from({ length: 8 }, () => store.storeOriginal(G, p.ref, p.bytes)));
    assert.deepEqual(await store.readOriginal(G, p.ref), p.bytes);
  });

  it('GIVEN a missing original THEN reading it fails with StorageError whose cause is ENOENT', async () => {
    const { store } = await fsStore();
    await assert.rejects(store.readOriginal(G, fake().ref), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
  });

  it('GIVEN a half-written original under its temporary name THEN it is not an original, and repair removes it', async () => {
    const { dataDir, store } = await fsStore();
    const p = fake();
    await store.storeOriginal(G, p.ref, p.bytes);
    await store.link(G, 'Anna', p.ref);
    const group = path.join(dataDir, 'groups', groupFolderName(G));
    await writeFile(path.join(group, 'photos', '.0123456789ab.partial'), 'half a photo');
    await writeFile(path.join(group, 'albums', 'Anna', '.ba9876543210.partial'), 'half a copy');
    await writeFile(path.join(group, 'photos', `${'f'.repeat(64)}.jpg.partial`), 'other style');
    assert.equal(await store.diskUsage(G), p.bytes.length);
    assert.equal((await store.list(G, 'Anna')).length, 1);
    const records = [record(p.ref)];
    const albums = new Map([['Anna', [p.ref.hash]]]);
    const report = await store.repair(G, records, albums);
    assert.equal(report.temporaryFilesRemoved, 3);
    assert.equal(report.orphanOriginalsRemoved, 0);
    assert.deepEqual(
      (await tree(dataDir)).filter((f) => f.includes('.partial')),
      [],
    );
    const again = await store.repair(G, records, albums);
    assert.deepEqual(again, {
      temporaryFilesRemoved: 0,
      orphanOriginalsRemoved: 0,
      recordsWithoutOriginal: [],
      albumLinksRestored: 0,
      strayAlbumFilesRemoved: 0,
    });
  });

  it('GIVEN an album entry that is a copy, not a link THEN disk usage counts it besides the original', async () => {
    const { dataDir, store } = await fsStore();
    const p = fake(undefined, 1000);
    await store.storeOriginal(G, p.ref, p.bytes);
    await store.link(G, 'Anna', p.ref);
    // What a file system without hard links leaves: an independent copy.
    const entry = (await store.list(G, 'Anna'))[0]!.path;
    await rm(entry);
    await writeFile(entry, p.bytes);
    assert.equal(await store.diskUsage(G), 2000);
    assert.equal((await store.list(G, 'Anna'))[0]?.hash, p.ref.hash);
    assert.ok(dataDir);
  });

  it('GIVEN hostile names everywhere THEN nothing is created outside the data folder', async () => {
    const root = await sandbox();
    const dataDir = path.join(root, 'data');
    const store = new FsAlbumStore(dataDir);
    const p = fake();
    const groups = ['../x', '../../escaped', '/tmp/abs', 'a/b', '..', '.', 'a\0b', 'CON', 'x'.repeat(500)];
    const albums = ['../Anna', '../../x', '/tmp/abs', 'a\0b', 'CON', 'y'.repeat(300), '..'];
    const before = await readdir(os.tmpdir());
    for (const group of groups) {
      await store.storeOriginal(group, p.ref, p.bytes);
      for (const folder of albums) {
        await assert.rejects(store.link(group, folder, p.ref), RangeError);
        await assert.rejects(store.export(group, folder, folder, 1_000_000), RangeError);
      }
      await store.link(group, 'Anna', p.ref);
      const result = await store.export(group, 'Anna', '../../../evil', 1_000_000);
      for await (const part of result.parts) assert.equal(path.dirname(path.dirname(part.path)), path.join(dataDir, 'tmp'));
      await result.dispose();
      await store.repair(group, [record(p.ref)], new Map([['Anna', [p.ref.hash]]]));
    }
    assert.deepEqual(await readdir(root), ['data']);
    assert.deepEqual((await readdir(dataDir)).sort(), ['groups', 'tmp']);
    assert.deepEqual(await readdir(path.join(dataDir, 'tmp')), []);
    const after = await readdir(os.tmpdir());
    assert.deepEqual(
      after.filter((f) => !before.includes(f) && !f.startsWith('facefile-')),
      [],
    );
    // Every hostile group is a group folder of its own, and each comes back under its own id.
    assert.deepEqual((await store.groups()).sort(), [...groups].sort());
    assert.equal((await readdir(path.join(dataDir, 'groups'))).length, groups.length);
  });

  it('GIVEN a very long group id THEN its folder name is capped and groups() still names it', async () => {
    const { dataDir, store } = await fsStore();
    const long = `dc:${'7'.repeat(400)}`;
    const p = fake();
    await store.storeOriginal(long, p.ref, p.bytes);
    const [folder] = await readdir(path.join(dataDir, 'groups'));
    assert.ok(folder !== undefined && folder.length <= 120);
    assert.deepEqual(await store.groups(), [long]);
    // Repair leaves the id file alone.
    const report = await store.repair(long, [record(p.ref)], new Map());
    assert.equal(report.orphanOriginalsRemoved, 0);
    assert.deepEqual(await store.groups(), [long]);
  });

  it('GIVEN an album entry under an outdated date THEN repair renames it by removing the old and linking the new', async () => {
    const { store } = await fsStore();
    const p = fake('2024-06-01T12:00:00Z');
    await store.storeOriginal(G, p.ref, p.bytes);
    await store.link(G, 'Anna', p.ref);
    const taken = { ...record(p.ref), takenAt: '2019-07-07T07:07:07Z' };
    const report = await store.repair(G, [taken], new Map([['Anna', [p.ref.hash]]]));
    assert.equal(report.strayAlbumFilesRemoved, 1);
    assert.equal(report.albumLinksRestored, 1);
    assert.deepEqual(
      (await store.list(G, 'Anna')).map((e) => e.name),
      [`2019-07-07_070707_${p.ref.hash.slice(0, 8)}.jpg`],
    );
  });

  it('GIVEN a folder or file in the album made by hand THEN repair removes the file and leaves the folder', async () => {
    const { dataDir, store } = await fsStore();
    const p = fake();
    await store.storeOriginal(G, p.ref, p.bytes);
    await store.link(G, 'Anna', p.ref);
    const album = path.join(dataDir, 'groups', groupFolderName(G), 'albums', 'Anna');
    await writeFile(path.join(album, 'Thumbs.db'), 'x');
    await mkdir(path.join(album, 'sub'));
    const report = await store.repair(G, [record(p.ref)], new Map([['Anna', [p.ref.hash]]]));
    assert.equal(report.strayAlbumFilesRemoved, 1);
    assert.deepEqual((await readdir(album)).sort(), [`2024-06-01_120000_${p.ref.hash.slice(0, 8)}.jpg`, 'sub']);
  });
});

describe('zipParts', () => {
  async function entries(dir: string, sizes: readonly number[]) {
    const list = [];
    for (const [i, size] of sizes.entries()) {
      const source = path.join(dir, `photo-${i}.jpg`);
      await writeFile(source, randomBytes(size));
      list.push({ source, name: `2024-01-${String(i + 1).padStart(2, '0')}_000000_${String(i).padStart(8, '0')}.jpg`, bytes: size });
    }
    return list;
  }

  /** Takes every part as the bot would; each must be the one file in `out` when it comes. */
  async function drain(parts: AsyncIterable<ZipPart>, out: string): Promise<{ part: ZipPart; names: string[] }[]> {
    const sent = [];
    for await (const part of parts) {
      assert.deepEqual(await readdir(out), [part.fileName]);
      assert.equal((await stat(part.path)).size, part.bytes);
      sent.push({ part, names: (await readZip(part.path)).map((e) => e.name) });
    }
    assert.deepEqual(await readdir(out), []);
    return sent;
  }

  async function folders(sizes: readonly number[]) {
    const dir = await sandbox();
    const out = path.join(dir, 'out');
    await mkdir(out);
    return { out, sources: await entries(dir, sizes) };
  }

  it('GIVEN an estimate that is far too optimistic THEN oversized zips are split and rewritten, never yielded, and the names count the parts known when each is made', async () => {
    const { out, sources } = await folders([3000, 3000, 3000, 3000, 3000]);
    const limit = 6500;
    const zips = zipParts(sources, { dir: out, maxPartBytes: limit, fileName: (i, n) => `A (part ${i} of ${n}).zip`, estimate: () => 1 });
    assert.equal(zips.planned, 1);
    const sent = await drain(zips.parts, out);
    assert.deepEqual(zips.tooLarge, []);
    assert.ok(sent.length >= 3);
    for (const { part } of sent) assert.ok(part.bytes <= limit, `${part.fileName}: ${part.bytes}`);
    assert.deepEqual(
      sent.flatMap((s) => s.names),
      sources.map((s) => s.name),
    );
    assert.deepEqual(
      sent.map((s) => s.part.fileName),
      ['A (part 1 of 3).zip', 'A (part 2 of 3).zip', 'A (part 3 of 3).zip'],
    );
  });

  it('GIVEN an entry that fits only by a few bytes THEN it gets a part of its own rather than being called too large', async () => {
    const { out, sources } = await folders([5000]);
    const entry = sources[0]!;
    const exact = 22 + 30 + 16 + 46 + 2 * Buffer.byteLength(entry.name) + 5000;
    const fits = zipParts([entry], { dir: out, maxPartBytes: exact, fileName: () => 'A.zip' });
    const [sent] = await drain(fits.parts, out);
    assert.deepEqual(fits.tooLarge, []);
    assert.equal(sent?.part.bytes, exact);
    const under = zipParts([entry], { dir: out, maxPartBytes: exact - 1, fileName: () => 'B.zip' });
    assert.deepEqual(await drain(under.parts, out), []);
    assert.deepEqual(under.tooLarge, [entry]);
  });

  it('GIVEN the bytes of a part THEN the estimate never falls below what is written', async () => {
    const { out, sources } = await folders([10, 2000, 70_000]);
    const zips = zipParts(sources, { dir: out, maxPartBytes: 10_000_000, fileName: () => 'A.zip' });
    const estimated = ARCHIVE_OVERHEAD + sources.reduce((sum, s) => sum + estimateEntryBytes(Buffer.byteLength(s.name), s.bytes), 0);
    for await (const part of zips.parts) {
      assert.ok(part.bytes <= estimated, `${part.bytes} > ${estimated}`);
      assert.deepEqual(await readFile(sources[2]!.source), (await readZip(part.path))[2]!.bytes);
    }
  });

  it('GIVEN many parts and a slow consumer THEN at no moment is more than one file (finished or half written) in the folder', async () => {
    const { out, sources } = await folders(Array.from({ length: 24 }, () => 40_000));
    const zips = zipParts(sources, { dir: out, maxPartBytes: 90_000, fileName: (i, n) => `A (part ${i} of ${n}).zip` });
    let most = 0;
    const done = new AbortController();
    const watcher = (async () => {
      while (!done.signal.aborted) {
        most = Math.max(most, (await readdir(out)).length);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    let parts = 0;
    for await (const part of zips.parts) {
      parts++;
      await readZip(part.path);
      await sleep(5);
    }
    done.abort();
    await watcher;
    assert.equal(parts, 12);
    assert.equal(most, 1);
  });

  it('GIVEN a photo unlinked just as its part is written THEN it is left out and the part is still whole', async () => {
    const { out, sources } = await folders([4000, 4000, 4000]);
    const zips = zipParts(sources, { dir: out, maxPartBytes: 1_000_000, fileName: () => 'A.zip' });
    await rm(sources[1]!.source);
    const sent = await drain(zips.parts, out);
    assert.deepEqual(
      sent.flatMap((s) => s.names),
      [sources[0]!.name, sources[2]!.name],
    );
    assert.deepEqual(zips.missing, [sources[1]]);
  });
});

describe('FsAlbumStore exports left by a killed process', () => {
  it('GIVEN a part of an export killed mid-send (and a half-written one) THEN clearExports, as run at start, removes them and the albums stay', async (t) => {
    const { dataDir, store } = await fsStore();
    const photos = Array.from({ length: 4 }, (_, i) => fake(`2024-01-0${i + 1}T00:00:00Z`, 30_000));
    for (const p of photos) {
      await store.storeOriginal(G, p.ref, p.bytes);
      await store.link(G, 'Anna', p.ref);
    }
    // A child process exports, takes the first part, and is killed (SIGKILL) while "sending" it.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', KILLED_EXPORT, dataDir, G], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => child.kill('SIGKILL'));
    const partPath = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', (code) => reject(new Error(`child exited with ${code} before sending`)));
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    await writeFile(path.join(path.dirname(partPath), '.part-2.zip.0badc0de.partial'), 'half a zip');
    assert.equal((await exportFiles(dataDir)).length, 2);
    assert.ok((await readZip(partPath)).length > 0, 'the leftover is a real part');
    await store.clearExports();
    assert.deepEqual(await exportFiles(dataDir), []);
    assert.equal((await store.list(G, 'Anna')).length, 4);
  });
});

/** Run as a child: starts an export of Anna's album and reports its first part, then hangs as an upload would. */
const KILLED_EXPORT = `
import { FsAlbumStore } from ${JSON.stringify(new URL('../../src/albums/index.ts', import.meta.url).href)};
const [dataDir, group] = process.argv.slice(1);
const result = await new FsAlbumStore(dataDir).export(group, 'Anna', 'Anna', 70_000);
for await (const part of result.parts) {
  process.stdout.write(part.path + '\\n');
  await new Promise(() => setInterval(() => undefined, 1000));
}
`;
