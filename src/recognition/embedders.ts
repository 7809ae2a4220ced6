/**
 * The descriptors this engine can compute; `facefile eval` and `npm run bench -- albums` compare
 * them (docs/development.md, "Recognition quality"):
 * - `dlib-*`: face-api's port of dlib's ResNet (128-d) on a 150-pixel chip aligned to dlib's mean
 *   face by a similarity fit on 7 points (eye corners, nose base, mouth corners) or 19 points (with
 *   the eyelids, nose bridge and lips);
 * - `mobilefacenet-flip`: MobileFaceNet (192-d, ArcFace-trained; its PReLUs repaired by the
 *   converter) on a 112-pixel chip aligned to the ArcFace 5-point template;
 * - `fused-flip`: both, their cosines averaged (the vectors concatenated with weights); `fused`
 *   the same without the mirror images (half the descriptor work);
 * `-flip` averages each chip's vector with its mirror image's.
 */
export const EMBEDDERS = ['dlib-7-flip', 'dlib-19-flip', 'dlib-7', 'mobilefacenet-flip', 'fused-flip', 'fused'] as const;
export type EmbedderName = (typeof EMBEDDERS)[number];
