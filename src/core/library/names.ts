/** The longest person name accepted, in characters (user-perceived: an emoji counts once). */
export const MAX_NAME_LENGTH = 64;

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** A person's name as typed, tidied; or why it cannot be a name. */
export function cleanPersonName(raw: string): { ok: true; name: string } | { ok: false; reason: 'empty' | 'too-long' } {
  // Control characters (including NUL) never belong in a name; runs of spaces collapse. Invisible
  // format characters (zero-width spaces, joiners, bidi marks) would make "Anna" and "Anna\u200B"
  // two people: they go, except a joiner inside an emoji sequence.
  const name = raw
    .normalize('NFC')
    .replace(/\p{Cc}/gu, ' ')
    .replace(/(?<!\p{Extended_Pictographic}\uFE0F?)\u200D|\u200D(?!\p{Extended_Pictographic})|(?!\u200D)\p{Cf}/gu, '')
    .replace(/[\s\u3164\u115F\u1160\uFFA0]+/g, ' ')
    .trim();
  if (name.length === 0) return { ok: false, reason: 'empty' };
  if (Array.from(GRAPHEMES.segment(name)).length > MAX_NAME_LENGTH) return { ok: false, reason: 'too-long' };
  return { ok: true, name };
}

/**
 * Latin letters that other scripts draw the same way: Cyrillic and Greek look-alikes, so that "Аnna"
 * (with a Cyrillic А) cannot pass for "Anna".
 */
const LOOKALIKES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ɡ: 'g',
  ӏ: 'l',
  α: 'a',
  β: 'b',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ϲ: 'c',
  '0': 'o',
  '1': 'l',
  '|': 'l',
};

/** What a name looks like: case, accents, look-alike letters and spacing ignored. */
export function nameSkeleton(name: string): string {
  return Array.from(
    name
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[\s._-]+/g, ''),
  )
    .map((c) => LOOKALIKES[c] ?? c)
    .join('')
    .replace(/rn/g, 'm');
}

/** Two names a reader could take for one another, though they are not the same name. */
export function confusableNames(a: string, b: string): boolean {
  return !sameName(a, b) && nameSkeleton(a) === nameSkeleton(b);
}

/** Names compare without regard to case or accents' composition: "anna" finds "Anna". */
export function sameName(a: string, b: string): boolean {
  return a.normalize('NFC').toLocaleLowerCase() === b.normalize('NFC').toLocaleLowerCase();
}
