import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { SharpImageDecoder } from '../../src/imaging/sharp-decoder.ts';
import { DEFAULT_DECODER_LIMITS, POSTED_FORMATS, ProcessImageDecoder } from '../../src/imaging/index.ts';
import type { ImageDecoder } from '../../src/core/index.ts';
import { DECODE_FAILURE_MESSAGES } from '../../src/core/index.ts';
import { BAD_IMAGES, GROUP, NO_DATASETS } from '../helpers/datasets.ts';

const decoder = new SharpImageDecoder();

describe('SharpImageDecoder', { skip: NO_DATASETS }, () => {
  it(
    'GIVEN each of the 133 broken or hostile files THEN it decodes or fails with a reason, never throws, hangs or floods memory',
    { timeout: 240_000 },
    async (t) => {
      // The bot's decoder too: the same decodes in child processes, their results across IPC.
      const pooled = new ProcessImageDecoder({ maxBytes: 50 * 1024 * 1024, maxPixels: 100_000_000, maxSide: 4096, timeoutSeconds: 30, processes: 2 });
      t.after(() => pooled.close());
      for (const subject of [decoder, pooled]) await decodesEveryBadImage(subject);
    },
  );

  async function decodesEveryBadImage(decoder: ImageDecoder): Promise<void> {
    const manifest = (await readFile(path.join(BAD_IMAGES, 'MANIFEST.tsv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'));
    assert.equal(manifest.length, 133);
    const outcomes = new Map<string, number>();
    let peakRss = process.memoryUsage().rss;
    for (const [file, , , expected] of manifest) {
      const started = performance.now();
      const result = await decoder.decode(await readFile(path.join(BAD_IMAGES, file!)));
      const ms = performance.now() - started;
      assert.ok(ms < 10_000, `${file} took ${ms} ms`);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (result.ok) {
        assert.ok(result.image.width > 0 && result.image.height > 0);
        assert.equal(result.image.pixels.length, result.image.width * result.image.height * 3);
      } else {
        assert.ok(DECODE_FAILURE_MESSAGES[result.failure.reason], `${file}: unknown reason ${result.failure.reason}`);
        assert.ok(result.failure.detail.length > 0);
      }
      // The pixel floods must be refused from their header, whatever else libvips tolerates.
      if (expected === 'reject:too-many-pixels' && !file!.includes('65520')) assert.equal(result.ok ? 'ok' : result.failure.reason, 'too-many-pixels', file);
      if (expected?.startsWith('tolerated')) assert.ok(result.ok, `${file} decodes with sharp's defaults and should here too`);
      const key = result.ok ? 'ok' : result.failure.reason;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    assert.ok(peakRss < 1024 ** 3, `peak RSS ${Math.round(peakRss / 2 ** 20)} MiB`);
    // TIFF, SVG, PDF and the other formats no phone posts are refused from their bytes.
    assert.ok((outcomes.get('corrupt') ?? 0) >= 45 && (outcomes.get('unsupported-format') ?? 0) >= 55, JSON.stringify([...outcomes]));
  }

  it('GIVEN the same photo as JPEG, PNG, WebP, GIF, AVIF, and TIFF where allowed THEN every one decodes to the same size and about the same pixels', async () => {
    const source = await sharp(path.join(GROUP, 'obama', 'obama.jpg'))
      .resize({ width: 320 })
      .toBuffer();
    const reference = await decoder.decode(source);
    assert.ok(reference.ok);
    // TIFF is for the user's own files (archiver, facefile ui), never a chat's.
    const withTiff = new SharpImageDecoder({
      maxBytes: 50_000_000,
      maxPixels: 100_000_000,
      maxSide: 4096,
      timeoutSeconds: 30,
      formats: new Set([...POSTED_FORMATS, 'tiff']),
    });
    assert.equal(failureOf(await decoder.decode(await sharp(source).tiff().toBuffer())), 'unsupported-format');
    for (const format of ['png', 'webp', 'gif', 'tiff', 'avif'] as const) {
      const bytes = await sharp(source).toFormat(format).toBuffer();
      const result = await withTiff.decode(bytes);
      assert.ok(result.ok, `${format}: ${result.ok ? '' : result.failure.detail}`);
      assert.equal(result.image.width, reference.image.width, format);
      assert.equal(result.image.height, reference.image.height, format);
      assert.ok(meanAbsoluteDifference(result.image.pixels, reference.image.pixels) < 12, format);
    }
  });

  it('GIVEN a JPEG whose EXIF says "rotate 90°" THEN the pixels come out upright and the EXIF date is read', async () => {
    const upright = await sharp(path.join(GROUP, 'obama', 'obama.jpg'))
      .resize({ width: 200 })
      .toBuffer();
    const meta = await sharp(upright).metadata();
    // Stored sideways with orientation 6, as a phone held upright writes it.
    const sideways = await sharp(upright)
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .withExif({ IFD0: { DateTime: '2021:05:04 10:11:12' } })
      .jpeg()
      .toBuffer();
    const result = await decoder.decode(sideways);
    assert.ok(result.ok);
    assert.equal(result.image.width, meta.width);
    assert.equal(result.image.height, meta.height);
    assert.equal(result.image.takenAt?.getUTCFullYear(), 2021);
  });

  it('GIVEN a PNG with transparency THEN it is flattened to three channels', async () => {
    const rgba = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const result = await decoder.decode(rgba);
    assert.ok(result.ok);
    assert.equal(result.image.pixels.length, 8 * 8 * 3);
    assert.equal(result.image.pixels[0], 255, 'transparent becomes white');
  });

  it('GIVEN a file over the byte limit or an image over the pixel limit THEN each is refused with its own reason', async () => {
    const small = new SharpImageDecoder({ maxBytes: 1000, maxPixels: 100 * 100, maxSide: 4096, timeoutSeconds: 30 });
    const big = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    assert.deepEqual(failureOf(await small.decode(new Uint8Array(2000))), 'too-large');
    const pixels = new SharpImageDecoder({ maxBytes: 10_000_000, maxPixels: 100 * 100, maxSide: 4096, timeoutSeconds: 30 });
    assert.deepEqual(failureOf(await pixels.decode(big)), 'too-many-pixels');
    assert.deepEqual(failureOf(await decoder.decode(new Uint8Array(0))), 'empty');
    assert.deepEqual(failureOf(await decoder.decode(new TextEncoder().encode('<html>not a photo</html>'))), 'unsupported-format');
  });

  it('GIVEN photos decoded in child processes, in turn and at once THEN each comes back pixel for pixel, with its date, as decoded here', async (t) => {
    const pooled = new ProcessImageDecoder({ ...DEFAULT_DECODER_LIMITS, processes: 2 });
    t.after(() => pooled.close());
    const dated = await sharp(path.join(GROUP, 'obama', 'obama.jpg'))
      .withExif({ IFD0: { DateTime: '2021:05:04 10:11:12' } })
      .jpeg()
      .toBuffer();
    // 12 MP: the pixels (36 MB) arrive on their pipe in hundreds of pieces.
    const large = await sharp(path.join(GROUP, 'obama', 'obama.jpg'))
      .resize(4032, 3024, { fit: 'fill' })
      .jpeg()
      .toBuffer();
    const tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const photos = [dated, large, tiny, dated, large];
    const here = await Promise.all(photos.map((photo) => decoder.decode(photo)));
    const inTurn = [];
    for (const photo of photos) inTurn.push(await pooled.decode(photo));
    const atOnce = await Promise.all(photos.map((photo) => pooled.decode(photo)));
    for (const results of [inTurn, atOnce]) {
      results.forEach((result, i) => {
        const expected = here[i]!;
        assert.ok(result.ok && expected.ok, `photo ${i}`);
        assert.deepEqual({ ...result.image, pixels: undefined }, { ...expected.image, pixels: undefined }, `photo ${i}`);
        assert.ok(Buffer.from(result.image.pixels).equals(Buffer.from(expected.image.pixels)), `photo ${i}: the same pixels`);
      });
    }
    // And a failure between them is still its own answer.
    const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]);
    assert.equal(failureOf(await pooled.decode(broken)), 'corrupt');
    assert.ok((await pooled.decode(dated)).ok);
  });

  it('GIVEN decoded photos released or kept THEN only the memory of a released one takes a later photo of its size, once', async (t) => {
    const pooled = new ProcessImageDecoder({ ...DEFAULT_DECODER_LIMITS, processes: 2 });
    t.after(() => pooled.close());
    const photo = (colour: string, width = 640) =>
      sharp({ create: { width, height: 480, channels: 3, background: colour } })
        .png()
        .toBuffer();
    const decode = async (bytes: Buffer) => {
      const result = await pooled.decode(bytes);
      assert.ok(result.ok);
      return result.image;
    };
    const red = await decode(await photo('#ff0000'));
    const green = await decode(await photo('#00ff00'));
    // Kept, not released: a later photo never lands in its memory.
    assert.notEqual(green.pixels.buffer, red.pixels.buffer);
    assert.deepEqual([...red.pixels.subarray(0, 3)], [255, 0, 0]);
    pooled.release(red);
    pooled.release(red);
    const [blue, white] = await Promise.all([decode(await photo('#0000ff')), decode(await photo('#ffffff'))]);
    // The released memory goes to one photo of its size, never to two at once (the second release was ignored).
    assert.equal([blue, white].filter((image) => image.pixels.buffer === red.pixels.buffer).length, 1);
    assert.notEqual(blue.pixels.buffer, white.pixels.buffer);
    assert.ok(
      blue.pixels.every((value, i) => value === (i % 3 === 2 ? 255 : 0)),
      'blue throughout, nothing of red left',
    );
    assert.ok(white.pixels.every((value) => value === 255));
    assert.deepEqual([...green.pixels.subarray(0, 3)], [0, 255, 0], 'the kept photo is untouched');
    // A photo of another size, larger or smaller, never takes released memory.
    pooled.release(green);
    const wide = await decode(await photo('#808080', 800));
    assert.notEqual(wide.pixels.buffer, green.pixels.buffer);
    pooled.release(wide);
    const narrow = await decode(await photo('#808080', 320));
    assert.ok(narrow.pixels.buffer !== green.pixels.buffer && narrow.pixels.buffer !== wide.pixels.buffer);
    assert.equal(narrow.pixels.byteLength, narrow.pixels.buffer.byteLength);
  });

  it('GIVEN a photo larger than the working size THEN it is scaled down to fit, keeping its aspect', async () => {
    const wide = await sharp({ create: { width: 6000, height: 3000, channels: 3, background: '#336699' } })
      .jpeg()
      .toBuffer();
    const result = await decoder.decode(wide);
    assert.ok(result.ok);
    assert.equal(result.image.width, 4096);
    assert.equal(result.image.height, 2048);
  });
});

function failureOf(result: Awaited<ReturnType<SharpImageDecoder['decode']>>): string {
  return result.ok ? 'decoded' : result.failure.reason;
}

function meanAbsoluteDifference(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}
