import type { BotCommand } from '../command.ts';
import { stringArg } from '../command.ts';
import * as replies from '../replies.ts';

/**
 * Deletes a person and everything stored about them; `me` is the caller's own, open to anyone, and
 * keeps the group's photos; `me photos` also deletes the photos the caller posted.
 */
export const forget: BotCommand = {
  name: 'forget',
  description: 'Admins: forget a person. Anyone: "me" forgets you, "me photos" also your posts',
  // Not hidden from members: `me` is theirs to use. Any other name is for admins.
  adminOnly: (args) => !isMe(stringArg(args, 'name')),
  adminHint: (syntax) => `${syntax.command('forget', { name: 'me' })} works for anyone.`,
  options: [{ name: 'name', description: 'Who, or "me", or "me photos"', type: 'string', required: true }],
  parseText: (text) => ({ name: text.trim() }),
  async run(ctx, args, { library, queue }) {
    const name = (stringArg(args, 'name') ?? '').trim();
    const self = isMe(name);
    const photos = /^me\s+photos$/i.test(name);
    if (self && !ctx.caller) return ctx.reply(replies.WHO_ARE_YOU);
    if (!name) return ctx.reply(`Whom? ${ctx.syntax.command('forget', { name: '<name>' })}, or ${ctx.syntax.command('forget', { name: 'me' })}.`);
    const caller = ctx.caller ? { userId: ctx.caller.id, name: ctx.caller.displayName } : {};
    await ctx.defer({ private: self });
    // Photos posted before the forget are filed first, and so forgotten with the rest.
    await queue.settled();
    const who = self && ctx.caller ? { userId: ctx.caller.id } : { name };
    const result = await library.forget(ctx.group, who, { ...caller, admin: !self }, { photos });
    // Photos set aside were never filed, so nobody knows whom they show: a member's forget takes
    // the ones they posted, an admin's every one of the group.
    const postedBy = result.kind === 'forgotten' && result.scope !== 'everything' ? result.userId : undefined;
    const setAside =
      result.kind !== 'forgotten' || (result.scope !== 'everything' && postedBy === undefined) ? 0 : await queue.forgetSetAside(ctx.group, postedBy);
    return ctx.reply(replies.forgetReply(result, setAside));
  },
};

/** "me", or "me photos": the caller forgetting themselves. */
function isMe(name: string | undefined): boolean {
  return /^me(?:\s+photos)?$/i.test((name ?? '').trim());
}
