/**
 * BlazeFace's output turned into face boxes, step for step as Human 3.3 does it
 * (src/face/blazeface.ts, facemeshutil.ts), so that the faces found are the ones Human finds.
 */
import { EngineError } from '../../core/index.ts';
import type { Point } from '../align.ts';

/** The detector's input side. */
export const DETECTOR_SIZE = 256;
const KEYPOINTS = 6;
/** Per anchor: score logit, box (cx, cy, w, h), six keypoints (x, y). */
const ROW = 1 + 4 + 2 * KEYPOINTS;

export interface DetectorSettings {
  /** Detections at or below this score are dropped. */
  readonly minConfidence: number;
  /** A detection overlapping a better one by this IoU or more is dropped. */
  readonly iouThreshold: number;
  readonly maxDetected: number;
  /** How much the detector's box is enlarged before the mesh crop (Human's `detector.scale`). */
  readonly scale: number;
}

/** A detection in image pixels: Human's squared, enlarged box with BlazeFace's keypoints. */
export interface FaceCandidate {
  readonly start: Point;
  readonly end: Point;
  /** Eyes, nose, mouth, ears. */
  readonly landmarks: readonly Point[];
  readonly confidence: number;
}

/** The anchor centres, in detector pixels: 16x16 cells of 2, then 8x8 cells of 6. */
const ANCHORS: readonly Point[] = anchors(DETECTOR_SIZE);

function anchors(size: number): Point[] {
  const result: Point[] = [];
  for (const [stride, perCell] of [
    [size / 16, 2],
    [size / 8, 6],
  ] as const) {
    const cells = Math.floor((size + stride - 1) / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let n = 0; n < perCell; n++) result.push([stride * (x + 0.5), stride * (y + 0.5)]);
      }
    }
  }
  return result;
}

/** Decodes the detector's outputs for an image of the given size into face candidates. */
export function decodeDetections(outputs: readonly Float32Array[], width: number, height: number, settings: DetectorSettings): FaceCandidate[] {
  const rows = anchorRows(outputs);
  const count = ANCHORS.length;
  const boxes = new Float64Array(count * 4);
  const scores = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const row = i * ROW;
    const [ax, ay] = ANCHORS[i]!;
    const cx = rows[row + 1]! + ax,
      cy = rows[row + 2]! + ay;
    const halfW = rows[row + 3]! / 2,
      halfH = rows[row + 4]! / 2;
    boxes.set([cx - halfW, cy - halfH, cx + halfW, cy + halfH], i * 4);
    scores[i] = 1 / (1 + Math.exp(-rows[row]!));
  }
  const fx = width / DETECTOR_SIZE,
    fy = height / DETECTOR_SIZE;
  const candidates: FaceCandidate[] = [];
  for (const i of nonMaxSuppression(boxes, scores, settings)) {
    const [ax, ay] = ANCHORS[i]!;
    const landmarks: Point[] = [];
    for (let k = 0; k < KEYPOINTS; k++) {
      const at = i * ROW + 5 + 2 * k;
      landmarks.push([(rows[at]! + ax) * fx, (rows[at + 1]! + ay) * fy]);
    }
    const start: Point = [boxes[i * 4]! * fx, boxes[i * 4 + 1]! * fy];
    const end: Point = [boxes[i * 4 + 2]! * fx, boxes[i * 4 + 3]! * fy];
    const squared = squarify(enlarge(start, end, settings.scale));
    if (squared.size[0] > 0 && squared.size[1] > 0) candidates.push({ start: squared.start, end: squared.end, landmarks, confidence: scores[i]! });
  }
  return candidates;
}

/**
 * The 896 rows of 17 values. The tfhub model has one [896, 17] output; the converted one that
 * Human ships splits it into scores and boxes for each of the two anchor grids.
 */
function anchorRows(outputs: readonly Float32Array[]): Float32Array {
  const count = ANCHORS.length;
  const whole = outputs.find((o) => o.length === count * ROW);
  if (whole) return whole;
  const bySize = (n: number) => outputs.find((o) => o.length === n);
  const grids = [512, 384].map((n) => ({ n, scores: bySize(n), rest: bySize(n * (ROW - 1)) }));
  const rows = new Float32Array(count * ROW);
  let at = 0;
  for (const { n, scores, rest } of grids) {
    if (!scores || !rest) throw new EngineError(`the face detector's outputs have unexpected sizes: ${outputs.map((o) => o.length).join(', ')}`);
    for (let i = 0; i < n; i++, at++) {
      rows[at * ROW] = scores[i]!;
      rows.set(rest.subarray(i * (ROW - 1), (i + 1) * (ROW - 1)), at * ROW + 1);
    }
  }
  return rows;
}

/**
 * tfjs's greedy non-max suppression without soft-NMS: best score first (the lower index on a tie),
 * dropping any box whose IoU with one already kept reaches the threshold.
 */
export function nonMaxSuppression(
  boxes: Float64Array,
  scores: Float64Array,
  settings: Pick<DetectorSettings, 'minConfidence' | 'iouThreshold' | 'maxDetected'>,
): number[] {
  const order: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! > settings.minConfidence) order.push(i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= settings.maxDetected) break;
    if (!kept.some((j) => iou(boxes, i, j) >= settings.iouThreshold)) kept.push(i);
  }
  return kept;
}

function iou(boxes: Float64Array, i: number, j: number): number {
  const [ax0, ay0, ax1, ay1] = corners(boxes, i);
  const [bx0, by0, bx1, by1] = corners(boxes, j);
  const areaA = (ax1 - ax0) * (ay1 - ay0),
    areaB = (bx1 - bx0) * (by1 - by0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const overlap = Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0) * Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0);
  return overlap / (areaA + areaB - overlap);
}

function corners(boxes: Float64Array, i: number): [number, number, number, number] {
  const x0 = boxes[i * 4]!,
    y0 = boxes[i * 4 + 1]!,
    x1 = boxes[i * 4 + 2]!,
    y1 = boxes[i * 4 + 3]!;
  return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
}

export function boxCenter(start: Point, end: Point): Point {
  return [start[0] + (end[0] - start[0]) / 2, start[1] + (end[1] - start[1]) / 2];
}

export function boxSize(start: Point, end: Point): Point {
  return [Math.abs(end[0] - start[0]), Math.abs(end[1] - start[1])];
}

function enlarge(start: Point, end: Point, factor: number): { start: Point; end: Point } {
  const [cx, cy] = boxCenter(start, end);
  const [w, h] = boxSize(start, end);
  return { start: [cx - (factor * w) / 2, cy - (factor * h) / 2], end: [cx + (factor * w) / 2, cy + (factor * h) / 2] };
}

/** A square around the box's centre, as wide as its longer side, on whole pixels. */
function squarify({ start, end }: { start: Point; end: Point }): { start: Point; end: Point; size: Point } {
  const [cx, cy] = boxCenter(start, end);
  const [w, h] = boxSize(start, end);
  const half = Math.max(w, h) / 2;
  return { start: [Math.round(cx - half), Math.round(cy - half)], end: [Math.round(cx + half), Math.round(cy + half)], size: [Math.round(w), Math.round(h)] };
}
