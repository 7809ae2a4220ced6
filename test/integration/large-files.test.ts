import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ArchiveJob } from '../../src/archive/index.ts';
import { silentLog } from '../../src/core/index.ts';
import { DEFAULT_DECODER_LIMITS, ProcessImageDecoder } from '../../src/imaging/index.ts';
import { SqlFaceCache, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { Thumbnails } from '../../src/web/thumbnails.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { sharedEngine } from '../helpers/engine.ts';

const BIG = 1.5 * 1024 ** 3;

/** The most memory this process has held so far, in bytes (the kernel's high-water mark, not a sample). */
function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** A folder with one real photo and a 1.5 GB file named like a photo (sparse: no disk, all of it readable zeros). */
async function folderWithHugeFile(t: { after(fn: () => Promise<void>): void }): Promise<{ dir: string; photos: string; huge: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-large-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const photos = path.join(dir, 'photos');
  await mkdir(photos);
  await copyFile(path.join(POSTS, 'obama1.jpg'), path.join(photos, 'obama1.jpg'));
  const huge = path.join(photos, 'huge.jpg');
  await writeFile(huge, '');
  await truncate(huge, BIG);
  return { dir, photos, huge };
}

describe('files over the size limit', { skip: NO_DATASETS }, () => {
  // The thumbnails first: the kernel's high-water mark only rises, and the archive run loads the models.
  it(
    'GIVEN a 1.5 GB file named .jpg WHEN facefile ui asks for its thumbnail or a face of it THEN there is none, and it is never read',
    { timeout: 120_000 },
    async (t) => {
      const { huge } = await folderWithHugeFile(t);
      const decoder = new ProcessImageDecoder({ ...DEFAULT_DECODER_LIMITS, processes: 1 });
      t.after(() => decoder.close());
      const thumbnails = new Thumbnails(decoder, DEFAULT_DECODER_LIMITS.maxPixels, DEFAULT_DECODER_LIMITS.maxBytes);
      const before = peakRss();
      const box = { x: 10, y: 10, width: 50, height: 50 };

      assert.equal(await thumbnails.photo(huge), undefined);
      assert.equal(await thumbnails.face(huge, box), undefined);
      assert.equal(await thumbnails.faceSample(huge, box, [box]), undefined);

      const grew = peakRss() - before;
      assert.ok(grew < 300 * 2 ** 20, `the peak memory grew by ${Math.round(grew / 2 ** 20)} MiB`);
    },
  );

  it(
    'GIVEN a 1.5 GB file named .jpg among the photos WHEN archived THEN it is refused from its size, and memory stays small',
    { timeout: 300_000 },
    async (t) => {
      const { dir, photos, huge } = await folderWithHugeFile(t);
      const known = path.join(dir, 'known');
      await mkdir(path.join(known, 'Obama'), { recursive: true });
      await copyFile(path.join(GROUP, 'obama', 'obama.jpg'), path.join(known, 'Obama', 'obama.jpg'));
      const database = await openLibraryDatabase({ dataDir: path.join(dir, 'data') });
      const decoder = new ProcessImageDecoder({ ...DEFAULT_DECODER_LIMITS, processes: 1 });
      t.after(async () => {
        await decoder.close();
        await database.close();
      });
      const engine = await sharedEngine();
      const job = new ArchiveJob({ engine, decoder, cache: new SqlFaceCache(database.db, engine.info.embedder), log: silentLog });
      const plan = await ArchiveJob.plan({ inputs: [photos], knownDir: known, outputDir: path.join(dir, 'out'), policy: { threshold: 0.5, margin: 0.02 } });
      const before = peakRss();

      const report = await job.run(plan);

      assert.deepEqual(
        report.errors.map((e) => [path.basename(e.file), e.reason]),
        [['huge.jpg', 'the file is too large']],
      );
      assert.equal(report.photos, 2);
      const grew = peakRss() - before;
      assert.ok(grew < 300 * 2 ** 20, `the peak memory grew by ${Math.round(grew / 2 ** 20)} MiB while archiving (${path.basename(huge)} is 1536 MiB)`);
    },
  );
});
