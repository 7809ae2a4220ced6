import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { SharpImageDecoder } from '../../src/imaging/index.ts';
import { sha256Hex, type DecodedImage } from '../../src/core/index.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { runCli } from '../helpers/cli.ts';
import { NO_CHROMIUM, launchChromium } from '../helpers/browser.ts';

/** HEIC photos are made at run time by libheif's own encoder (Debian: apt-get install libheif-examples). */
const HAVE_ENCODER = spawnSync('heif-enc', ['--help']).error === undefined;
const SKIP = NO_DATASETS || (HAVE_ENCODER ? false : 'heif-enc not found: apt-get install -y libheif-examples to make the HEIC test photos');

describe('HEIC photos', { skip: SKIP }, () => {
  let dir: string;
  let heic: string;
  const jpeg = path.join(POSTS, 'obama1.jpg');

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-heif-'));
    heic = path.join(dir, 'obama1.heic');
    execFileSync('heif-enc', ['-q', '70', '-o', heic, jpeg], { stdio: 'ignore' });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a HEIC made by heif-enc from a JPEG THEN the shared decoder reads it as the same picture', async () => {
    const decoder = new SharpImageDecoder();
    const fromHeic = await decoder.decode(await readFile(heic));
    const fromJpeg = await decoder.decode(await readFile(jpeg));
    assert.ok(fromHeic.ok, JSON.stringify(!fromHeic.ok && fromHeic.failure));
    assert.ok(fromJpeg.ok);
    assert.equal(fromHeic.image.format, 'heif');
    assert.deepEqual([fromHeic.image.width, fromHeic.image.height], [fromJpeg.image.width, fromJpeg.image.height]);
    assert.equal(fromHeic.image.pixels.length, fromHeic.image.width * fromHeic.image.height * 3);
    const difference = meanDifference(fromHeic.image, fromJpeg.image);
    assert.ok(difference < 8, `mean difference ${difference.toFixed(2)} per channel: the same picture, lossy twice`);
  });

  it('GIVEN a truncated HEIC, or one over the pixel limit THEN the decoder answers with the usual failure values', async () => {
    const bytes = await readFile(heic);
    const truncated = await new SharpImageDecoder().decode(bytes.subarray(0, 3000));
    assert.equal(truncated.ok ? 'ok' : truncated.failure.reason, 'corrupt');
    const limited = await new SharpImageDecoder({ maxBytes: 50_000_000, maxPixels: 100_000, maxSide: 4096, timeoutSeconds: 30 }).decode(bytes);
    assert.equal(limited.ok ? 'ok' : limited.failure.reason, 'too-many-pixels');
    const tooLarge = await new SharpImageDecoder({ maxBytes: 1000, maxPixels: 100_000_000, maxSide: 4096, timeoutSeconds: 30 }).decode(bytes);
    assert.equal(tooLarge.ok ? 'ok' : tooLarge.failure.reason, 'too-large');
  });

  it('GIVEN a HEIC beside its JPEG in the photos THEN facefile archive files both under the same person', async () => {
    const work = path.join(dir, 'archive-run');
    await mkdir(path.join(work, 'known'), { recursive: true });
    await mkdir(path.join(work, 'photos'), { recursive: true });
    for (const person of ['obama', 'biden']) await symlink(path.join(GROUP, person), path.join(work, 'known', person));
    await copyFile(heic, path.join(work, 'photos', 'obama1.heic'));
    await copyFile(jpeg, path.join(work, 'photos', 'obama1.jpg'));
    const result = await runCli(['archive'], work);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /errors/);
    assert.deepEqual((await readdir(path.join(work, 'archive', 'obama'))).sort(), ['obama1.heic', 'obama1.jpg']);
  });

  it('THEN report.html shows the HEIC through a JPEG stand-in (browsers show no HEIC), links to the copy itself, and a browser draws it', async (t) => {
    const archive = path.join(dir, 'archive-run', 'archive');
    const html = await readFile(path.join(archive, 'report.html'), 'utf8');
    const hash = sha256Hex(await readFile(heic));
    assert.match(html, new RegExp(`<a href="obama/obama1\\.heic"><img src="\\.facefile-previews/${hash}\\.jpg"`));
    assert.match(html, /<a href="obama\/obama1\.jpg"><img src="obama\/obama1\.jpg"/, 'a JPEG is shown as itself');
    const meta = await sharp(path.join(archive, '.facefile-previews', `${hash}.jpg`)).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.ok(Math.max(meta.width, meta.height) <= 300);
    if (NO_CHROMIUM) return t.skip(NO_CHROMIUM);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(pathToFileURL(path.join(archive, 'report.html')).href);
      const widths = await page.locator('a[href="obama/obama1.heic"] img').evaluateAll((images: { decode(): Promise<void>; naturalWidth: number }[]) =>
        Promise.all(
          images.map((image) =>
            image.decode().then(
              () => image.naturalWidth,
              () => 0,
            ),
          ),
        ),
      );
      assert.ok(widths.length > 0 && widths.every((w) => w > 0), `the HEIC's thumbnail is drawn: ${widths.join(', ')}`);
    } finally {
      await browser.close();
    }
  });

  it('WHEN the HEIC is no longer among the photos THEN its stand-in goes too', async () => {
    const work = path.join(dir, 'archive-run');
    await rm(path.join(work, 'photos', 'obama1.heic'));
    const result = await runCli(['archive'], work);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(path.join(work, 'archive', '.facefile-previews')), []);
  });
});

function meanDifference(a: DecodedImage, b: DecodedImage): number {
  let sum = 0;
  for (let i = 0; i < a.pixels.length; i++) sum += Math.abs(a.pixels[i]! - b.pixels[i]!);
  return sum / a.pixels.length;
}
