import { sha256Hex, type GroupId } from '../core/index.ts';
import { LONE_SURROGATE } from '../core/safe-name.ts';

export { safeFolderName, uniqueFolderName, MAX_NAME_BYTES } from '../core/safe-name.ts';

const encoder = new TextEncoder();

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
  return `${prefix}${HASH_MARK}${sha256Hex(group).slice(0, 32)}`;
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
