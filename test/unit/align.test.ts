import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DLIB_TEMPLATE, dlibChipTransform, fitSimilarity, unsharpMask, warpChip, type Point, type Similarity } from '../../src/recognition/align.ts';

function apply(t: Similarity, [u, v]: Point): Point {
  return [t.a * u - t.b * v + t.tx, t.b * u + t.a * v + t.ty];
}

function assertTransform(actual: Similarity, expected: Similarity, tolerance: number): void {
  for (const key of ['a', 'b', 'tx', 'ty'] as const) {
    assert.ok(Math.abs(actual[key] - expected[key]) <= tolerance, `${key}: ${actual[key]} vs ${expected[key]}`);
  }
}

/** An RGB image whose pixel (x, y) is `colour(x, y)`. */
function image(width: number, height: number, colour: (x: number, y: number) => readonly [number, number, number]): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) pixels.set(colour(x, y), (y * width + x) * 3);
  }
  return pixels;
}

/** 30° rotation, scale 2.5, translation (40, -7). */
const KNOWN: Similarity = { a: 2.5 * Math.cos(Math.PI / 6), b: 2.5 * Math.sin(Math.PI / 6), tx: 40, ty: -7 };
const FIVE: Point[] = [
  [10, 20],
  [50, 22],
  [30, 45],
  [15, 70],
  [48, 68],
];

describe('fitSimilarity', () => {
  it('GIVEN five points moved by a known rotation, scale and translation THEN it recovers that transform exactly', () => {
    const fitted = fitSimilarity(
      FIVE,
      FIVE.map((p) => apply(KNOWN, p)),
    );
    assertTransform(fitted, KNOWN, 1e-9);
  });

  it('GIVEN a rotation past 90 degrees THEN the signs of a and b are kept', () => {
    const turned: Similarity = { a: 0.5 * Math.cos(2.5), b: 0.5 * Math.sin(2.5), tx: -3, ty: 12 };
    assertTransform(
      fitSimilarity(
        FIVE,
        FIVE.map((p) => apply(turned, p)),
      ),
      turned,
      1e-9,
    );
  });

  it('GIVEN noisy targets THEN it returns the least-squares transform (residuals orthogonal to every parameter)', () => {
    const noise: Point[] = [
      [0.3, -0.2],
      [-0.4, 0.1],
      [0.2, 0.5],
      [-0.1, -0.3],
      [0.05, 0.25],
    ];
    const to = FIVE.map((p, i) => {
      const [x, y] = apply(KNOWN, p);
      return [x + noise[i]![0], y + noise[i]![1]] as const;
    });
    const fitted = fitSimilarity(FIVE, to);
    // At the least-squares optimum the gradient of the squared error is zero in a, b, tx and ty.
    let ga = 0,
      gb = 0,
      gx = 0,
      gy = 0;
    FIVE.forEach(([u, v], i) => {
      const [px, py] = apply(fitted, [u, v]);
      const rx = px - to[i]![0],
        ry = py - to[i]![1];
      ga += rx * u + ry * v;
      gb += -rx * v + ry * u;
      gx += rx;
      gy += ry;
    });
    for (const g of [ga, gb, gx, gy]) assert.ok(Math.abs(g) < 1e-9, `gradient ${g} is not zero`);
    // Close to the truth, but not equal to it: the noise moved it.
    assertTransform(fitted, KNOWN, 0.5);
    assert.notEqual(fitted.tx, KNOWN.tx);
  });

  it('GIVEN a mirrored point set THEN it still fits no reflection (the fit is a proper rotation)', () => {
    const mirrored = FIVE.map(([x, y]) => [-x, y] as const);
    const fitted = fitSimilarity(FIVE, mirrored);
    // A similarity cannot mirror: the best proper fit collapses the spread it cannot reproduce.
    const mirrorResidual = FIVE.reduce((s, p, i) => {
      const [x, y] = apply(fitted, p);
      return s + (x - mirrored[i]![0]) ** 2 + (y - mirrored[i]![1]) ** 2;
    }, 0);
    assert.ok(mirrorResidual > 1, `a similarity reproduced a mirror image (residual ${mirrorResidual})`);
  });

  it('GIVEN fewer than two pairs or lists of different lengths THEN it throws RangeError', () => {
    assert.throws(() => fitSimilarity([[0, 0]], [[1, 1]]), RangeError);
    assert.throws(() => fitSimilarity(FIVE, FIVE.slice(1)), RangeError);
  });
});

describe('warpChip', () => {
  it('GIVEN the identity transform THEN a horizontal gradient comes back unchanged', () => {
    const size = 8;
    const pixels = image(size, size, (x, y) => [x * 30, 255 - x * 30, y * 10]);
    const chip = warpChip(pixels, size, size, { a: 1, b: 0, tx: 0, ty: 0 }, size);
    assert.deepEqual(Array.from(chip), Array.from(pixels));
  });

  it('GIVEN the identity transform THEN a single bright pixel stays one bright pixel at the same place', () => {
    const pixels = image(5, 5, (x, y) => (x === 3 && y === 1 ? [255, 200, 100] : [0, 0, 0]));
    const chip = warpChip(pixels, 5, 5, { a: 1, b: 0, tx: 0, ty: 0 }, 5);
    assert.deepEqual(Array.from(chip), Array.from(pixels));
  });

  it('GIVEN a translation of one pixel THEN chip pixel u shows image pixel u + 1', () => {
    const pixels = image(6, 1, (x) => [x * 40, 0, 0]);
    const chip = warpChip(pixels, 6, 1, { a: 1, b: 0, tx: 1, ty: 0 }, 4);
    assert.deepEqual([chip[0], chip[3], chip[6], chip[9]], [40, 80, 120, 160]);
  });

  it('GIVEN a quarter turn THEN chip pixel (u, v) shows image pixel (size-1-v, u)', () => {
    const size = 4;
    const pixels = image(size, size, (x, y) => [x * 60, y * 60, 7]);
    // x = -(v + ½) + size - ½ = size - 1 - v and y = u: a 90° rotation about the chip's corner.
    const chip = warpChip(pixels, size, size, { a: 0, b: 1, tx: size, ty: 0 }, size);
    for (let v = 0; v < size; v++) {
      for (let u = 0; u < size; u++) {
        const o = (v * size + u) * 3;
        assert.deepEqual([chip[o], chip[o + 1], chip[o + 2]], [(size - 1 - v) * 60, u * 60, 7], `chip pixel (${u}, ${v})`);
      }
    }
  });

  it('GIVEN a checkerboard of 1-pixel squares shrunk by 2 THEN every chip pixel is mid-grey (no aliasing)', () => {
    const pixels = image(16, 16, (x, y) => ((x + y) % 2 === 0 ? [255, 255, 255] : [0, 0, 0]));
    const chip = warpChip(pixels, 16, 16, { a: 2, b: 0, tx: 0, ty: 0 }, 8);
    assert.equal(chip.length, 8 * 8 * 3);
    for (const value of chip) assert.ok(Math.abs(value - 127.5) < 1e-4, `chip value ${value} is not mid-grey`);
  });

  it('GIVEN a checkerboard of 3-pixel squares shrunk by 3 THEN each chip pixel is the flat colour of its square', () => {
    const pixels = image(12, 12, (x, y) => ((Math.floor(x / 3) + Math.floor(y / 3)) % 2 === 0 ? [255, 0, 90] : [0, 255, 30]));
    const chip = warpChip(pixels, 12, 12, { a: 3, b: 0, tx: 0, ty: 0 }, 4);
    for (let v = 0; v < 4; v++) {
      for (let u = 0; u < 4; u++) {
        const o = (v * 4 + u) * 3;
        const expected = (u + v) % 2 === 0 ? [255, 0, 90] : [0, 255, 30];
        chip.subarray(o, o + 3).forEach((value, c) => {
          assert.ok(Math.abs(value - expected[c]!) < 1e-3, `(${u}, ${v}) channel ${c}: ${value}`);
        });
      }
    }
  });

  it('GIVEN a chip reaching past the photo THEN outside pixels repeat the edge', () => {
    const pixels = image(2, 1, (x) => (x === 0 ? [10, 20, 30] : [200, 100, 50]));
    const chip = warpChip(pixels, 2, 1, { a: 1, b: 0, tx: 0, ty: 0 }, 3);
    // Rows 1-2 and column 2 lie outside the 2×1 photo.
    assert.deepEqual(Array.from(chip.subarray(6, 9)), [200, 100, 50]);
    assert.deepEqual(Array.from(chip.subarray(18, 21)), [10, 20, 30]);
  });
});

describe('dlibChipTransform', () => {
  const SIZE = 150;
  const PADDING = 0.25;

  /** Where the template puts a point in a SIZE² chip with PADDING. */
  function templatePixel([x, y]: Point): Point {
    return [((PADDING + x) / (1 + 2 * PADDING)) * SIZE, ((PADDING + y) / (1 + 2 * PADDING)) * SIZE];
  }

  function meshWith(place: (chip: Point) => Point): number[][] {
    const mesh: number[][] = Array.from({ length: 468 }, () => [0, 0, 0]);
    for (const { chip, mesh: index } of DLIB_TEMPLATE) mesh[index] = [...place(chip), 0];
    return mesh;
  }

  it('GIVEN mesh points exactly on the template THEN the transform is the identity', () => {
    const transform = dlibChipTransform(meshWith(templatePixel), SIZE, PADDING);
    assertTransform(transform, { a: 1, b: 0, tx: 0, ty: 0 }, 1e-9);
  });

  it('GIVEN mesh points on a moved template THEN each template position maps onto its mesh point', () => {
    const mesh = meshWith((chip) => apply(KNOWN, templatePixel(chip)));
    const transform = dlibChipTransform(mesh, SIZE, PADDING);
    assertTransform(transform, KNOWN, 1e-9);
    for (const { chip, mesh: index } of DLIB_TEMPLATE) {
      const [x, y] = apply(transform, templatePixel(chip));
      assert.ok(Math.abs(x - mesh[index]![0]!) < 1e-9 && Math.abs(y - mesh[index]![1]!) < 1e-9, `vertex ${index}`);
    }
  });

  it('GIVEN a mesh missing a template vertex THEN it throws RangeError naming it', () => {
    const mesh = meshWith(templatePixel).slice(0, 300);
    assert.throws(() => dlibChipTransform(mesh, SIZE, PADDING), { name: 'RangeError', message: /vertex 362/ });
  });
});

describe('unsharpMask', () => {
  const SIDE = 24;
  /** A chip whose value at (x, y) is `value(x, y)` in all three channels. */
  function chipOf(value: (x: number, y: number) => number): Float32Array {
    const chip = new Float32Array(SIDE * SIDE * 3);
    for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) chip.fill(value(x, y), (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
    return chip;
  }
  const at = (chip: Float32Array, x: number, y: number, c = 0) => chip[(y * SIDE + x) * 3 + c]!;
  /** A soft vertical edge from 80 to 160 around x = 12. */
  const softEdge = (x: number) => 80 + 80 / (1 + Math.exp(-(x - 11.5)));

  it('GIVEN a flat chip THEN nothing changes', () => {
    const chip = chipOf(() => 117);
    unsharpMask(chip, SIDE, 1);
    assert.ok(chip.every((v) => Math.abs(v - 117) < 1e-3));
  });

  it('GIVEN a soft edge THEN it gets steeper, overshooting on both sides, and far from it nothing changes', () => {
    const chip = chipOf((x) => softEdge(x));
    unsharpMask(chip, SIDE, 1);
    assert.ok(at(chip, 12, 5) - at(chip, 11, 5) > softEdge(12) - softEdge(11), 'steeper across the edge');
    assert.ok(at(chip, 9, 5) < softEdge(9) && at(chip, 14, 5) > softEdge(14), 'darker before it, brighter after');
    assert.ok(Math.abs(at(chip, 0, 5) - softEdge(0)) < 1 && Math.abs(at(chip, 23, 5) - softEdge(23)) < 1, 'the far sides as they were');
    for (let y = 1; y < SIDE; y++) assert.equal(at(chip, 12, y), at(chip, 12, 0), 'the same on every row');
  });

  it('GIVEN the same edge turned a quarter THEN the result is the same turned: both directions are blurred alike', () => {
    const across = chipOf((x) => softEdge(x));
    const down = chipOf((_, y) => softEdge(y));
    unsharpMask(across, SIDE, 1);
    unsharpMask(down, SIDE, 1);
    for (let i = 0; i < SIDE; i++) assert.ok(Math.abs(at(across, i, 3) - at(down, 3, i)) < 1e-3, `position ${i}`);
  });

  it('GIVEN a hard black-to-white edge THEN every value stays within 0..255, each channel on its own', () => {
    const chip = chipOf((x) => (x < 12 ? 0 : 255));
    for (let i = 2; i < chip.length; i += 3) chip[i] = 60;
    unsharpMask(chip, SIDE, 1);
    assert.ok(chip.every((v) => v >= 0 && v <= 255));
    assert.equal(at(chip, 11, 4), 0);
    assert.equal(at(chip, 12, 4), 255);
    assert.ok(Math.abs(at(chip, 12, 4, 2) - 60) < 1e-3, 'a flat channel stays flat');
  });
});
