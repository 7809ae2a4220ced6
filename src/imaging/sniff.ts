/** The container formats facefile decodes; anything else is refused before libvips sees it. */
export type PhotoFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'heif' | 'tiff';

/**
 * What a chat member may post: the formats phones and browsers write. SVG, PDF, TIFF, RAW and the
 * other libvips loaders are each a way for a small file to take minutes (SVG filters and `<use>`
 * fan-out, TIFF's many codecs), and no camera writes them.
 */
export const POSTED_FORMATS: ReadonlySet<PhotoFormat> = new Set(['jpeg', 'png', 'webp', 'gif', 'heif']);

/** Brands of the `ftyp` box that say HEIF or AVIF (HEVC- or AV1-coded, still or sequence). */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'msf1', 'avif', 'avis']);

/** The format from the file's first bytes, never from its name; undefined for anything else. */
export function sniffFormat(bytes: Uint8Array): PhotoFormat | undefined {
  const starts = (...signature: number[]): boolean => signature.every((byte, i) => bytes[i] === byte);
  const ascii = (from: number, length: number): string => String.fromCharCode(...bytes.subarray(from, from + length));
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'webp';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (bytes.length >= 16 && ascii(4, 4) === 'ftyp') {
    const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    const end = Math.min(size, bytes.length, 256);
    const brands = [ascii(8, 4)];
    for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(at, 4));
    if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'heif';
  }
  return undefined;
}

/**
 * How many scans (SOS markers) a JPEG holds, counted in one pass over the bytes. Inside
 * entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so every 0xFF 0xDA
 * is a real start of scan (or one of an embedded thumbnail's, which are few). A normal progressive
 * JPEG has about ten; a hostile one has tens of thousands, each a pass over every block.
 */
export function jpegScanCount(bytes: Uint8Array): number {
  let scans = 0;
  for (let at = bytes.indexOf(0xff); at >= 0 && at + 1 < bytes.length; at = bytes.indexOf(0xff, at + 1)) {
    if (bytes[at + 1] === 0xda) scans++;
  }
  return scans;
}
