import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** For admins: the group's last changes, who made them and when. */
export const audit: BotCommand = {
  name: 'audit',
  description: 'Admins: who changed what, and when',
  adminOnly: true,
  async run(ctx, _args, { library }) {
    await ctx.defer({ private: true });
    return ctx.reply(replies.auditReply(await library.auditLog(ctx.group, 30)));
  },
};
