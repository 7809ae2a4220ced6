import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createDecoder } from '../../src/app/index.ts';
import { DEFAULT_DECODER_LIMITS, MAX_JPEG_SCANS, ProcessImageDecoder } from '../../src/imaging/index.ts';
import type { DecodeResult } from '../../src/core/index.ts';
import { GROUP, NO_DATASETS } from '../helpers/datasets.ts';
import { manyScanJpeg, turbulenceSvg, useFanOutSvg } from '../helpers/hostile-images.ts';

/** Each of these took libvips from 5 s to minutes on this machine; together they held its thread pool. */
async function hostileFiles(): Promise<[string, Buffer][]> {
  return [
    ['a JPEG with 100,000 empty progressive scans', await manyScanJpeg()],
    ['an SVG <use> fan-out', useFanOutSvg()],
    ['an SVG feTurbulence with numOctaves=4000', turbulenceSvg()],
  ];
}

function reasonOf(result: DecodeResult): string {
  return result.ok ? 'decoded' : result.failure.reason;
}

describe('hostile images', { skip: NO_DATASETS }, () => {
  it(
    'GIVEN the slow hostile files WHEN the bot decodes them THEN each is refused from its bytes in a few seconds, before libvips sees it',
    { timeout: 120_000 },
    async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-hostile-'));
      const decoder = createDecoder(loadConfig({ DATA_DIR: dir }, { cwd: dir }));
      t.after(async () => {
        await decoder.close();
        await rm(dir, { recursive: true, force: true });
      });
      const reasons: Record<string, string> = {};
      for (const [name, bytes] of await hostileFiles()) {
        const started = performance.now();
        const result = await decoder.decode(bytes);
        const seconds = (performance.now() - started) / 1000;
        assert.ok(seconds < 5, `${name} took ${seconds.toFixed(1)} s`);
        assert.ok(!result.ok && result.failure.detail.length > 0, name);
        reasons[name] = reasonOf(result);
      }
      assert.deepEqual(reasons, {
        'a JPEG with 100,000 empty progressive scans': 'corrupt',
        'an SVG <use> fan-out': 'unsupported-format',
        'an SVG feTurbulence with numOctaves=4000': 'unsupported-format',
      });
      // A normal progressive JPEG, well under the bound, still decodes.
      const normal = await decoder.decode(await manyScanJpeg(MAX_JPEG_SCANS - 20, 256));
      assert.ok(normal.ok, normal.ok ? '' : normal.failure.detail);
    },
  );

  it(
    'GIVEN four hostile decodes that pass every check WHEN they run THEN a tiny write and another photo finish meanwhile, and each is killed at the time limit',
    { timeout: 180_000 },
    async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-hostile-'));
      // Scans unbounded, so that only the wall-clock limit stands between the file and minutes of work.
      const decoder = new ProcessImageDecoder({
        maxBytes: 50_000_000,
        maxPixels: 100_000_000,
        maxSide: 4096,
        timeoutSeconds: 10,
        maxJpegScans: Infinity,
        processes: 5,
      });
      t.after(async () => {
        await decoder.close();
        await rm(dir, { recursive: true, force: true });
      });
      const photo = await readFile(path.join(GROUP, 'obama', 'obama.jpg'));
      // Every child started and ready, so that the hostile files are inside libvips at once.
      const warm = await Promise.all(Array.from({ length: 5 }, () => decoder.decode(photo)));
      assert.ok(warm.every((result) => result.ok));
      assert.equal(decoder.processes, 5);

      const hostile = await manyScanJpeg();
      let settled = 0;
      const started = performance.now();
      const running = Array.from({ length: 4 }, () =>
        decoder.decode(hostile).then((result) => {
          settled++;
          return { result, seconds: (performance.now() - started) / 1000 };
        }),
      );
      // The acknowledgement of another group's photo is a small file write on libuv's thread pool.
      await writeFile(path.join(dir, 'ack.json'), '{}');
      assert.equal(settled, 0, 'the write finished while the hostile decodes still ran');
      const other = await decoder.decode(photo);
      assert.ok(other.ok, 'another photo decodes on the fifth process');
      assert.equal(settled, 0, 'that photo was decoded while the hostile decodes still ran');

      for (const { result, seconds } of await Promise.all(running)) {
        assert.equal(reasonOf(result), 'corrupt');
        assert.match(result.ok ? '' : result.failure.detail, /took longer than 10 s/);
        // Left alone, each takes over a minute; killed, the limit plus the time to notice.
        assert.ok(seconds < 30, `killed after ${seconds.toFixed(1)} s`);
      }
      const after = await decoder.decode(photo);
      assert.ok(after.ok, 'new processes take the killed ones’ place');
    },
  );

  it('WHEN the decoder is closed while its processes are still starting THEN each decode ends with a failure, none throws', { timeout: 120_000 }, async () => {
    // Ctrl-C in `facefile archive` closes the decoder at any moment, the first decodes' included.
    const decoder = new ProcessImageDecoder({ ...DEFAULT_DECODER_LIMITS, processes: 2 });
    const photo = await readFile(path.join(GROUP, 'obama', 'obama.jpg'));
    const decodes = Array.from({ length: 3 }, () => decoder.decode(photo));
    await decoder.close();
    for (const result of await Promise.all(decodes)) assert.equal(reasonOf(result), 'corrupt');
    assert.equal(reasonOf(await decoder.decode(photo)), 'corrupt', 'refused once closed');
  });

  it('WHEN Ctrl-C reaches the whole process group THEN the decoder processes keep working until their parent closes them', { timeout: 120_000 }, async (t) => {
    const decoder = new ProcessImageDecoder({ ...DEFAULT_DECODER_LIMITS, processes: 1 });
    t.after(() => decoder.close());
    const photo = await readFile(path.join(GROUP, 'obama', 'obama.jpg'));
    assert.ok((await decoder.decode(photo)).ok);
    const [pid] = decoder.pids;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGINT');
    process.kill(pid, 'SIGTERM');
    assert.ok((await decoder.decode(photo)).ok, 'the same process decodes on');
    assert.deepEqual(decoder.pids, [pid]);
  });
});
