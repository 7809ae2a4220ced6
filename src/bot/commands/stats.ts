import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** Totals and disk use of the group's library. */
export const stats: BotCommand = {
  name: 'stats',
  description: 'How many photos, faces and people',
  // Counts in SQL now: one at a time in a group is enough.
  cooldownSeconds: 0,
  async run(ctx, _args, { library, queue }) {
    await ctx.defer();
    const [stats, deadLetters] = await Promise.all([library.stats(ctx.group), queue.deadLetters(ctx.group)]);
    return ctx.reply(replies.statsReply(stats, deadLetters));
  },
};
