import type { DecodedImage } from './faces.ts';
import type { ImageDecoder } from './ports.ts';

/**
 * Runs `use` on a decoded photo, then gives its pixels back to the decoder (`ImageDecoder.release`),
 * whether `use` succeeded or threw. `use` must keep no view of the pixels once it has resolved:
 * their memory may take the next photo's.
 */
export async function usePixels<T>(decoder: ImageDecoder, image: DecodedImage, use: (image: DecodedImage) => Promise<T>): Promise<T> {
  try {
    return await use(image);
  } finally {
    decoder.release?.(image);
  }
}
