import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { iou } from '../../src/core/index.ts';
import { copyFactor, cutByRegion, detectionRegions, mergeDetections, type Region } from '../../src/recognition/tiling.ts';
import type { Box } from '../../src/core/faces.ts';

const TILE = 640;

/** A tile (or the whole view) for cutByRegion, which does not look at minFace. */
function region(x: number, y: number, width: number, height: number, whole = false): Region {
  return { x, y, width, height, whole, minFace: 0 };
}

/** The placement of a region, without its face-size filter. */
function placement({ x, y, width, height, whole }: Region): Omit<Region, 'minFace'> {
  return { x, y, width, height, whole };
}

function tilesOf(regions: readonly Region[]): Region[] {
  return regions.filter((r) => !r.whole);
}

/** Counts, per pixel, how many tiles cover it: 0 means a hole. */
function coverage(width: number, height: number, tiles: readonly Box[]): Uint8Array {
  const count = new Uint8Array(width * height);
  for (const t of tiles) {
    for (let y = t.y; y < t.y + t.height; y++) for (let x = t.x; x < t.x + t.width; x++) count[y * width + x]!++;
  }
  return count;
}

describe('detectionRegions', () => {
  it('GIVEN a photo no larger than a tile and a quarter THEN only the whole view is scanned, keeping faces of any size', () => {
    for (const [w, h] of [
      [640, 480],
      [800, 800],
      [100, 800],
    ] as const) {
      assert.deepEqual(detectionRegions(w, h, TILE), [{ x: 0, y: 0, width: w, height: h, whole: true, minFace: 0 }], `${w}×${h}`);
    }
  });

  it('GIVEN a large photo THEN the tileSize tiles keep faces of any size, since no finer view covers them', () => {
    const first = tilesOf(detectionRegions(4000, 3000, TILE)).filter((t) => t.width === TILE);
    assert.ok(first.length > 0);
    for (const t of first) assert.equal(t.minFace, 0);
  });

  it('GIVEN a large photo THEN the whole view comes first, once, and is followed by tiles of exactly tileSize', () => {
    const regions = detectionRegions(4000, 3000, TILE);
    assert.deepEqual(regions[0] && placement(regions[0]), { x: 0, y: 0, width: 4000, height: 3000, whole: true });
    assert.equal(regions.filter((r) => r.whole).length, 1);
    const first = tilesOf(regions).filter((t) => t.width === TILE);
    assert.ok(first.length > 1, 'no tiles of tileSize');
    for (const t of first) assert.equal(t.height, TILE);
  });

  it('GIVEN a large photo THEN every tile is a square of tileSize times a power of two, inside the photo', () => {
    for (const t of tilesOf(detectionRegions(4000, 3000, TILE))) {
      assert.equal(t.width, t.height, `tile ${JSON.stringify(t)} is not square`);
      assert.ok(Number.isInteger(Math.log2(t.width / TILE)), `tile size ${t.width} is not tileSize·2^k`);
      assert.ok(t.x >= 0 && t.y >= 0 && t.x + t.width <= 4000 && t.y + t.height <= 3000, `tile ${JSON.stringify(t)} leaves the photo`);
    }
  });

  for (const [w, h] of [
    [4000, 3000],
    [1000, 900],
    [2001, 1333],
    [3000, 4000],
  ] as const) {
    it(`GIVEN a ${w}×${h} photo THEN the tiles of each size cover every pixel`, () => {
      const tiles = tilesOf(detectionRegions(w, h, TILE));
      const sizes = [...new Set(tiles.map((t) => t.width))];
      assert.ok(sizes.includes(TILE));
      for (const size of sizes) {
        const holes = coverage(
          w,
          h,
          tiles.filter((t) => t.width === size),
        ).indexOf(0);
        assert.equal(holes, -1, `pixel (${holes % w}, ${Math.floor(holes / w)}) is in no tile of ${size}`);
      }
    });
  }

  it('GIVEN a large photo THEN neighbouring tiles of a size overlap by at least the requested quarter and the last ends at the edge', () => {
    const tiles = tilesOf(detectionRegions(4000, 3000, TILE, 0.25)).filter((t) => t.width === TILE);
    const xs = [...new Set(tiles.map((t) => t.x))].sort((a, b) => a - b);
    const ys = [...new Set(tiles.map((t) => t.y))].sort((a, b) => a - b);
    assert.equal(tiles.length, xs.length * ys.length);
    for (const starts of [xs, ys]) {
      assert.equal(starts[0], 0);
      for (let i = 1; i < starts.length; i++) {
        const overlap = starts[i - 1]! + TILE - starts[i]!;
        assert.ok(overlap >= TILE * 0.25, `tiles at ${starts[i - 1]} and ${starts[i]} overlap by ${overlap}`);
      }
    }
    assert.equal(xs.at(-1)! + TILE, 4000);
    assert.equal(ys.at(-1)! + TILE, 3000);
  });

  it('GIVEN a long strip thinner than a tile THEN tiles run along it, clipped to its height', () => {
    const tiles = tilesOf(detectionRegions(3000, 400, TILE)).filter((t) => t.width === TILE);
    assert.ok(tiles.length > 1);
    for (const t of tiles) {
      assert.equal(t.y, 0);
      assert.equal(t.height, 400);
    }
    assert.equal(coverage(3000, 400, tiles).indexOf(0), -1);
  });
});

describe('iou', () => {
  it('GIVEN identical boxes THEN iou is 1', () => {
    assert.equal(iou({ x: 5, y: 5, width: 10, height: 10 }, { x: 5, y: 5, width: 10, height: 10 }), 1);
  });

  it('GIVEN boxes sharing half their width THEN iou is a third', () => {
    assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
  });

  it('GIVEN disjoint or merely touching boxes THEN iou is 0', () => {
    assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 20, y: 20, width: 10, height: 10 }), 0);
    assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 10, y: 0, width: 10, height: 10 }), 0);
  });

  it('GIVEN two empty boxes THEN iou is 0, not NaN', () => {
    assert.equal(iou({ x: 0, y: 0, width: 0, height: 0 }, { x: 0, y: 0, width: 0, height: 0 }), 0);
  });
});

describe('mergeDetections', () => {
  const face = (id: string, score: number, x: number, y: number, size: number) => ({ id, score, box: { x, y, width: size, height: size } });

  it('GIVEN two overlapping detections of one face THEN only the better-scoring one is kept', () => {
    const kept = mergeDetections([face('weak', 0.6, 100, 100, 50), face('strong', 0.9, 105, 102, 50)]);
    assert.deepEqual(
      kept.map((f) => f.id),
      ['strong'],
    );
  });

  it('GIVEN two disjoint detections THEN both are kept, best first', () => {
    const kept = mergeDetections([face('left', 0.7, 0, 0, 50), face('right', 0.8, 300, 0, 50)]);
    assert.deepEqual(
      kept.map((f) => f.id),
      ['right', 'left'],
    );
  });

  it('GIVEN a small box inside a large one (iou below the threshold) THEN the weaker is dropped', () => {
    const big = face('big', 0.9, 0, 0, 100);
    const inner = face('inner', 0.8, 30, 30, 30);
    assert.ok(iou(big.box, inner.box) < 0.3, 'the test needs an iou below the merge threshold');
    assert.deepEqual(
      mergeDetections([inner, big]).map((f) => f.id),
      ['big'],
    );
  });

  it('GIVEN a stronger small box inside a weaker large one THEN the large one is dropped', () => {
    const big = face('big', 0.5, 0, 0, 100);
    const inner = face('inner', 0.8, 30, 30, 30);
    assert.deepEqual(
      mergeDetections([big, inner]).map((f) => f.id),
      ['inner'],
    );
  });

  it('GIVEN boxes that only graze each other THEN both are kept', () => {
    const kept = mergeDetections([face('a', 0.9, 0, 0, 100), face('b', 0.8, 90, 0, 100)]);
    assert.deepEqual(
      kept.map((f) => f.id),
      ['a', 'b'],
    );
  });
});

describe('cutByRegion', () => {
  const W = 2000,
    H = 1500;
  const inner = region(500, 400, 640, 640);

  it('GIVEN the whole view THEN no face is cut, even one at its edge', () => {
    assert.equal(cutByRegion({ x: 0, y: 0, width: 50, height: 50 }, region(0, 0, W, H, true), W, H), false);
  });

  it('GIVEN a face well inside a tile THEN it is not cut', () => {
    assert.equal(cutByRegion({ x: 700, y: 600, width: 80, height: 80 }, inner, W, H), false);
  });

  it('GIVEN a face touching each inner tile edge THEN it is cut', () => {
    assert.equal(cutByRegion({ x: 501, y: 600, width: 80, height: 80 }, inner, W, H), true, 'left');
    assert.equal(cutByRegion({ x: 700, y: 401, width: 80, height: 80 }, inner, W, H), true, 'top');
    assert.equal(cutByRegion({ x: 1060, y: 600, width: 79, height: 80 }, inner, W, H), true, 'right');
    assert.equal(cutByRegion({ x: 700, y: 960, width: 80, height: 79 }, inner, W, H), true, 'bottom');
  });

  it('GIVEN a face touching tile edges that are also photo edges THEN it is not cut', () => {
    const topLeft = region(0, 0, 640, 640);
    assert.equal(cutByRegion({ x: 0, y: 0, width: 80, height: 80 }, topLeft, W, H), false);
    const bottomRight = region(W - 640, H - 640, 640, 640);
    assert.equal(cutByRegion({ x: W - 80, y: H - 80, width: 80, height: 80 }, bottomRight, W, H), false);
  });

  it('GIVEN a face in a corner tile touching its inner edge THEN it is cut', () => {
    const topLeft = region(0, 0, 640, 640);
    assert.equal(cutByRegion({ x: 0, y: 0, width: 640, height: 80 }, topLeft, W, H), true);
  });
});

describe('the size of the copy the detector sees', () => {
  it('GIVEN a photo within the limit THEN it is seen as it is', () => {
    assert.equal(copyFactor(2048, 2048), 1);
    assert.equal(copyFactor(640, 2048), 1);
  });

  it('GIVEN a phone photo a little over a whole multiple of the limit THEN the copy is that whole fraction of it, never larger than the limit', () => {
    assert.equal(copyFactor(4032, 2048), 2);
    assert.equal(copyFactor(4000, 2048), 2);
    assert.equal(copyFactor(8000, 2048), 4);
    assert.equal(copyFactor(6000, 2048), 3);
  });

  it('GIVEN a photo far from a whole multiple THEN the copy is exactly at the limit (not made much smaller)', () => {
    assert.equal(copyFactor(3000, 2048), 3000 / 2048);
    assert.equal(copyFactor(5184, 2048), 5184 / 2048);
    assert.equal(copyFactor(2100, 2048), 2100 / 2048);
  });
});
