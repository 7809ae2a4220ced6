import type { TaggedFace } from '../core/index.ts';

/** A photo's pixel size as stored in the file, before its EXIF orientation is applied, and that orientation (1-8). */
export interface StoredGeometry {
  readonly width: number;
  readonly height: number;
  readonly orientation: number;
}

/** One Metadata Working Group region: a normalised, centre-based area, as exiftool writes `RegionInfo`. */
export interface MwgRegion {
  readonly Area: { readonly X: number; readonly Y: number; readonly W: number; readonly H: number; readonly Unit: 'normalized' };
  readonly Name: string;
  readonly Type: 'Face';
}

/** The `XMP-mwg-rs:RegionInfo` structure. */
export interface MwgRegionInfo {
  readonly AppliedToDimensions: { readonly W: number; readonly H: number; readonly Unit: 'pixel' };
  readonly RegionList: readonly MwgRegion[];
}

/** Orientations 5 to 8 turn the picture a quarter: width and height swap. */
const turnsQuarter = (orientation: number): boolean => orientation >= 5 && orientation <= 8;

/**
 * A point of the displayed picture (EXIF orientation applied), normalised to 0..1, as the same point
 * of the stored pixels. Orientation says where the stored rows and columns go: 6 ("rotate 90 CW")
 * puts stored row 0 at the displayed right edge and stored column 0 at the top.
 */
function toStored(orientation: number, u: number, v: number): [number, number] {
  switch (orientation) {
    case 2:
      return [1 - u, v];
    case 3:
      return [1 - u, 1 - v];
    case 4:
      return [u, 1 - v];
    case 5:
      return [v, u];
    case 6:
      return [v, 1 - u];
    case 7:
      return [1 - v, 1 - u];
    case 8:
      return [1 - v, u];
    default:
      return [u, v];
  }
}

const clamp01 = (n: number): number => Math.min(1, Math.max(0, n));
/** Six decimals: a tenth of a pixel on a 10,000-pixel side, and short XMP. */
const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

/**
 * The MWG face regions of `faces`, whose boxes are in the decoded picture's pixels (orientation
 * applied, then scaled to fit `decodedMaxSide`, as the decoder does). MWG regions, like the
 * dimensions they apply to, are relative to the pixels as stored, before the orientation: digiKam,
 * Immich and Lightroom turn them with the picture's Orientation when they show them. So a box seen
 * on an upright view of a photo stored sideways is turned back into the stored frame here.
 */
export function mwgRegionInfo(faces: readonly TaggedFace[], stored: StoredGeometry, decodedMaxSide: number): MwgRegionInfo {
  const quarter = turnsQuarter(stored.orientation);
  const shownWidth = quarter ? stored.height : stored.width;
  const shownHeight = quarter ? stored.width : stored.height;
  const scale = Math.min(1, decodedMaxSide / Math.max(shownWidth, shownHeight));
  const decodedWidth = Math.max(1, Math.round(shownWidth * scale));
  const decodedHeight = Math.max(1, Math.round(shownHeight * scale));
  const RegionList = faces.map(({ name, box }): MwgRegion => {
    const left = clamp01(box.x / decodedWidth);
    const top = clamp01(box.y / decodedHeight);
    const w = clamp01((box.x + box.width) / decodedWidth) - left;
    const h = clamp01((box.y + box.height) / decodedHeight) - top;
    const [X, Y] = toStored(stored.orientation, left + w / 2, top + h / 2);
    const [W, H] = quarter ? [h, w] : [w, h];
    return { Area: { X: round6(X), Y: round6(Y), W: round6(W), H: round6(H), Unit: 'normalized' }, Name: name, Type: 'Face' };
  });
  return { AppliedToDimensions: { W: stored.width, H: stored.height, Unit: 'pixel' }, RegionList };
}
