import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MANIFEST_NAME, readManifest } from '../../src/archive/manifest.ts';
import { syncCopies } from '../../src/archive/sync.ts';

/**
 * The manifest is a file in the user's output folder: anyone who can edit it must not be able to
 * make an archive run delete files elsewhere (issue 20, finding 12a).
 */
describe('an edited manifest', () => {
  let dir: string;
  let outputDir: string;
  let victim: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-manifest-'));
    outputDir = path.join(dir, 'archive');
    victim = path.join(dir, 'precious.jpg');
    await mkdir(path.join(outputDir, 'alice'), { recursive: true });
    await writeFile(victim, 'the only copy');
    await writeFile(path.join(outputDir, 'alice', 'mine.jpg'), 'placed by facefile');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN entries with .. and absolute paths that match a file outside WHEN a run no longer wants them THEN they are refused and the file outside stays', async () => {
    const outside = await stat(victim);
    const placed = await stat(path.join(outputDir, 'alice', 'mine.jpg'));
    const record = (source: string, info: { size: number; mtimeMs: number }) => ({ source, hash: 'h1', size: info.size, mtimeMs: info.mtimeMs });
    await writeFile(
      path.join(outputDir, MANIFEST_NAME),
      JSON.stringify({
        version: 1,
        files: {
          '../precious.jpg': record(victim, outside),
          [victim]: record(victim, outside),
          'alice/../../precious.jpg': record(victim, outside),
          'alice/mine.jpg': record('/photos/mine.jpg', placed),
        },
        generated: { [`${outputDir}/../precious.jpg`]: { size: outside.size, mtimeMs: outside.mtimeMs } },
      }),
    );

    const { manifest, problem, refused } = await readManifest(outputDir);
    assert.equal(problem, undefined, 'the rest of the manifest is still read');
    assert.deepEqual(refused?.sort(), ['../precious.jpg', 'alice/../../precious.jpg', `${outputDir}/../precious.jpg`, victim].sort());
    assert.deepEqual([...manifest.files.keys()], ['alice/mine.jpg']);
    assert.equal(manifest.generated.size, 0);

    // The photo of hash h1 is now filed under bob only: every copy elsewhere is to go.
    const source = path.join(dir, 'source.jpg');
    await writeFile(source, 'placed by facefile');
    const changes = await syncCopies([{ file: source, hash: 'h1', folders: ['bob'] }], manifest, { outputDir, mode: 'copy', dryRun: false });
    assert.deepEqual(
      changes.removed.map((c) => c.path),
      ['alice/mine.jpg'],
      'only the copy inside the output folder is taken back',
    );
    assert.equal(await readFile(victim, 'utf8'), 'the only copy');
  });
});
