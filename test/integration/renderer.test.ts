import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { PLOT_LAYOUT, SHEET_LAYOUT, SharpRenderer, escapeXml, plotX } from '../../src/imaging/sharp-renderer.ts';
import { SharpImageDecoder } from '../../src/imaging/sharp-decoder.ts';
import type { Box, DecodedImage, SheetFace } from '../../src/core/index.ts';
import { NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { decodeFile } from '../helpers/engine.ts';

const renderer = new SharpRenderer();
const { tile, gap, captionLineHeight } = SHEET_LAYOUT;
const PAD_GREY = 128;

/** Hand-measured faces of bbt4.jpg (710×473): x, y and side of a square box. */
const BBT4_FACES = [
  [9, 233, 181],
  [421, 152, 182],
  [213, 206, 168],
  [185, 12, 183],
  [543, 48, 152],
  [35, 0, 181],
] as const;

interface Raster {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

async function rasterOf(png: Uint8Array): Promise<Raster> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function pixel(raster: Raster, x: number, y: number): [number, number, number] {
  const at = (y * raster.width + x) * raster.channels;
  return [raster.data[at]!, raster.data[at + 1]!, raster.data[at + 2]!];
}

/** The mean colour of a rectangle. */
function mean(raster: Raster, left: number, top: number, width: number, height: number): [number, number, number] {
  const sum = [0, 0, 0];
  for (let y = top; y < top + height; y++) {
    for (let x = left; x < left + width; x++) pixel(raster, x, y).forEach((v, c) => (sum[c]! += v));
  }
  return sum.map((v) => v / (width * height)) as [number, number, number];
}

/** The share of a rectangle's pixels that are exactly the padding grey. */
function paddingShare(raster: Raster, left: number, top: number, width: number, height: number): number {
  let padding = 0;
  for (let y = top; y < top + height; y++) {
    for (let x = left; x < left + width; x++) if (pixel(raster, x, y).every((v) => v === PAD_GREY)) padding++;
  }
  return padding / (width * height);
}

function sheetSize(count: number, captionLines: number): { width: number; height: number } {
  const columns = Math.min(SHEET_LAYOUT.columns, count);
  const rows = Math.ceil(count / columns);
  const captionHeight = captionLines === 0 ? 0 : captionLines * captionLineHeight + 2 * gap;
  return { width: columns * tile + (columns + 1) * gap, height: captionHeight + rows * tile + (rows + 1) * gap };
}

/** The top-left corner of tile `index` on a sheet whose grid fills its width. */
function tileOrigin(index: number, columns: number, captionLines: number): { left: number; top: number } {
  const captionHeight = captionLines === 0 ? 0 : captionLines * captionLineHeight + 2 * gap;
  return { left: gap + (index % columns) * (tile + gap), top: captionHeight + gap + Math.floor(index / columns) * (tile + gap) };
}

function solidImage(width: number, height: number, rgb: readonly [number, number, number]): DecodedImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set(rgb, i);
  return { width, height, pixels, format: 'raw' };
}

const square = (x: number, y: number, side: number): Box => ({ x, y, width: side, height: side });

describe('SharpRenderer.contactSheet', () => {
  it('GIVEN an empty list THEN it throws RangeError, since asking for a sheet of nothing is a bug', async () => {
    await assert.rejects(renderer.contactSheet([]), RangeError);
  });

  it('GIVEN one face of a solid-colour image THEN the sheet is one tile of that colour', async () => {
    const image = solidImage(200, 120, [200, 30, 60]);
    const png = await renderer.contactSheet([{ image, box: square(80, 40, 40), label: '1' }]);
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.deepEqual({ width: meta.width, height: meta.height }, sheetSize(1, 0));
    const raster = await rasterOf(png);
    // The lower half of the tile is clear of the label badge.
    const [r, g, b] = mean(raster, gap, gap + tile / 2, tile, tile / 2);
    assert.ok(Math.abs(r - 200) < 2 && Math.abs(g - 30) < 2 && Math.abs(b - 60) < 2, `${r},${g},${b}`);
  });

  it('GIVEN a face box at the corner of the photo THEN the part past the edge is grey and the face stays centred', async () => {
    const image = solidImage(200, 120, [20, 40, 220]);
    // side 40 * 1.5 = 60: the square runs from -10 to 50, so the first sixth of the tile is padding.
    const raster = await rasterOf(await renderer.contactSheet([{ image, box: square(0, 0, 40), label: '1' }]));
    const bottom = gap + tile - 1;
    assert.deepEqual(pixel(raster, gap + 2, bottom), [PAD_GREY, PAD_GREY, PAD_GREY]);
    assert.deepEqual(pixel(raster, gap + tile - 2, bottom), [20, 40, 220]);
    assert.deepEqual(pixel(raster, gap + Math.round(tile / 6) + 3, bottom), [20, 40, 220]);
    assert.deepEqual(pixel(raster, gap + Math.round(tile / 6) - 3, bottom), [PAD_GREY, PAD_GREY, PAD_GREY]);
  });

  it('GIVEN labels and a caption full of XML specials, control characters and non-Latin text THEN it renders and the label is drawn', async () => {
    const image = solidImage(100, 100, [0, 0, 160]);
    const labels = ['<script>&"\'', 'Анна & Ζωή', '李小龍 🙂', 'a\u0000b\u0007c', ']]></text><rect/>'];
    const faces = labels.map((label) => ({ image, box: square(30, 30, 40), label }));
    const png = await renderer.contactSheet(faces, '<b>Who & what?</b> "Ünïcödé" \'quoted\'');
    const meta = await sharp(png).metadata();
    assert.deepEqual({ format: meta.format, width: meta.width, height: meta.height }, { format: 'png', ...sheetSize(5, 1) });
    const raster = await rasterOf(png);
    // On a dark blue tile only the label's white text can be near white.
    const { left, top } = tileOrigin(0, 5, 1);
    let white = 0;
    for (let y = top; y < top + 50; y++) {
      for (let x = left; x < left + tile; x++) if (pixel(raster, x, y).every((v) => v > 200)) white++;
    }
    assert.ok(white > 100, `${white} white pixels in the label corner`);
  });

  it('GIVEN user text THEN escapeXml leaves nothing librsvg would parse as markup', () => {
    assert.equal(escapeXml('<a href="x">Tom & Jerry\'s</a>\u0001'), '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;');
  });

  describe('on real photos', { skip: NO_DATASETS }, () => {
    let bbt4: DecodedImage;
    let faces: SheetFace[];
    before(async () => {
      bbt4 = await decodeFile(path.join(POSTS, 'bbt4.jpg'));
      faces = BBT4_FACES.map(([x, y, side], i) => ({ image: bbt4, box: square(x, y, side), label: String(i + 1) }));
    });

    it('GIVEN the six faces of bbt4.jpg THEN a 5-column sheet whose tiles hold those faces, cropped with a 25% margin', async () => {
      const png = await renderer.contactSheet(faces, 'Who is this?');
      await writeFile(path.join(tmpdir(), 'facefile-sheet.png'), png);
      const meta = await sharp(png).metadata();
      assert.deepEqual({ format: meta.format, width: meta.width, height: meta.height }, { format: 'png', ...sheetSize(6, 1) });
      const raster = await rasterOf(png);
      for (let i = 0; i < faces.length; i++) {
        const { left, top } = tileOrigin(i, 5, 1);
        // The box is the middle two thirds of its tile and lies inside the photo, so no padding may
        // show there (below the badge). Not the mean colour: a grey backdrop and a teal dress can
        // average to padding grey.
        const share = paddingShare(raster, left + tile / 6, top + tile / 2, (tile * 2) / 3, tile / 3);
        assert.ok(share < 0.01, `tile ${i + 1} is ${Math.round(share * 100)}% padding where the face should be`);
      }
      // Face 2 (421,152, side 182) lies well inside the photo: its tile is the 273 px square around it, scaled.
      const expected = await sharp(Buffer.from(bbt4.pixels), { raw: { width: bbt4.width, height: bbt4.height, channels: 3 } })
        .extract({ left: 376, top: 107, width: 273, height: 273 })
        .resize(tile, tile, { fit: 'fill' })
        .raw()
        .toBuffer();
      const { left, top } = tileOrigin(1, 5, 1);
      let difference = 0;
      for (let y = tile / 2; y < tile; y++) {
        for (let x = 0; x < tile; x++) {
          const got = pixel(raster, left + x, top + y);
          for (let c = 0; c < 3; c++) difference += Math.abs(got[c]! - expected[(y * tile + x) * 3 + c]!);
        }
      }
      assert.ok(difference / (tile * (tile / 2) * 3) < 2, `mean difference ${difference / (tile * (tile / 2) * 3)}`);
    });

    it('GIVEN 40 faces THEN 30 tiles are shown and the caption gains a "+10 more" line', async () => {
      const many = Array.from({ length: 40 }, (_, i) => ({ ...faces[i % faces.length]!, label: String(i + 1) }));
      const meta = await sharp(await renderer.contactSheet(many, 'Unknown faces')).metadata();
      assert.deepEqual({ width: meta.width, height: meta.height }, sheetSize(30, 2));
    });

    it('GIVEN a photo that was greyscale THEN its faces are drawn in grey, not as padding', async () => {
      const grey = await sharp(path.join(POSTS, 'bbt4.jpg')).greyscale().jpeg().toBuffer();
      const decoded = await new SharpImageDecoder().decode(grey);
      assert.ok(decoded.ok);
      const [x, y, side] = BBT4_FACES[1];
      const raster = await rasterOf(await renderer.contactSheet([{ image: decoded.image, box: square(x, y, side), label: '1' }]));
      const [r, g, b] = mean(raster, gap, gap + tile / 2, tile, tile / 2);
      assert.ok(Math.abs(r - g) < 2 && Math.abs(g - b) < 2, `${r},${g},${b}`);
      // Padding is flat; a face is not.
      const values = Array.from({ length: tile }, (_, i) => pixel(raster, gap + i, gap + 120)[0]);
      assert.ok(Math.max(...values) - Math.min(...values) > 60, `row 120 is flat: ${Math.min(...values)}..${Math.max(...values)}`);
    });

    it('GIVEN a 10 px face THEN it is upscaled to a full tile', async () => {
      const raster = await rasterOf(await renderer.contactSheet([{ image: bbt4, box: square(500, 100, 10), label: '7' }]));
      assert.equal(raster.width, sheetSize(1, 0).width);
      assert.ok(paddingShare(raster, gap, gap, tile, tile) < 0.01);
    });

    it('GIVEN a box wholly outside the photo THEN its tile is grey but still labelled, keeping the numbering', async () => {
      const png = await renderer.contactSheet([faces[0]!, { image: bbt4, box: square(5000, 5000, 50), label: '2' }]);
      const raster = await rasterOf(png);
      const { left, top } = tileOrigin(1, 2, 0);
      assert.deepEqual(mean(raster, left, top + tile / 2, tile, tile / 2), [PAD_GREY, PAD_GREY, PAD_GREY]);
    });
  });
});

describe('SharpRenderer.similarityPlot', () => {
  const isRed = ([r, g, b]: [number, number, number]): boolean => r > 170 && g < 90 && b < 90;
  const isGreen = ([r, g, b]: [number, number, number]): boolean => g > 120 && r < 110 && b < 110;
  const middle = Math.round((PLOT_LAYOUT.top + PLOT_LAYOUT.height - PLOT_LAYOUT.bottom) / 2);

  it('GIVEN scores from 0.6 THEN an 800×450 PNG with the threshold line at its x and the dashed proposed line at its own', async () => {
    const same = Array.from({ length: 120 }, (_, i) => 0.9 + (i % 10) / 100);
    const different = Array.from({ length: 3000 }, (_, i) => 0.6 + (i % 25) / 100);
    const png = await renderer.similarityPlot({ same, different, threshold: 0.8, proposed: 0.7, title: 'Family <&> "test"' });
    await writeFile(path.join(tmpdir(), 'facefile-plot.png'), png);
    const meta = await sharp(png).metadata();
    assert.deepEqual({ format: meta.format, width: meta.width, height: meta.height }, { format: 'png', width: PLOT_LAYOUT.width, height: PLOT_LAYOUT.height });
    const raster = await rasterOf(png);

    const x = Math.round(plotX(0.8, 0.6));
    assert.equal(x, 420, 'the threshold sits half way along an axis from 0.6 to 1');
    for (const y of [middle - 60, middle, middle + 60]) {
      assert.ok(isRed(pixel(raster, x, y)), `threshold column ${x} at row ${y}: ${pixel(raster, x, y).join(',')}`);
      assert.ok(!isRed(pixel(raster, x - 4, y)) && !isRed(pixel(raster, x + 4, y)), `threshold line wider than expected at row ${y}`);
    }

    const proposedX = Math.round(plotX(0.7, 0.6));
    const column = Array.from({ length: 200 }, (_, i) => isGreen(pixel(raster, proposedX, middle - 100 + i)));
    assert.ok(column.filter(Boolean).length > 60, 'the proposed line is drawn');
    assert.ok(column.filter((green) => !green).length > 30, 'the proposed line is dashed');
  });

  it('GIVEN scores down to 0.42 THEN the axis starts at 0.40 and the threshold line moves accordingly', async () => {
    const raster = await rasterOf(await renderer.similarityPlot({ same: [0.95, 0.97], different: [0.42, 0.5, 0.61], threshold: 0.93 }));
    const x = Math.round(plotX(0.93, 0.4));
    assert.ok(isRed(pixel(raster, x, middle)), `threshold column ${x}: ${pixel(raster, x, middle).join(',')}`);
    assert.ok(!isRed(pixel(raster, Math.round(plotX(0.93, 0.45)), middle)));
  });

  it('GIVEN no pairs on one side or both THEN it still renders with the threshold marked', async () => {
    for (const [same, different] of [
      [[], []],
      [[0.95, 0.96], []],
      [[], [0.5, 0.7]],
    ] as const) {
      const png = await renderer.similarityPlot({ same, different, threshold: 0.93 });
      const meta = await sharp(png).metadata();
      assert.deepEqual({ width: meta.width, height: meta.height }, { width: PLOT_LAYOUT.width, height: PLOT_LAYOUT.height });
      const xMin = Math.floor(Math.min(0.93, ...same, ...different) * 20 + 1e-9) / 20;
      assert.ok(isRed(pixel(await rasterOf(png), Math.round(plotX(0.93, xMin)), middle)));
    }
  });

  it("GIVEN the photos' faces' best matches THEN they are drawn as an outline, and below the threshold too", async () => {
    const isDark = ([r, g, b]: [number, number, number]): boolean => r < 110 && g < 110 && b < 110 && Math.abs(r - g) < 20 && Math.abs(g - b) < 20;
    const closest = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 0.875 : 0.905)); // half in each bin: a top at mid-height
    const plain = await rasterOf(await renderer.similarityPlot({ same: [0.95], different: [0.6], threshold: 0.93 }));
    const outlined = await rasterOf(await renderer.similarityPlot({ same: [0.95], different: [0.6], closest, threshold: 0.93 }));
    const x = Math.round(plotX(0.8775, 0.6));
    const darkRows = (raster: Awaited<ReturnType<typeof rasterOf>>) =>
      Array.from({ length: PLOT_LAYOUT.height - PLOT_LAYOUT.bottom - PLOT_LAYOUT.top - 4 }, (_, i) => isDark(pixel(raster, x, PLOT_LAYOUT.top + 2 + i))).filter(
        Boolean,
      ).length;
    assert.equal(darkRows(plain), 0, 'nothing there without them');
    assert.ok(darkRows(outlined) > 0, 'the top of their bin, below the threshold');
  });

  it('GIVEN a threshold that is not a number THEN it throws RangeError', async () => {
    await assert.rejects(renderer.similarityPlot({ same: [], different: [], threshold: Number.NaN }), RangeError);
  });
});
