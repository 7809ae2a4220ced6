import { createHash } from 'node:crypto';
import type { GroupId } from '../core/index.ts';

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
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
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
  let safe = name
    .replace(LONE_SURROGATES, '')
    .replace(/\s/gu, ' ')
    .replace(INVISIBLE, '')
    .normalize('NFC')
    .replace(FORBIDDEN, '_')
    .replace(/ {2,}/g, ' ');
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

/** Group folder names longer than this end in a hash instead, to stay clear of name length limits. */
const MAX_GROUP_FOLDER = 120;
/** Never produced by the encoding, so a hashed name can never equal an encoded one. */
const HASH_MARK = '~';

/**
 * The folder of a group: the id percent-encoded so that distinct ids never share a folder, even on
 * case-insensitive file systems (only lowercase letters, digits, "_" and "-" stay as they are;
 * everything else, uppercase included, becomes %XX of its UTF-8 bytes). "tg:-100123" becomes
 * "tg%3A-100123". Ids whose encoding is very long are cut and end in "~" and a hash: those cannot
 * be decoded, so their store keeps the id beside the folder.
 */
export function groupFolderName(group: GroupId): string {
  if (typeof group !== 'string' || group === '') throw new RangeError('group id must be a non-empty string');
  // Lone surrogates would be encoded as U+FFFD, colliding with an id that holds one.
  if (LONE_SURROGATE.test(group)) throw new RangeError('group id is not well-formed Unicode');
  let encoded = '';
  for (const byte of encoder.encode(group)) {
    const char = String.fromCharCode(byte);
    encoded += /[a-z0-9_-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (encoded.length <= MAX_GROUP_FOLDER) return encoded;
  const prefix = encoded.slice(0, 80).replace(/%[0-9A-F]?$/, '');
  return `${prefix}${HASH_MARK}${createHash('sha256').update(group).digest('hex').slice(0, 32)}`;
}

/** The group id a folder name stands for, or undefined when it is not one `groupFolderName` makes reversibly. */
export function groupFromFolderName(folder: string): GroupId | undefined {
  if (!/^(?:[a-z0-9_-]|%[0-9A-F]{2})+$/.test(folder) || folder.length > MAX_GROUP_FOLDER) return undefined;
  let group: string;
  try {
    group = decodeURIComponent(folder);
  } catch {
    return undefined;
  }
  return groupFolderName(group) === folder ? group : undefined;
}

/** Whether a group folder name was shortened with a hash, so its id must be read from beside it. */
export function isHashedGroupFolder(folder: string): boolean {
  return folder.includes(HASH_MARK);
}
