/**
 * The image operations Human runs as tfjs kernels around its face models, on plain RGB bytes:
 * sampled the way those kernels sample, so the models see the same pixels.
 */
import type { Point } from '../align.ts';

/** An 8-bit RGB image, rows top to bottom. */
export interface RgbImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** A square crop of the image, optionally of the image turned about a centre first. */
export interface Crop {
  readonly start: Point;
  readonly end: Point;
  /** Radians the image is turned by (tf.image.rotateWithOffset) before cutting; 0 for none. */
  readonly angle: number;
  /** The centre of that turn, in pixels. */
  readonly center: Point;
}

/** A rectangle of an image, in whole pixels. */
export interface Window {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * tf.image.resizeBilinear without aligned corners or half-pixel centres (tfjs's default): output
 * pixel i samples source position i * (in / out), so a large downscale skips pixels rather than
 * averaging them. Values stay 0..255, or with `unitRange` are mapped to -1..1 as BlazeFace takes
 * them (v / 127.5 - 1 of the value rounded to single precision, as a separate pass would).
 * `window` resizes that part of the image as if it had been cut out first (a detector's tile),
 * without the copy.
 */
export function resizeBilinear(image: RgbImage, outWidth: number, outHeight: number, window?: Window, unitRange = false): Float32Array {
  const { pixels } = image;
  const { x: left, y: top, width, height } = window ?? { x: 0, y: 0, width: image.width, height: image.height };
  const stride = image.width;
  const out = new Float32Array(outWidth * outHeight * 3);
  const rowRatio = height / outHeight,
    colRatio = width / outWidth;
  // Each column's two source pixels (byte offsets within a row) and weight, the same for every row.
  const colLeft = new Int32Array(outWidth),
    colRight = new Int32Array(outWidth),
    colFraction = new Float64Array(outWidth);
  for (let c = 0; c < outWidth; c++) {
    const sx = colRatio * c;
    const x0 = Math.max(0, Math.floor(sx)),
      x1 = Math.min(width - 1, Math.ceil(sx));
    colLeft[c] = (left + x0) * 3;
    colRight[c] = (left + x1) * 3;
    colFraction[c] = sx - x0;
  }
  let o = 0;
  for (let r = 0; r < outHeight; r++) {
    const sy = rowRatio * r;
    const y0 = Math.max(0, Math.floor(sy)),
      y1 = Math.min(height - 1, Math.ceil(sy));
    const fy = sy - y0;
    const upperRow = (top + y0) * stride * 3,
      lowerRow = (top + y1) * stride * 3;
    for (let c = 0; c < outWidth; c++) {
      const fx = colFraction[c]!;
      const tl = upperRow + colLeft[c]!,
        tr = upperRow + colRight[c]!,
        bl = lowerRow + colLeft[c]!,
        br = lowerRow + colRight[c]!;
      for (let ch = 0; ch < 3; ch++) {
        const upper = pixels[tl + ch]! + (pixels[tr + ch]! - pixels[tl + ch]!) * fx;
        const lower = pixels[bl + ch]! + (pixels[br + ch]! - pixels[bl + ch]!) * fx;
        const value = upper + (lower - upper) * fy;
        out[o++] = unitRange ? Math.fround(value) / 127.5 - 1 : value;
      }
    }
  }
  return out;
}

/**
 * The face crop Human feeds the mesh model: tf.image.rotateWithOffset (nearest pixel, black outside)
 * then tf.image.cropAndResize (bilinear, black outside), scaled to 0..1. Only the pixels the crop
 * reads are turned, not the whole photo.
 */
export function cropFace(image: RgbImage, crop: Crop, size: number): Float32Array {
  const { pixels, width, height } = image;
  const out = new Float32Array(size * size * 3);
  // cropAndResize takes the box in 0..1 units and maps it onto pixel centres 0..side-1.
  const rows = samplePositions(crop.start[1] / height, crop.end[1] / height, height, size);
  const cols = samplePositions(crop.start[0] / width, crop.end[0] / width, width, size);
  const source = turnedSource(image, crop);
  for (let y = 0; y < size; y++) {
    const top = rows.low[y]!,
      bottom = rows.high[y]!,
      fy = rows.fraction[y]!;
    if (top < 0) continue;
    for (let x = 0; x < size; x++) {
      const left = cols.low[x]!,
        right = cols.high[x]!,
        fx = cols.fraction[x]!;
      if (left < 0) continue;
      const tl = source(left, top),
        tr = source(right, top),
        bl = source(left, bottom),
        br = source(right, bottom);
      const o = (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const vtl = tl < 0 ? 0 : pixels[tl + ch]!,
          vtr = tr < 0 ? 0 : pixels[tr + ch]!;
        const vbl = bl < 0 ? 0 : pixels[bl + ch]!,
          vbr = br < 0 ? 0 : pixels[br + ch]!;
        const t = vtl + (vtr - vtl) * fx,
          b = vbl + (vbr - vbl) * fx;
        out[o + ch] = (t + (b - t) * fy) / 255;
      }
    }
  }
  return out;
}

/** Where each of `size` samples from `from` to `to` (0..1) falls: the pixels either side, or -1 outside. */
function samplePositions(from: number, to: number, side: number, size: number): { low: Int32Array; high: Int32Array; fraction: Float64Array } {
  const low = new Int32Array(size),
    high = new Int32Array(size),
    fraction = new Float64Array(size);
  const step = ((to - from) * (side - 1)) / (size - 1);
  for (let i = 0; i < size; i++) {
    const at = from * (side - 1) + i * step;
    if (at < 0 || at > side - 1) {
      low[i] = -1;
      continue;
    }
    low[i] = Math.floor(at);
    high[i] = Math.ceil(at);
    fraction[i] = at - low[i]!;
  }
  return { low, high, fraction };
}

/**
 * Where pixel (x, y) of the turned image comes from in the original: its byte offset, or -1 for
 * the black fill. Rounds half away from zero, as the WASM kernel's C `round` does.
 */
function turnedSource({ width, height }: RgbImage, crop: Crop): (x: number, y: number) => number {
  // The kernel is handed the centre as a fraction of the image and multiplies it back.
  const cx = width * (crop.center[0] / width),
    cy = height * (crop.center[1] / height);
  const sin = Math.sin(crop.angle),
    cos = Math.cos(crop.angle),
    turned = crop.angle !== 0;
  return (x, y) => {
    if (!turned) return (y * width + x) * 3;
    const dx = x - cx,
      dy = y - cy;
    const sx = roundHalfAway(dx * cos - dy * sin + cx),
      sy = roundHalfAway(dx * sin + dy * cos + cy);
    return sx >= 0 && sx < width && sy >= 0 && sy < height ? (sy * width + sx) * 3 : -1;
  };
}

function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}
