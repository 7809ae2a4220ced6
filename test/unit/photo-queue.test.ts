import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLog } from '../../src/core/index.ts';
import type { IncomingPhoto, IngestResult } from '../../src/core/library/index.ts';
import { PhotoQueue, QueueFullError, type PhotoJobMeta, type PhotoJobResult, type RetryPolicy } from '../../src/jobs/index.ts';

const FAST: RetryPolicy = { attempts: 3, firstDelayMs: 10, factor: 2, maxDelayMs: 50 };
const META: PhotoJobMeta = { platform: 'test', group: 'g1', postedAt: '2026-01-01T00:00:00.000Z', source: { chat: '1', message: '2' } };

/** A library whose `ingest` fails with the given errors first, then files. */
function library(failures: Error[] = []) {
  const filed: Uint8Array[] = [];
  return {
    filed,
    ingest(_group: string, photo: IncomingPhoto): Promise<IngestResult> {
      const failure = failures.shift();
      if (failure) return Promise.reject(failure);
      filed.push(photo.bytes);
      return Promise.resolve({ kind: 'filed', hash: String(filed.length), people: [], unknownFaces: 0, unusableFaces: 0 });
    },
  };
}

async function withQueue(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-queue-'));
  try {
    await test(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

describe('PhotoQueue', () => {
  it('GIVEN filing fails twice on a full disk THEN the photo is tried again and filed once, and the user hears only the result', () =>
    withQueue(async (dir) => {
      const lib = library([enospc(), enospc()]);
      const queue = new PhotoQueue({ dir, library: lib, log: silentLog, concurrency: 1, retry: { ...FAST, attempts: 5 } });
      const answers: PhotoJobResult[] = [];
      queue.onDone('test', (_meta, result) => Promise.resolve(void answers.push(result)));
      await queue.start();
      await queue.add(Buffer.from('photo'), META);
      await queue.idle();
      assert.equal(lib.filed.length, 1);
      assert.deepEqual(
        answers.map((a) => a.kind),
        ['filed'],
      );
      assert.deepEqual(await readdir(dir), []);
    }));

  it('GIVEN filing keeps failing THEN after the last try the photo is kept in dead-letter/, counted for its group, and the user told once', () =>
    withQueue(async (dir) => {
      const lib = library([enospc(), enospc(), enospc()]);
      const queue = new PhotoQueue({ dir, library: lib, log: silentLog, concurrency: 1, retry: FAST });
      const answers: PhotoJobResult[] = [];
      queue.onDone('test', (_meta, result) => Promise.resolve(void answers.push(result)));
      await queue.start();
      await queue.add(Buffer.from('precious'), META);
      await queue.idle();
      assert.deepEqual(
        answers.map((a) => a.kind),
        ['failed'],
      );
      const kept = await readdir(path.join(dir, 'dead-letter'));
      const bin = kept.find((n) => n.endsWith('.bin'))!;
      assert.equal(await readFile(path.join(dir, 'dead-letter', bin), 'utf8'), 'precious');
      assert.match(await readFile(path.join(dir, 'dead-letter', bin.replace('.bin', '.why.txt')), 'utf8'), /ENOSPC/);
      assert.equal(await queue.deadLetters('g1'), 1);
      assert.equal(await queue.deadLetters('g2'), 0);
    }));

  it('GIVEN a truncated job description at start THEN the photo beside it is quarantined, not deleted, and the other jobs are filed', () =>
    withQueue(async (dir) => {
      await writeFile(path.join(dir, '0000000000000001-aaaaaa.bin'), 'intact photo');
      await writeFile(path.join(dir, '0000000000000001-aaaaaa.json'), '{"platform":"test","gro');
      await writeFile(path.join(dir, '0000000000000002-bbbbbb.bin'), 'good photo');
      await writeFile(path.join(dir, '0000000000000002-bbbbbb.json'), JSON.stringify(META));
      // A photo whose description never landed was never acknowledged, but it is kept all the same.
      await writeFile(path.join(dir, '0000000000000003-cccccc.bin'), 'orphan');
      const lib = library();
      const queue = new PhotoQueue({ dir, library: lib, log: silentLog, concurrency: 1, retry: FAST });
      await queue.start();
      await queue.idle();
      assert.deepEqual(
        lib.filed.map((b) => Buffer.from(b).toString()),
        ['good photo'],
      );
      const quarantined = (await readdir(path.join(dir, 'quarantine'))).sort();
      assert.ok(quarantined.includes('0000000000000001-aaaaaa.bin') && quarantined.includes('0000000000000003-cccccc.bin'), quarantined.join());
      assert.equal(await readFile(path.join(dir, 'quarantine', '0000000000000001-aaaaaa.bin'), 'utf8'), 'intact photo');
    }));

  it('GIVEN a stop while a retry waits THEN the job stays on disk with its tries, and a new queue files it', () =>
    withQueue(async (dir) => {
      const first = new PhotoQueue({
        dir,
        library: library([enospc()]),
        log: silentLog,
        concurrency: 1,
        retry: { ...FAST, firstDelayMs: 60_000, maxDelayMs: 60_000 },
      });
      await first.start();
      await first.add(Buffer.from('photo'), META);
      while ((await readdir(dir)).every((n) => !n.endsWith('.tries'))) await new Promise((resolve) => setTimeout(resolve, 10));
      await first.stop();
      const lib = library();
      const second = new PhotoQueue({ dir, library: lib, log: silentLog, concurrency: 1, retry: FAST });
      await second.start();
      await second.idle();
      assert.equal(lib.filed.length, 1);
      assert.deepEqual(await readdir(dir), []);
    }));

  it('GIVEN the queue folder cannot be written THEN add rejects and leaves no half job', () =>
    withQueue(async (dir) => {
      const queue = new PhotoQueue({ dir: path.join(dir, 'queue'), library: library(), log: silentLog, concurrency: 1, retry: FAST });
      await queue.start();
      await rm(path.join(dir, 'queue'), { recursive: true });
      await writeFile(path.join(dir, 'queue'), 'a file where the folder was');
      await assert.rejects(queue.add(Buffer.from('photo'), META), /ENOTDIR|EEXIST|ENOENT/);
      assert.equal(queue.size, 0);
    }));
  it('GIVEN a burst in group A and then photos of B and C THEN the groups take turns: B and C are not kept behind all of A', () =>
    withQueue(async (dir) => {
      const order: string[] = [];
      let hold: (() => void) | undefined;
      const held = new Promise<void>((resolve) => (hold = resolve));
      const lib = {
        async ingest(group: string): Promise<IngestResult> {
          if (order.push(group) === 1) await held;
          return { kind: 'filed', hash: String(order.length), people: [], unknownFaces: 0, unusableFaces: 0 };
        },
      };
      const queue = new PhotoQueue({ dir, library: lib, log: silentLog, concurrency: 1, retry: FAST });
      await queue.start();
      for (const group of ['A', 'A', 'A', 'B', 'B', 'C']) await queue.add(Buffer.from(group), { ...META, group });
      hold!();
      await queue.idle();
      assert.deepEqual(order, ['A', 'B', 'C', 'A', 'B', 'A']);
    }));
  it('GIVEN photos in dead-letter/ THEN they are counted by group once at the start, and /stats reads no folder after', () =>
    withQueue(async (dir) => {
      const deadLetter = (id: string, group: string) => writeFile(path.join(dir, 'dead-letter', `${id}.json`), JSON.stringify({ ...META, group }));
      await mkdir(path.join(dir, 'dead-letter'), { recursive: true });
      await deadLetter('1', 'g1');
      await deadLetter('2', 'g1');
      await deadLetter('3', 'g2');
      const queue = new PhotoQueue({ dir, library: library(), log: silentLog, concurrency: 1, retry: FAST });
      await queue.start();
      await deadLetter('4', 'g2');
      assert.deepEqual([await queue.deadLetters('g1'), await queue.deadLetters('g2'), await queue.deadLetters('g3')], [2, 1, 0]);
    }));
  it('GIVEN the queue holds its bound of bytes, or a group its half THEN a photo is refused with QueueFullError and nothing written; once filed, photos are taken again', () =>
    withQueue(async (dir) => {
      let hold: (() => void) | undefined;
      const held = new Promise<void>((resolve) => (hold = resolve));
      const lib = {
        async ingest(): Promise<IngestResult> {
          await held;
          return { kind: 'filed', hash: 'h', people: [], unknownFaces: 0, unusableFaces: 0 };
        },
      };
      const queue = new PhotoQueue({ dir, library: lib, log: silentLog, concurrency: 1, retry: FAST, limits: { maxPhotos: 100, maxBytes: 40 } });
      await queue.start();
      await queue.add(Buffer.alloc(15), { ...META, group: 'g1' });
      await assert.rejects(queue.add(Buffer.alloc(10), { ...META, group: 'g1' }), (error) => error instanceof QueueFullError && !error.whole);
      await queue.add(Buffer.alloc(20), { ...META, group: 'g2' });
      await assert.rejects(queue.add(Buffer.alloc(10), { ...META, group: 'g3' }), (error) => error instanceof QueueFullError && error.whole);
      assert.equal((await readdir(dir)).filter((n) => n.endsWith('.bin')).length, 2);
      hold!();
      await queue.idle();
      await queue.add(Buffer.alloc(15), { ...META, group: 'g1' });
      await queue.idle();
    }));
});
