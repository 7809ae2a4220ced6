import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resizeBilinear, type RgbImage } from '../../src/recognition/detector/pixels.ts';

/** A deterministic photo-like image: every byte different enough that a wrong offset shows. */
function image(width: number, height: number): RgbImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  return { pixels, width, height };
}

function cut(source: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * source.width + x) * 3;
    pixels.set(source.pixels.subarray(from, from + width * 3), row * width * 3);
  }
  return { pixels, width, height };
}

describe('the detector input', () => {
  it('GIVEN a window of a photo THEN it is resized exactly as the same window cut out first', () => {
    const photo = image(301, 207);
    for (const [x, y, width, height, out] of [
      [0, 0, 301, 207, 256],
      [37, 11, 120, 96, 256],
      [181, 111, 120, 96, 64],
      [300, 206, 1, 1, 8],
    ] as const) {
      const window = { x, y, width, height };
      assert.deepEqual(resizeBilinear(photo, out, out, window), resizeBilinear(cut(photo, x, y, width, height), out, out), JSON.stringify(window));
    }
  });

  it('GIVEN unitRange THEN each value is the 0..255 one in single precision, over 127.5, less 1, as BlazeFace takes it', () => {
    const photo = image(97, 61);
    const plain = resizeBilinear(photo, 256, 256);
    const unit = resizeBilinear(photo, 256, 256, undefined, true);
    const expected = Float32Array.from(plain, (v) => v / 127.5 - 1);
    assert.deepEqual(unit, expected);
    assert.ok(unit.every((v) => v >= -1 && v <= 1));
  });
});
