import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLog } from '../../src/core/index.ts';
import type { IncomingPhoto, IngestResult } from '../../src/core/library/index.ts';
import { PhotoQueue, type PhotoJobMeta, type PhotoJobResult, type RetryPolicy } from '../../src/jobs/index.ts';

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
});
