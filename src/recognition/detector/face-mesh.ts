/**
 * From a detection to the mesh crop and from the mesh model's output back to image pixels, as
 * Human 3.3 does it (src/face/facemesh.ts, facemeshutil.ts).
 */
import { boxCenter, boxSize, type FaceCandidate } from './blazeface.ts';
import type { Crop } from './pixels.ts';

/** The mesh model's input side. */
export const MESH_SIZE = 192;
export const MESH_POINTS = 468;
/** Human turns the crop upright only when the face leans more than this (radians). */
const MIN_ROTATION = 0.2;
/** BlazeFace keypoints whose line gives the face's lean: mouth, then nose. */
const SYMMETRY_LINE = [3, 2] as const;

/** The crop to feed the mesh model for a detection: turned upright when `rotate` and it leans. */
export function meshCrop(candidate: FaceCandidate, rotate: boolean): Crop {
  const center = boxCenter(candidate.start, candidate.end);
  const angle = rotate ? lean(candidate) : 0;
  return { start: candidate.start, end: candidate.end, angle: Math.abs(angle) > MIN_ROTATION ? angle : 0, center };
}

/** The angle of the mouth-to-nose line from vertical, in -pi..pi. */
function lean(candidate: FaceCandidate): number {
  const from = candidate.landmarks[SYMMETRY_LINE[0]]!,
    to = candidate.landmarks[SYMMETRY_LINE[1]]!;
  const angle = Math.PI / 2 - Math.atan2(-(to[1] - from[1]), to[0] - from[0]);
  return angle - 2 * Math.PI * Math.floor((angle + Math.PI) / (2 * Math.PI));
}

/**
 * The mesh model's points (crop pixels, 0..192) in image pixels: scaled to the crop box, turned
 * back, moved to the box centre and truncated to whole pixels, as Human reports them. (Human
 * moves them by the centre passed through the inverse turn about the centre: the centre itself.)
 */
export function meshToImage(raw: Float32Array, crop: Crop): [number, number, number][] {
  const [w, h] = boxSize(crop.start, crop.end);
  const [cx, cy] = crop.center;
  const cos = Math.cos(crop.angle),
    sin = Math.sin(crop.angle);
  const mesh: [number, number, number][] = [];
  for (let i = 0; i < MESH_POINTS; i++) {
    const x = (w / MESH_SIZE) * (raw[i * 3]! - MESH_SIZE / 2);
    const y = (h / MESH_SIZE) * (raw[i * 3 + 1]! - MESH_SIZE / 2);
    const z = raw[i * 3 + 2]!;
    mesh.push([Math.trunc(x * cos - y * sin + cx), Math.trunc(x * sin + y * cos + cy), Math.trunc(z)]);
  }
  return mesh;
}

/**
 * The face box Human reports: the detection's square moved onto the centre of the mesh's extent,
 * then clipped to the image and truncated.
 */
export function meshFaceBox(
  mesh: readonly (readonly number[])[],
  candidate: FaceCandidate,
  width: number,
  height: number,
): { x: number; y: number; width: number; height: number } {
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  for (const p of mesh) {
    minX = Math.min(minX, p[0]!);
    maxX = Math.max(maxX, p[0]!);
    minY = Math.min(minY, p[1]!);
    maxY = Math.max(maxY, p[1]!);
  }
  const [w, h] = boxSize(candidate.start, candidate.end);
  const cx = minX + (maxX - minX) / 2,
    cy = minY + (maxY - minY) / 2;
  const x0 = Math.max(0, cx - w / 2),
    y0 = Math.max(0, cy - h / 2);
  return {
    x: Math.trunc(x0),
    y: Math.trunc(y0),
    width: Math.trunc(Math.min(width, cx + w / 2) - x0),
    height: Math.trunc(Math.min(height, cy + h / 2) - y0),
  };
}
