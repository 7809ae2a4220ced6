/**
 * Safe file-system names from user-supplied person names: pure string rules, shared by the
 * library (which picks a person's album folder) and the album store (which checks it).
 */

/** The longest folder name made, in UTF-8 bytes: well under the 255-byte limit of common file systems. */
export const MAX_NAME_BYTES = 100;

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const encoder = new TextEncoder();

/**
 * C0/C1 controls (NUL included; whitespace ones were made spaces before), invisible characters
 * that make two names look alike, and the bidirectional overrides that make a name read backwards.
 * Zero-width (non-)joiners stay: emoji and several scripts need them.
 */
const INVISIBLE = /[\p{Cc}\u00AD\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069]/gu;
/** Characters that are path separators or forbidden in names on Windows, macOS or Linux. */
const FORBIDDEN = /[/\\:*?"<>|]/g;
/** A UTF-16 half without its other half: not well-formed Unicode. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
/** Windows refuses these as a name's stem, with any extension and in any case ("con.txt", "Com1"). */
const RESERVED = /^(?:con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])(?= *(?:\.|$))/i;

function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** The longest prefix of whole graphemes that fits in `limit` UTF-8 bytes. */
function truncateBytes(text: string, limit: number): string {
  if (byteLength(text) <= limit) return text;
  let kept = '';
  let used = 0;
  for (const { segment } of GRAPHEMES.segment(text)) {
    const size = byteLength(segment);
    if (used + size > limit) break;
    kept += segment;
    used += size;
  }
  return kept;
}

/** Windows silently drops trailing dots and spaces, and leading ones hide a folder or fake `..`. */
function trimDotsAndSpaces(text: string): string {
  return text.replace(/^[. ]+|[. ]+$/g, '');
}

/**
 * Turns any user-supplied name into one safe path segment that still reads as the name: letters
 * of every script stay, controls go, separators and characters Windows forbids become "_", and
 * the result is at most {@link MAX_NAME_BYTES} UTF-8 bytes. Idempotent: a safe name maps to
 * itself, which is how stores recognise one. An empty result becomes `fallback`.
 */
export function safeFolderName(name: string, fallback = 'person'): string {
  // Order matters for idempotence: removing a control can join a letter to a combining mark (so
  // NFC comes after) or two spaces (so spaces are collapsed last).
  let safe = name.replace(LONE_SURROGATES, '').replace(/\s/gu, ' ').replace(INVISIBLE, '').normalize('NFC').replace(FORBIDDEN, '_').replace(/ {2,}/g, ' ');
  safe = trimDotsAndSpaces(safe);
  safe = safe.replace(RESERVED, '$&_');
  // Truncation can expose a trailing dot or space, or (when one grapheme is huge) leave a bare
  // reserved stem, so both are checked again afterwards.
  safe = trimDotsAndSpaces(truncateBytes(safe, MAX_NAME_BYTES));
  if (RESERVED.test(safe)) safe = truncateBytes(safe.replace(RESERVED, '$&_'), MAX_NAME_BYTES);
  if (safe !== '') return safe;
  if (fallback !== 'person' && safeFolderName(fallback) !== fallback) throw new RangeError(`fallback folder name is not safe: ${JSON.stringify(fallback)}`);
  return fallback;
}

/** Case-insensitive, normalisation-insensitive comparison key: some file systems fold both. */
function folded(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase();
}

/**
 * `safeFolderName(name)`, or that name with " (2)", " (3)", … when it is already in `taken`
 * (compared without case, as case-insensitive file systems would).
 */
export function uniqueFolderName(name: string, taken: ReadonlySet<string>): string {
  const used = new Set([...taken].map(folded));
  const base = safeFolderName(name);
  if (!used.has(folded(base))) return base;
  for (let n = 2; ; n++) {
    const suffix = ` (${n})`;
    const stem = trimDotsAndSpaces(truncateBytes(base, MAX_NAME_BYTES - suffix.length));
    const candidate = safeFolderName(`${stem}${suffix}`);
    if (!used.has(folded(candidate))) return candidate;
  }
}
