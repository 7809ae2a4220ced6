import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** Who is enrolled, with photo counts. */
export const people: BotCommand = {
  name: 'people',
  description: 'Who is enrolled',
  async run(ctx, _args, { library }) {
    // Behind walls (Discord channels), the list is the caller's own view: for them alone.
    await ctx.defer({ private: ctx.canSee !== undefined });
    return ctx.reply(replies.peopleReply(await library.people(ctx.group, ctx.canSee), ctx.syntax));
  },
};
