/**
 * Argument parsing for the chat commands, shared by the platforms whose commands arrive as text
 * (Telegram; Discord's slash commands come parsed).
 */

/** "/enroll Anna Smith 2" → name "Anna Smith", face 2; "/enroll me" → me; "/enroll me 2". */
export function parseEnroll(args: string): { me: boolean; name: string; face?: number } {
  const words = args.trim().split(/\s+/).filter(Boolean);
  let face: number | undefined;
  const last = words[words.length - 1];
  if (words.length > 1 && last !== undefined && /^\d{1,2}$/.test(last)) {
    face = Number(last);
    words.pop();
  } else if (words.length === 1 && last !== undefined && /^\d{1,2}$/.test(last)) {
    // "/enroll 2" alone: a face number without a name is not a name.
    return { me: false, name: '', face: Number(last) };
  }
  const me = words.length === 1 && words[0]!.toLowerCase() === 'me';
  return { me, name: me ? '' : words.join(' '), ...(face !== undefined ? { face } : {}) };
}

/** "/name 3 Anna Smith" → cluster 3, name "Anna Smith". */
export function parseName(args: string): { cluster: number; name: string } | undefined {
  const match = /^\s*#?(\d+)\s+(.+)$/.exec(args);
  return match ? { cluster: Number(match[1]), name: match[2]!.trim() } : undefined;
}

/** "/threshold", "/threshold 0.9", "/threshold report", "/threshold report 0.9". */
export function parseThreshold(args: string): { kind: 'show' } | { kind: 'set'; value: number } | { kind: 'report'; proposed?: number } | { kind: 'invalid' } {
  const words = args.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { kind: 'show' };
  if (words[0] === 'report') {
    if (words.length === 1) return { kind: 'report' };
    const proposed = Number(words[1]!.replace(',', '.'));
    return words.length === 2 && Number.isFinite(proposed) ? { kind: 'report', proposed } : { kind: 'invalid' };
  }
  const value = Number(words[0]!.replace(',', '.'));
  return words.length === 1 && Number.isFinite(value) ? { kind: 'set', value } : { kind: 'invalid' };
}
