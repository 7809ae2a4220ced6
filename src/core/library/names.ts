/** The longest person name accepted, in characters (user-perceived: an emoji counts once). */
export const MAX_NAME_LENGTH = 64;

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** A person's name as typed, tidied; or why it cannot be a name. */
export function cleanPersonName(raw: string): { ok: true; name: string } | { ok: false; reason: 'empty' | 'too-long' } {
  // Control characters (including NUL) never belong in a name; runs of spaces collapse.
  const name = raw.normalize('NFC').replace(/\p{Cc}/gu, ' ').replace(/\s+/g, ' ').trim();
  if (name.length === 0) return { ok: false, reason: 'empty' };
  if (Array.from(GRAPHEMES.segment(name)).length > MAX_NAME_LENGTH) return { ok: false, reason: 'too-long' };
  return { ok: true, name };
}

/** Names compare without regard to case or accents' composition: "anna" finds "Anna". */
export function sameName(a: string, b: string): boolean {
  return a.normalize('NFC').toLocaleLowerCase() === b.normalize('NFC').toLocaleLowerCase();
}
