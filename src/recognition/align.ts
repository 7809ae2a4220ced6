/**
 * Face alignment: the similarity transform that puts a face's landmarks where the embedder was
 * trained to see them, and the resampling that cuts that aligned chip out of the photo.
 */

export type Point = readonly [x: number, y: number];

/** Maps chip pixel (u, v) to image point (a·u − b·v + tx, b·u + a·v + ty). */
export interface Similarity {
  readonly a: number;
  readonly b: number;
  readonly tx: number;
  readonly ty: number;
}

/**
 * dlib's mean face (the template `get_face_chip_details` aligns to), in 0..1 chip units, paired with
 * the MediaPipe face-mesh vertex that Human reports for the same spot. Eyes, nose and the outer
 * mouth: the points dlib uses, less the eyebrows and lower lip which move with expression.
 */
export const DLIB_TEMPLATE: readonly { readonly chip: Point; readonly mesh: number }[] = [
  { chip: [0.121737, 0.216423], mesh: 33 }, // right eye, outer corner
  { chip: [0.187122, 0.178758], mesh: 160 },
  { chip: [0.265825, 0.179852], mesh: 158 },
  { chip: [0.334606, 0.231733], mesh: 133 }, // right eye, inner corner
  { chip: [0.260918, 0.245099], mesh: 153 },
  { chip: [0.182743, 0.244077], mesh: 144 },
  { chip: [0.645647, 0.231733], mesh: 362 }, // left eye, inner corner
  { chip: [0.714428, 0.179852], mesh: 385 },
  { chip: [0.793132, 0.178758], mesh: 387 },
  { chip: [0.858516, 0.216423], mesh: 263 }, // left eye, outer corner
  { chip: [0.79751, 0.244077], mesh: 373 },
  { chip: [0.719335, 0.245099], mesh: 380 },
  { chip: [0.490127, 0.203352], mesh: 168 }, // bridge of the nose
  { chip: [0.490127, 0.515625], mesh: 1 }, // tip of the nose
  { chip: [0.490127, 0.628106], mesh: 2 }, // base of the nose
  { chip: [0.254149, 0.780233], mesh: 61 }, // mouth corners
  { chip: [0.726104, 0.780233], mesh: 291 },
  { chip: [0.490127, 0.742578], mesh: 0 }, // top of the upper lip
  { chip: [0.490127, 0.785343], mesh: 13 },
];

/** The mesh vertices whose mean is each eye's centre. */
export const EYE_CORNERS = { right: [33, 133], left: [362, 263] } as const;

/**
 * The least-squares similarity transform (rotation, uniform scale, translation; no reflection)
 * taking `from` points onto `to` points.
 */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  if (from.length !== to.length || from.length < 2) throw new RangeError('need two or more point pairs');
  const n = from.length;
  let fx = 0,
    fy = 0,
    gx = 0,
    gy = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i]![0] / n;
    fy += from[i]![1] / n;
    gx += to[i]![0] / n;
    gy += to[i]![1] / n;
  }
  let sa = 0,
    sb = 0,
    ss = 0;
  for (let i = 0; i < n; i++) {
    const ux = from[i]![0] - fx,
      uy = from[i]![1] - fy;
    const vx = to[i]![0] - gx,
      vy = to[i]![1] - gy;
    sa += ux * vx + uy * vy;
    sb += ux * vy - uy * vx;
    ss += ux * ux + uy * uy;
  }
  const a = sa / ss,
    b = sb / ss;
  return { a, b, tx: gx - (a * fx - b * fy), ty: gy - (b * fx + a * fy) };
}

/** The transform from a `size`² dlib chip (with `padding` around the template) to the photo. */
export function dlibChipTransform(mesh: readonly (readonly number[])[], size: number, padding: number): Similarity {
  const from: Point[] = [];
  const to: Point[] = [];
  for (const { chip, mesh: index } of DLIB_TEMPLATE) {
    const point = mesh[index];
    if (!point || point.length < 2) throw new RangeError(`mesh has no vertex ${index}`);
    from.push([((padding + chip[0]) / (1 + 2 * padding)) * size, ((padding + chip[1]) / (1 + 2 * padding)) * size]);
    to.push([point[0]!, point[1]!]);
  }
  return fitSimilarity(from, to);
}

/**
 * Resamples a `size`² RGB chip from an RGB image through `transform`. Each chip pixel averages an
 * n×n grid of bilinear samples, n being the scale, so that a large face shrunk to the chip does
 * not alias. Pixels outside the photo repeat its edge.
 */
export function warpChip(pixels: Uint8Array, width: number, height: number, transform: Similarity, size: number): Float32Array {
  return resample(pixels, width, height, transform, size, size, new Float32Array(size * size * 3));
}

function resample<T extends Float32Array | Uint8Array>(
  pixels: Uint8Array,
  width: number,
  height: number,
  transform: Similarity,
  outWidth: number,
  outHeight: number,
  out: T,
): T {
  const { a, b, tx, ty } = transform;
  const n = Math.max(1, Math.min(8, Math.ceil(Math.hypot(a, b))));
  const weight = 1 / (n * n);
  const maxX = width - 1,
    maxY = height - 1;
  for (let v = 0; v < outHeight; v++) {
    for (let u = 0; u < outWidth; u++) {
      let r = 0,
        g = 0,
        bl = 0;
      for (let sy = 0; sy < n; sy++) {
        const cv = v + (sy + 0.5) / n;
        for (let sx = 0; sx < n; sx++) {
          const cu = u + (sx + 0.5) / n;
          const x = Math.min(Math.max(a * cu - b * cv + tx - 0.5, 0), maxX);
          const y = Math.min(Math.max(b * cu + a * cv + ty - 0.5, 0), maxY);
          const x0 = Math.floor(x),
            y0 = Math.floor(y);
          const x1 = Math.min(x0 + 1, maxX),
            y1 = Math.min(y0 + 1, maxY);
          const wx = x - x0,
            wy = y - y0;
          const w00 = (1 - wx) * (1 - wy),
            w01 = wx * (1 - wy),
            w10 = (1 - wx) * wy,
            w11 = wx * wy;
          const i00 = (y0 * width + x0) * 3,
            i01 = (y0 * width + x1) * 3;
          const i10 = (y1 * width + x0) * 3,
            i11 = (y1 * width + x1) * 3;
          r += pixels[i00]! * w00 + pixels[i01]! * w01 + pixels[i10]! * w10 + pixels[i11]! * w11;
          g += pixels[i00 + 1]! * w00 + pixels[i01 + 1]! * w01 + pixels[i10 + 1]! * w10 + pixels[i11 + 1]! * w11;
          bl += pixels[i00 + 2]! * w00 + pixels[i01 + 2]! * w01 + pixels[i10 + 2]! * w10 + pixels[i11 + 2]! * w11;
        }
      }
      const o = (v * outWidth + u) * 3;
      // A Uint8Array target rounds by truncation: add a half so the average rounds to nearest.
      const half = out instanceof Uint8Array ? 0.5 : 0;
      out[o] = r * weight + half;
      out[o + 1] = g * weight + half;
      out[o + 2] = bl * weight + half;
    }
  }
  return out;
}

/** A Gaussian of sigma one pixel, three pixels each side: the centre's weight, then 1, 2, 3 away. */
const GAUSSIAN_1 = (() => {
  const raw = [0, 1, 2, 3].map((d) => Math.exp(-(d * d) / 2));
  const total = raw[0]! + 2 * (raw[1]! + raw[2]! + raw[3]!);
  return raw.map((w) => w / total) as [number, number, number, number];
})();

/**
 * Sharpens a square RGB chip in place with an unsharp mask: each value moves `amount` times its
 * distance from a Gaussian blur of itself (sigma one chip pixel, the chip's edge repeated), kept
 * within 0..255. The blur runs along each row, then down the columns a whole row at a time, its
 * taps written out: this runs for every small face, and with a loop over the taps each pass took
 * three times as long.
 */
export function unsharpMask(chip: Float32Array, size: number, amount: number): void {
  const [w0, w1, w2, w3] = GAUSSIAN_1;
  const row = size * 3,
    last = size - 1;
  const across = new Float32Array(chip.length);
  const edges = [0, 1, 2, size - 3, size - 2, size - 1];
  for (let y = 0; y < size; y++) {
    const base = y * row;
    for (let i = base + 9, end = base + row - 9; i < end; i++) {
      across[i] = w0 * chip[i]! + w1 * (chip[i - 3]! + chip[i + 3]!) + w2 * (chip[i - 6]! + chip[i + 6]!) + w3 * (chip[i - 9]! + chip[i + 9]!);
    }
    for (const x of edges) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let d = -3; d <= 3; d++) sum += GAUSSIAN_1[Math.abs(d)]! * chip[base + Math.min(last, Math.max(0, x + d)) * 3 + c]!;
        across[base + x * 3 + c] = sum;
      }
    }
  }
  const rowAt = (y: number) => Math.min(last, Math.max(0, y)) * row;
  for (let y = 0; y < size; y++) {
    const at = y * row,
      up1 = rowAt(y - 1),
      up2 = rowAt(y - 2),
      up3 = rowAt(y - 3),
      down1 = rowAt(y + 1),
      down2 = rowAt(y + 2),
      down3 = rowAt(y + 3);
    for (let j = 0; j < row; j++) {
      const blurred =
        w0 * across[at + j]! +
        w1 * (across[up1 + j]! + across[down1 + j]!) +
        w2 * (across[up2 + j]! + across[down2 + j]!) +
        w3 * (across[up3 + j]! + across[down3 + j]!);
      const value = chip[at + j]!;
      chip[at + j] = Math.min(255, Math.max(0, value + amount * (value - blurred)));
    }
  }
}

/** The centre of an eye: the mean of its two corners. */
export function eyeCentre(mesh: readonly (readonly number[])[], corners: readonly number[]): Point {
  let x = 0,
    y = 0;
  for (const index of corners) {
    x += mesh[index]![0]! / corners.length;
    y += mesh[index]![1]! / corners.length;
  }
  return [x, y];
}
