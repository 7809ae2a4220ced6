import type { ReactionType, TelegramEmoji } from '@telegraf/types';
import { badRequest } from './protocol.ts';

/** The emoji a bot may react with (Bot API 7.1); others answer REACTION_INVALID. */
export const REACTION_EMOJI = [
  '👍',
  '👎',
  '❤',
  '🔥',
  '🥰',
  '👏',
  '😁',
  '🤔',
  '🤯',
  '😱',
  '🤬',
  '😢',
  '🎉',
  '🤩',
  '🤮',
  '💩',
  '🙏',
  '👌',
  '🕊',
  '🤡',
  '🥱',
  '🥴',
  '😍',
  '🐳',
  '❤‍🔥',
  '🌚',
  '🌭',
  '💯',
  '🤣',
  '⚡',
  '🍌',
  '🏆',
  '💔',
  '🤨',
  '😐',
  '🍓',
  '🍾',
  '💋',
  '🖕',
  '😈',
  '😴',
  '😭',
  '🤓',
  '👻',
  '👨‍💻',
  '👀',
  '🎃',
  '🙈',
  '😇',
  '😨',
  '🤝',
  '✍',
  '🤗',
  '🫡',
  '🎅',
  '🎄',
  '☃',
  '💅',
  '🤪',
  '🗿',
  '🆒',
  '💘',
  '🙉',
  '🦄',
  '😘',
  '💊',
  '🙊',
  '😎',
  '👾',
  '🤷‍♂',
  '🤷',
  '🤷‍♀',
  '😡',
] as const satisfies readonly TelegramEmoji[];

// Fails to compile when typegram gains an emoji this list lacks.
const _complete: [Exclude<TelegramEmoji, (typeof REACTION_EMOJI)[number]>] extends [never] ? true : never = true;

const ALLOWED = new Set<string>(REACTION_EMOJI);

/**
 * Telegram's list has no variation selectors ("❤", not "❤️"); whether the server strips U+FE0F
 * before checking is not documented, so the emulator forgives it rather than fail a real bot.
 */
function isAllowedEmoji(emoji: string): boolean {
  return ALLOWED.has(emoji.replace(/\uFE0F/g, ''));
}

/** Checks a setMessageReaction list the way Telegram does for a bot: at most one, from the list. */
export function parseReactions(value: unknown): ReactionType[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest("can't parse reaction types JSON object");
  const reactions: ReactionType[] = [];
  for (const item of value as unknown[]) {
    const reaction = item as Partial<Record<string, unknown>> | null;
    if (reaction?.type === 'emoji' && typeof reaction.emoji === 'string' && isAllowedEmoji(reaction.emoji)) {
      reactions.push({ type: 'emoji', emoji: reaction.emoji as TelegramEmoji });
    } else if (reaction?.type === 'custom_emoji' && typeof reaction.custom_emoji_id === 'string') {
      reactions.push({ type: 'custom_emoji', custom_emoji_id: reaction.custom_emoji_id });
    } else {
      throw badRequest('REACTION_INVALID');
    }
  }
  if (reactions.length > 1) throw badRequest('REACTIONS_TOO_MANY');
  return reactions;
}
