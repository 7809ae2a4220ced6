import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** The unknown faces that keep turning up, as a numbered contact sheet. */
export const unknown: BotCommand = {
  name: 'unknown',
  description: 'Faces that keep turning up',
  async run(ctx, _args, { library }) {
    await ctx.defer();
    const result = await library.unknownClusters(ctx.group);
    const text = replies.unknownReply(result, ctx.syntax);
    return result.sheet ? ctx.replyImage(result.sheet, 'faces.png', text) : ctx.reply(text);
  },
};
