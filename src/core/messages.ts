import type { DecodeFailureReason } from './ports.ts';

/** The short words a user sees for each decode failure; the log keeps the decoder's detail. */
export const DECODE_FAILURE_MESSAGES: Record<DecodeFailureReason, string> = {
  empty: 'the file is empty',
  'too-large': 'the file is too large',
  'too-many-pixels': 'the image has too many pixels to read safely',
  'unsupported-format': 'not an image format facefile can read',
  corrupt: 'the image is damaged and cannot be read',
};
