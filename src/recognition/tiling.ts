import type { Box } from '../core/index.ts';
import { iou } from '../core/index.ts';

/** A square (or, at the image edge, clipped) window of the photo that the detector looks at. */
export interface Region extends Box {
  /** True for the whole-photo view, whose faces are never cut by a region edge. */
  readonly whole: boolean;
  /**
   * Faces smaller than this (box side, pixels) found in this region are ignored: a finer region
   * covers them, and this one sees them at a few pixels, where the detector makes faces up.
   */
  readonly minFace: number;
}

/** The detector finds faces from about 1/13 of its view (20 of its 256 pixels). */
const VIEW_FRACTION = 13;

/**
 * How much smaller than its limit the detector's copy of a large photo may be made, so that it is
 * a whole fraction of the photo: libvips then shrinks in one box-filter pass. A 4032x3024 phone
 * photo's copy 2016 wide took 29 ms where one 2048 wide took 55 ms (2-core machine, 2026-12-07).
 */
const WHOLE_FACTOR_SLACK = 1.05;

/**
 * How many times smaller than a photo whose long side is `long` its copy for the detector is, for
 * a copy at most `maxSide` long: 1 for a photo within it; a whole number where one is within
 * WHOLE_FACTOR_SLACK of the exact factor; else the exact factor.
 */
export function copyFactor(long: number, maxSide: number): number {
  const factor = long / maxSide;
  if (factor <= 1) return 1;
  const whole = Math.ceil(factor);
  return whole <= factor * WHOLE_FACTOR_SLACK ? whole : factor;
}

/**
 * The views the face detector runs on. Human's detector shrinks whatever it is given to 256×256,
 * so in a 4000-pixel group photo a 150-pixel face becomes 10 pixels and is lost. Large photos are
 * therefore also scanned in overlapping tiles of `tileSize` pixels; the whole view still finds the
 * faces too large for a tile.
 */
export function detectionRegions(width: number, height: number, tileSize: number, overlap = 0.25): Region[] {
  const long = Math.max(width, height);
  const tiles: Region[] = [];
  // A face is only trusted from a tile it lies well inside (see `cutByRegion`), so each level of
  // tiles finds faces up to about its overlap in size; the next, twice as large, takes over from
  // there until the whole view sees them.
  for (let size = tileSize; long > size * 1.25; size *= 2) {
    const stride = Math.max(1, Math.floor(size * (1 - overlap)));
    const minFace = size === tileSize ? 0 : size / VIEW_FRACTION;
    for (const y of starts(height, size, stride)) {
      for (const x of starts(width, size, stride)) {
        tiles.push({ x, y, width: Math.min(size, width - x), height: Math.min(size, height - y), whole: false, minFace });
      }
    }
    if (long / VIEW_FRACTION <= size * overlap) break;
  }
  return [{ x: 0, y: 0, width, height, whole: true, minFace: tiles.length > 0 ? long / VIEW_FRACTION : 0 }, ...tiles];
}

/** Tile origins along one axis: evenly spread so that the last tile ends at the edge. */
function starts(length: number, tile: number, stride: number): number[] {
  if (length <= tile) return [0];
  const count = Math.ceil((length - tile) / stride) + 1;
  const step = (length - tile) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round(i * step));
}

/**
 * Whether a face found in a tile comes near a tile edge that is not also a photo edge. The
 * detector finds half a face at a tile edge and the mesh then draws a whole, wrong, face inside the
 * tile, so "near" is a quarter of the face's size: such faces are taken from the overlapping tile.
 */
export function cutByRegion(box: Box, region: Region, imageWidth: number, imageHeight: number): boolean {
  if (region.whole) return false;
  const slack = Math.max(2, 0.25 * Math.max(box.width, box.height));
  const left = region.x > 0 && box.x <= region.x + slack;
  const top = region.y > 0 && box.y <= region.y + slack;
  const right = region.x + region.width < imageWidth && box.x + box.width >= region.x + region.width - slack;
  const bottom = region.y + region.height < imageHeight && box.y + box.height >= region.y + region.height - slack;
  return left || top || right || bottom;
}

/** Keeps the best-scoring of each group of overlapping detections. */
export function mergeDetections<T extends { readonly box: Box; readonly score: number }>(faces: readonly T[], threshold = 0.3): T[] {
  const kept: T[] = [];
  for (const face of [...faces].sort((a, b) => b.score - a.score)) {
    if (!kept.some((other) => iou(other.box, face.box) > threshold || contains(other.box, face.box) || contains(face.box, other.box))) kept.push(face);
  }
  return kept;
}

/** Whether the centre of `inner` lies in `outer` and `inner` is mostly inside it. */
function contains(outer: Box, inner: Box): boolean {
  const cx = inner.x + inner.width / 2,
    cy = inner.y + inner.height / 2;
  const centreInside = cx >= outer.x && cx <= outer.x + outer.width && cy >= outer.y && cy <= outer.y + outer.height;
  const x1 = Math.max(outer.x, inner.x),
    y1 = Math.max(outer.y, inner.y);
  const x2 = Math.min(outer.x + outer.width, inner.x + inner.width),
    y2 = Math.min(outer.y + outer.height, inner.y + inner.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return centreInside && inter >= 0.6 * inner.width * inner.height;
}
