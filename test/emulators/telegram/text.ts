import type { MessageEntity } from '@telegraf/types';
import { badRequest } from './protocol.ts';

/** Telegram's limits on what a message may say, counted after entity parsing. */
export const MAX_TEXT_LENGTH = 4096;
export const MAX_CAPTION_LENGTH = 1024;

const COMMAND = /(^|\s)(\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)(?![A-Za-z0-9_@])/g;
const MENTION = /(^|[^A-Za-z0-9_/@])(@[A-Za-z0-9_]{5,32})(?![A-Za-z0-9_])/g;

/**
 * The entities Telegram finds in plain text a user typed: `bot_command` (wherever a word starts
 * with "/", including "/cmd@botname") and `mention`. Offsets are UTF-16 units, like JS strings.
 */
export function detectEntities(text: string): MessageEntity[] {
  const entities: MessageEntity[] = [];
  for (const [pattern, type] of [
    [COMMAND, 'bot_command'],
    [MENTION, 'mention'],
  ] as const) {
    for (const match of text.matchAll(pattern)) {
      entities.push({ type, offset: match.index + match[1]!.length, length: match[2]!.length });
    }
  }
  return entities.sort((a, b) => a.offset - b.offset);
}

export type ParseMode = 'HTML' | 'MarkdownV2' | 'Markdown';

export function parseModeOf(value: string | undefined): ParseMode | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'HTML' || value === 'MarkdownV2' || value === 'Markdown') return value;
  throw badRequest(`unsupported parse_mode`);
}

function cantParse(reason: string): never {
  throw badRequest(`can't parse entities: ${reason}`);
}

function byteOffset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index));
}

const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'tg-emoji', 'blockquote']);

function htmlText(text: string): string {
  for (const match of text.matchAll(/<(\/?)([^\s>/]*)[^>]*>/g)) {
    const tag = match[2]!.toLowerCase();
    if (!HTML_TAGS.has(tag)) cantParse(`Unsupported ${match[1] === '/' ? 'end' : 'start'} tag "${tag}" at byte offset ${byteOffset(text, match.index)}`);
  }
  return text
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&amp;/g, '&');
}

const MARKDOWN_V2_ENTITIES: Readonly<Record<string, string>> = { '*': 'Bold', _: 'Italic', '~': 'Strikethrough' };

/**
 * Checks MarkdownV2 the way Telegram refuses it most often: a reserved character left unescaped,
 * or a bold/italic/strikethrough marker never closed. Returns the text a reader would see.
 */
function markdownV2Text(text: string): string {
  let visible = '';
  const open = new Map<string, number>();
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      visible += text[i + 1] ?? '';
      i++;
    } else if (text.startsWith('```', i)) {
      const end = text.indexOf('```', i + 3);
      if (end < 0) cantParse(`Can't find end of Pre entity at byte offset ${byteOffset(text, i)}`);
      visible += text.slice(i + 3, end).replace(/^[^\n]*\n/, '');
      i = end + 2;
    } else if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) cantParse(`Can't find end of Code entity at byte offset ${byteOffset(text, i)}`);
      visible += text.slice(i + 1, end);
      i = end;
    } else if (ch === ']' && text[i + 1] === '(') {
      const end = text.indexOf(')', i + 2);
      if (end < 0) cantParse(`Can't find end of a url at byte offset ${byteOffset(text, i)}`);
      i = end;
    } else if (ch in MARKDOWN_V2_ENTITIES) {
      if (open.has(ch)) open.delete(ch);
      else open.set(ch, i);
    } else if ('#+-={}.!()'.includes(ch) || (ch === '>' && i > 0 && text[i - 1] !== '\n')) {
      cantParse(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
    } else if (ch !== '[' && ch !== '|' && ch !== '>') {
      visible += ch;
    }
  }
  for (const [marker, at] of open) cantParse(`Can't find end of ${MARKDOWN_V2_ENTITIES[marker]!} entity at byte offset ${byteOffset(text, at)}`);
  return visible;
}

/** What the reader sees of `text` sent with `parseMode`; throws Telegram's 400 where it would refuse. */
export function visibleText(text: string, parseMode: ParseMode | undefined): string {
  switch (parseMode) {
    case undefined:
      return text;
    case 'HTML':
      return htmlText(text);
    case 'MarkdownV2':
      return markdownV2Text(text);
    case 'Markdown':
      return text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[*_`]/g, '');
  }
}
