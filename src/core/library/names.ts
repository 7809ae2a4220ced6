import unhomoglyph from 'unhomoglyph';

/** The longest person name accepted, in characters (user-perceived: an emoji counts once). */
export const MAX_NAME_LENGTH = 64;

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Characters that show nothing yet are not format controls, so a name could hide one to pass for
 * another ("Anna" and "Anna" + a Braille blank): Hangul fillers, the Braille blank, the combining
 * grapheme joiner and the other default-ignorable code points. A name with one is refused rather
 * than trimmed, so that what is stored is what was typed. Variation selectors (emoji need them)
 * and the zero-width joiner (removed before, but inside an emoji sequence) are allowed.
 */
const INVISIBLE = /\u2800|\u3164|\u115F|\u1160|\uFFA0|(?!\u200D|[\uFE00-\uFE0F]|[\u{E0100}-\u{E01EF}])\p{Default_Ignorable_Code_Point}/u;

/** Why a typed name cannot be a name. */
export type NameRefusal = 'empty' | 'too-long' | 'invisible';

/** A person's name as typed, tidied; or why it cannot be a name. */
export function cleanPersonName(raw: string): { ok: true; name: string } | { ok: false; reason: NameRefusal } {
  // Control characters (including NUL) never belong in a name; runs of spaces collapse. Invisible
  // format characters (zero-width spaces, joiners, bidi marks) would make "Anna" and "Anna\u200B"
  // two people: they go, except a joiner inside an emoji sequence.
  const name = raw
    .normalize('NFC')
    .replace(/\p{Cc}/gu, ' ')
    .replace(/(?<!\p{Extended_Pictographic}\uFE0F?)\u200D|\u200D(?!\p{Extended_Pictographic})|(?!\u200D)\p{Cf}/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (INVISIBLE.test(name)) return { ok: false, reason: 'invisible' };
  if (name.length === 0) return { ok: false, reason: 'empty' };
  if (Array.from(GRAPHEMES.segment(name)).length > MAX_NAME_LENGTH) return { ok: false, reason: 'too-long' };
  return { ok: true, name };
}

/**
 * Unicode's confusable skeleton (UTS #39, from confusables.txt) with case, accents and spacing
 * ignored too: decompose, drop marks, map each character to its prototype, lower-case, and map
 * again (lower-casing can make a new look-alike: "I" is "l" only before it).
 */
function skeleton(text: string): string {
  const bare = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '');
  return unhomoglyph(bare(unhomoglyph(bare(text)).toLowerCase()));
}

/** What a name looks like: case, accents, look-alike letters and spacing ignored. */
export function nameSkeleton(name: string): string {
  return (
    skeleton(name)
      .replace(/[\s._-]+/g, '')
      // The I/l/1/| family (confusables.txt maps them to "l"; this keeps it so whatever the data's
      // version), and letters that read as one: "VV" as "W" ("m" is already "rn").
      .replace(/[1|]/g, 'l')
      .replace(/vv/g, 'w')
  );
}

/** Two names a reader could take for one another, though they are not the same name. */
export function confusableNames(a: string, b: string): boolean {
  return !sameName(a, b) && nameSkeleton(a) === nameSkeleton(b);
}

/** Names compare without regard to case or accents' composition: "anna" finds "Anna". */
export function sameName(a: string, b: string): boolean {
  return a.normalize('NFC').toLocaleLowerCase() === b.normalize('NFC').toLocaleLowerCase();
}
