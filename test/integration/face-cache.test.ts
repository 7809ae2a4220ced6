import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { faceCacheContract } from '../contracts/face-cache.contract.ts';
import { MemoryFaceCache } from '../fakes/memory-face-cache.ts';
import { KeyvFaceCache, openKeyv } from '../../src/storage/index.ts';
import { StorageError } from '../../src/core/index.ts';

const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function sqliteCache(embedder = 'test-embedder') {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-cache-'));
  folders.push(dir);
  return { dir, cache: new KeyvFaceCache(openKeyv(dir, 'faces'), embedder) };
}

faceCacheContract('MemoryFaceCache (fake)', () => Promise.resolve(new MemoryFaceCache()));
faceCacheContract('KeyvFaceCache on SQLite', async () => (await sqliteCache()).cache);

describe('KeyvFaceCache on SQLite', () => {
  it('GIVEN faces cached by one embedder THEN another embedder does not see them', async () => {
    const { dir, cache } = await sqliteCache('embedder-a');
    await cache.set('c'.repeat(64), []);
    const other = new KeyvFaceCache(openKeyv(dir, 'faces'), 'embedder-b');
    assert.equal(await other.get('c'.repeat(64)), undefined);
    assert.deepEqual(await new KeyvFaceCache(openKeyv(dir, 'faces'), 'embedder-a').get('c'.repeat(64)), []);
  });

  it('GIVEN a database file that is not SQLite THEN reads fail with StorageError, not "not found"', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-cache-'));
    folders.push(dir);
    await writeFile(path.join(dir, 'facefile.sqlite'), 'this is not a database '.repeat(100));
    const cache = new KeyvFaceCache(openKeyv(dir, 'faces'), 'x');
    await assert.rejects(cache.get('f'.repeat(64)), StorageError);
  });
});
