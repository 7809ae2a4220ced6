import type { BotCommand } from '../command.ts';
import { stringArg } from '../command.ts';
import * as replies from '../replies.ts';

/** Deletes a person and everything stored about them; `me` is the caller's own, open to anyone. */
export const forget: BotCommand = {
  name: 'forget',
  description: 'Admins: forget a person. Anyone: name "me" forgets you',
  // Not hidden from members: `me` is theirs to use. Any other name is for admins.
  adminOnly: (args) => !isMe(stringArg(args, 'name')),
  adminHint: (syntax) => `${syntax.command('forget', { name: 'me' })} works for anyone.`,
  options: [{ name: 'name', description: 'Who, or "me"', type: 'string', required: true }],
  parseText: (text) => ({ name: text.trim() }),
  async run(ctx, args, { library, queue }) {
    const name = (stringArg(args, 'name') ?? '').trim();
    const self = isMe(name);
    if (self && !ctx.caller) return ctx.reply(replies.WHO_ARE_YOU);
    if (!name) return ctx.reply(`Whom? ${ctx.syntax.command('forget', { name: '<name>' })}, or ${ctx.syntax.command('forget', { name: 'me' })}.`);
    const caller = ctx.caller ? { userId: ctx.caller.id, name: ctx.caller.displayName } : {};
    await ctx.defer({ private: self });
    // Photos posted before the forget are filed first, and so forgotten with the rest.
    await queue.settled();
    const who = self && ctx.caller ? { userId: ctx.caller.id } : { name };
    return ctx.reply(replies.forgetReply(await library.forget(ctx.group, who, { ...caller, admin: !self })));
  },
};

function isMe(name: string | undefined): boolean {
  return (name ?? '').trim().toLowerCase() === 'me';
}
