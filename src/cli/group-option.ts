import { InputError, parseGroupId, type GroupId } from '../core/index.ts';

/** The group named by `--group`, checked: a one-line refusal (exit 2) for anything no platform makes. */
export function groupOption(text: string): GroupId {
  const id: GroupId = text.trim();
  if (!parseGroupId(id)) {
    throw new InputError(
      '--group',
      'not a group id: tg:<chat id> for Telegram (e.g. tg:-1001234567890), dc:<server id> or dc:<server id>:<channel id> for Discord',
    );
  }
  return id;
}
