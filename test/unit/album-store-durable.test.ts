import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { FsAlbumStore } from '../../src/albums/index.ts';

const PHOTO = { hash: 'ab'.repeat(32), ext: 'jpg', date: '2024-05-01T10:00:00.000Z' };

/**
 * Issue 20, finding 12e: a photo is acknowledged once its record is written, so its original's
 * name must be on the disk by then; a file flushed into a folder that is not is lost at a power
 * cut all the same. The file system's calls are watched: a power cut cannot be staged in a test.
 */
describe('FsAlbumStore, durably', () => {
  it('GIVEN a new group WHEN an original is stored THEN each folder that gained an entry is flushed after it, the originals folder last', async (t) => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'facefile-durable-'));
    t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
    const events: string[] = [];
    const { open, link } = fs;
    t.after(() => {
      Object.assign(fs, { open, link });
      syncBuiltinESMExports();
    });
    Object.assign(fs, {
      link: async (source: string, target: string) => {
        await link(source, target);
        events.push(`link ${path.relative(dataDir, target)}`);
      },
      open: async (...args: Parameters<typeof open>) => {
        const handle = await open(...args);
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          await sync();
          events.push(`sync ${path.relative(dataDir, String(args[0])) || '.'}`);
        };
        return handle;
      },
    });
    syncBuiltinESMExports();

    const store = new FsAlbumStore(dataDir);
    const group = 'tg:-100';
    await store.storeOriginal(group, PHOTO, Buffer.from('a photo'));
    Object.assign(fs, { open, link });
    syncBuiltinESMExports();

    const [folder] = await fs.readdir(path.join(dataDir, 'groups'));
    const original = path.join('groups', folder!, 'photos', `${PHOTO.hash}.jpg`);
    const linked = events.indexOf(`link ${original}`);
    assert.ok(linked >= 0, events.join('\n'));
    assert.equal(events.at(-1), `sync ${path.join('groups', folder!, 'photos')}`, 'the originals folder is flushed after the link');
    for (const parent of ['.', 'groups', path.join('groups', folder!)])
      assert.ok(events.includes(`sync ${parent}`), `${parent} is flushed: ${events.join(', ')}`);
  });
});
