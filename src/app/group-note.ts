import type { Config } from '../config.ts';
import { parseGroupId, type GroupId } from '../core/index.ts';
import { sendTelegramNote } from '../adapters/index.ts';

/**
 * Tells a group one short thing from outside the bot (an import run from the command line has
 * ended), through the configured bot's account. False when it cannot: the group is not a Telegram
 * chat, or no Telegram token is set (a Discord import tells its channel itself).
 */
export async function noteToGroup(config: Config, group: GroupId, text: string): Promise<boolean> {
  const ref = parseGroupId(group);
  if (ref?.platform !== 'telegram' || !config.telegram) return false;
  const { token, apiRoot } = config.telegram;
  await sendTelegramNote({ token, ...(apiRoot ? { apiRoot } : {}) }, ref.chatId, text);
  return true;
}
