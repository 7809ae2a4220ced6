/**
 * The grammar of /album, shared by every platform: several people joined by `+`, and a period.
 *
 *   /album Anna Smith + Ben 2024 photos          (Telegram: free text after the command)
 *   /album name:Anna Smith with:Ben period:2024 photos:True   (Discord: one option each)
 *
 * People: names joined by `+` (names may hold spaces, so a space cannot separate them; `+` is
 * rarely part of a name). A name in double quotes is taken as it is, for a name that ends like a
 * period or in "photos" (`/album "Class of 2024"`). The photos must show every one of them.
 *
 * Period, when the photo was posted (its message's date, UTC): a year `2024`, a month `2024-05`, a
 * day `2024-05-17`; a range of those `2023..2024`, `2024-01..2024-06` (both ends included), open
 * `2024-03..` or `..2023`; or in words `from 2024-01 to 2024-06`, `from 2024`, `to 2023`,
 * `until 2023`. In the text it comes last, before or after the word `photos`; it is taken only
 * when a name stays before it, so `/album 2024` still asks for someone called 2024.
 */

import type { AlbumPeriod, AlbumRequest } from '../core/library/index.ts';
import { stringArg, type CommandArgs } from './command.ts';

/** Longer than any sensible request: refused before any work, whatever the platform allows. */
export const MAX_ALBUM_TEXT = 500;
/** The most people one album may ask for together. */
export const MAX_ALBUM_PEOPLE = 10;
/** Albums up to this many photos can come as photos instead of zips (`photos`). */
export const MAX_ALBUM_PHOTOS = 30;

export type AlbumArgsError = 'too-long' | 'no-name' | 'empty-name' | 'too-many-people' | 'bad-period';

export type ParsedAlbum =
  { readonly ok: true; readonly request: AlbumRequest; readonly photos: boolean } | { readonly ok: false; readonly error: AlbumArgsError };

const DATE = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$/;
/** Meant as a period, if a wrong one (`2024-13`, `2024..2023`): refused as such, not taken for a name. */
const LOOKS_LIKE_PERIOD = /^(?:\d{4}-\d{1,2}(?:-\d{1,2})?|(?:\d{4}(?:-\d{1,2}){0,2})?\.\.(?:\d{4}(?:-\d{1,2}){0,2})?)$/;

interface Bound {
  readonly start: Date;
  readonly end: Date;
  readonly text: string;
}

/** A year, month or day as the instants it starts and ends at (UTC), or undefined when it is none. */
function dateBound(text: string): Bound | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = match[2] === undefined ? undefined : Number(match[2]);
  const day = match[3] === undefined ? undefined : Number(match[3]);
  if (year < 1000 || (month !== undefined && (month < 1 || month > 12))) return undefined;
  if (month === undefined) return { start: utc(year, 0, 1), end: utc(year + 1, 0, 1), text: match[1]! };
  const mm = String(month).padStart(2, '0');
  if (day === undefined) return { start: utc(year, month - 1, 1), end: utc(year, month, 1), text: `${match[1]}-${mm}` };
  const start = utc(year, month - 1, day);
  // 2024-02-30 is no day: Date would roll it over into March.
  if (day < 1 || start.getUTCMonth() !== month - 1) return undefined;
  return { start, end: utc(year, month - 1, day + 1), text: `${match[1]}-${mm}-${String(day).padStart(2, '0')}` };
}

/** Months and days past the end roll over (month 12 is January next year); years are 1000 and up, never read as 19xx. */
function utc(year: number, month: number, day: number): Date {
  return new Date(Date.UTC(year, month, day));
}

/** A period from its two ends (either open); undefined when an end is no date or the range runs backwards. */
function range(from: string | undefined, to: string | undefined): AlbumPeriod | undefined {
  const start = from === undefined ? undefined : dateBound(from);
  const end = to === undefined ? undefined : dateBound(to);
  if ((from !== undefined && !start) || (to !== undefined && !end) || (!start && !end)) return undefined;
  if (start && end && start.start.getTime() >= end.end.getTime()) return undefined;
  const label = start && end ? (start.text === end.text ? start.text : `${start.text}..${end.text}`) : start ? `${start.text}..` : `..${end!.text}`;
  return {
    ...(start ? { from: start.start.toISOString() } : {}),
    // The end of 9999 is year 10000, which ISO text writes "+010000-…": open instead, as it means.
    ...(end && end.end.getUTCFullYear() <= 9999 ? { to: end.end.toISOString() } : {}),
    label,
  };
}

/**
 * A whole text as a period (`2024`, `2023..2024`, `from 2024-01 to 2024-06`, ...), or undefined
 * when it is none: what Discord's `period` option holds.
 */
export function parsePeriod(text: string): AlbumPeriod | undefined {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return periodOf(words);
}

function periodOf(words: readonly string[]): AlbumPeriod | undefined {
  const [a, b, c, d] = words;
  if (words.length === 1 && a !== undefined) {
    const dots = a.indexOf('..');
    if (dots < 0) return range(a, a);
    const [from, to] = [a.slice(0, dots), a.slice(dots + 2)];
    return range(from === '' ? undefined : from, to === '' ? undefined : to);
  }
  if (words.length === 2 && (a === 'from' || a === 'since')) return range(b, undefined);
  if (words.length === 2 && (a === 'to' || a === 'until')) return range(undefined, b);
  if (words.length === 4 && (a === 'from' || a === 'since') && (c === 'to' || c === 'until')) return range(b, d);
  return undefined;
}

/**
 * Telegram's text after /album, as the command's arguments: the people part (`name`), the period's
 * words (`period`) and `photos`. Only the end of the text is read for a period and `photos`, and
 * never inside quotes; whatever stays is the people part.
 */
export function parseAlbumText(text: string): CommandArgs {
  let words = text.trim().split(/\s+/).filter(Boolean);
  let photos = false;
  let period: string | undefined;
  for (let pass = 0; pass < 2; pass++) {
    const last = words[words.length - 1];
    if (!photos && words.length > 1 && last !== undefined && last.toLowerCase() === 'photos') {
      photos = true;
      words = words.slice(0, -1);
      continue;
    }
    // The longest tail that is a period (4 words "from A to B", 2 words "from A", or 1), leaving a name.
    if (period === undefined)
      for (const size of [4, 2, 1]) {
        if (words.length <= size) continue;
        const tail = words.slice(-size);
        if (periodOf(tail.map((w) => w.toLowerCase())) || (size === 1 && LOOKS_LIKE_PERIOD.test(tail[0]!))) {
          period = tail.join(' ');
          words = words.slice(0, -size);
          break;
        }
      }
  }
  return { name: words.join(' '), ...(period !== undefined ? { period } : {}), ...(photos ? { photos: true } : {}) };
}

/** Names joined by `+`, a quoted name taken whole; an empty name between two `+` is kept, as empty. */
function splitNames(text: string): string[] {
  const names: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"' || char === '“' || char === '”') quoted = !quoted;
    else if (char === '+' && !quoted) {
      names.push(current.trim());
      current = '';
    } else current += char;
  }
  names.push(current.trim());
  return names;
}

/**
 * The album asked for, from the command's arguments on any platform: `name` (people joined by `+`),
 * `with` (more people, the same way), `period` and `photos`.
 */
export function albumRequestOf(args: CommandArgs): ParsedAlbum {
  const text = (key: string) => stringArg(args, key) ?? '';
  const [name, more, periodText] = [text('name'), text('with'), text('period')];
  if (name.length + more.length + periodText.length > MAX_ALBUM_TEXT) return { ok: false, error: 'too-long' };
  if (name.trim() === '') return { ok: false, error: 'no-name' };
  const people = [...splitNames(name), ...(more.trim() === '' ? [] : splitNames(more))];
  if (people.some((p) => p === '')) return { ok: false, error: 'empty-name' };
  if (people.length > MAX_ALBUM_PEOPLE) return { ok: false, error: 'too-many-people' };
  let period: AlbumPeriod | undefined;
  if (periodText.trim() !== '') {
    period = parsePeriod(periodText);
    if (!period) return { ok: false, error: 'bad-period' };
  }
  return { ok: true, request: { people, ...(period ? { period } : {}) }, photos: args.photos === true };
}
