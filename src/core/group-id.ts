/**
 * A group's library key: every stored record and file of a group lives under it, and nothing
 * crosses groups. The library treats it as opaque; it is made and read only here, from the
 * platform's own ids (`GroupRef`):
 * - `tg:<chat id>`: a Telegram group, supergroup, channel or private chat (the Bot API's id,
 *   negative for groups, `-100…` for supergroups and channels);
 * - `dc:<server id>`: a Discord server, or `dc:<server id>:<channel id>` when each channel is a
 *   library of its own (`DISCORD_LIBRARY_SCOPE=channel`).
 */
export type GroupId = string;

/** The platforms a group or a member can be on, as they are named in photo jobs and logs. */
export type Platform = 'telegram' | 'discord';

/** Where a group is, in its platform's own ids. */
export type GroupRef =
  { readonly platform: 'telegram'; readonly chatId: number } | { readonly platform: 'discord'; readonly guildId: string; readonly channelId?: string };

const PREFIX: Readonly<Record<Platform, string>> = { telegram: 'tg', discord: 'dc' };

/** The library key of a group. */
export function groupId(ref: GroupRef): GroupId {
  return ref.platform === 'telegram' ? `tg:${ref.chatId}` : `dc:${ref.guildId}${ref.channelId ? `:${ref.channelId}` : ''}`;
}

/** The platform's ids of a group key, or undefined for a key that no platform made. */
export function parseGroupId(id: GroupId): GroupRef | undefined {
  const telegram = /^tg:(-?\d{1,20})$/.exec(id);
  if (telegram) {
    const chatId = Number(telegram[1]);
    return Number.isSafeInteger(chatId) ? { platform: 'telegram', chatId } : undefined;
  }
  const discord = /^dc:(\d{1,20})(?::(\d{1,20}))?$/.exec(id);
  if (!discord) return undefined;
  return discord[2] ? { platform: 'discord', guildId: discord[1]!, channelId: discord[2] } : { platform: 'discord', guildId: discord[1]! };
}

/** Whether a group key is one of that platform's. */
export function isGroupOf(id: GroupId, platform: Platform): boolean {
  return parseGroupId(id)?.platform === platform;
}

/**
 * A member's id across platforms (`tg:<user id>`, `dc:<user id>`): identity comes from here,
 * never from a display name.
 */
export function memberId(platform: Platform, userId: number | string): string {
  return `${PREFIX[platform]}:${userId}`;
}
