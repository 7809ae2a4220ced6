/** The hex SHA-256 of some bytes (Web Crypto: standard JavaScript, no I/O library). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Buffer.from(digest).toString('hex');
}
