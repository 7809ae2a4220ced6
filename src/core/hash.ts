import { createHash } from 'node:crypto';

/**
 * The hex SHA-256 of some bytes or text: the one hash helper of the project (content hashes of
 * photos, cache keys, folder names of long group ids). node:crypto is a computation, not I/O, so
 * core may use it; it is synchronous and several times faster than Web Crypto on small inputs.
 */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
