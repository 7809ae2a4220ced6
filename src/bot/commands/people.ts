import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** Who is enrolled, with photo counts. */
export const people: BotCommand = {
  name: 'people',
  description: 'Who is enrolled',
  async run(ctx, _args, { library }) {
    await ctx.defer();
    return ctx.reply(replies.peopleReply(await library.people(ctx.group), ctx.syntax));
  },
};
