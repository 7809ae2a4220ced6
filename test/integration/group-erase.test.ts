import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import { silentLog, type GroupId } from '../../src/core/index.ts';
import { SqlImportCursors } from '../../src/storage/sql/index.ts';
import { NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { sharedEngine } from '../helpers/engine.ts';

const LEFT = 'dc:111' as GroupId;
const STAYING = 'dc:222' as GroupId;

/** A group the bot left is erased whole after the grace period: its history-import cursors too. */
describe('erasing a group the bot left, on SQLite', { skip: NO_DATASETS }, () => {
  let dir: string | undefined;
  after(async () => {
    await (await sharedEngine()).close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("GIVEN a left group with a Discord import's cursors WHEN its data is erased THEN the cursors go, another group's stay", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-erase-'));
    const parts = await createLibrary(loadConfig({ DATA_DIR: path.join(dir, 'data') }, { cwd: dir }), await sharedEngine(), silentLog);
    try {
      const cursors = new SqlImportCursors(parts.database.db);
      const bytes = await readFile(path.join(POSTS, 'obama1.jpg'));
      for (const group of [LEFT, STAYING]) {
        await parts.library.ingest(group, { bytes });
        await cursors.save({
          group,
          channel: '42',
          done: false,
          before: '1000',
          scanned: 100,
          queued: 3,
          skipped: 0,
          startedAt: new Date(0).toISOString(),
          requestedBy: 'dc:user:7',
        });
      }
      await parts.library.markRemoved(LEFT);
      assert.deepEqual(await parts.library.eraseLeftGroups(0), [LEFT]);
      assert.deepEqual(await cursors.list(LEFT), []);
      assert.equal((await cursors.list(STAYING)).length, 1);
    } finally {
      await parts.close();
    }
  });
});
