import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** The unknown faces that keep turning up, as a numbered contact sheet. */
export const unknown: BotCommand = {
  name: 'unknown',
  description: 'Faces that keep turning up',
  cooldownSeconds: 30,
  async run(ctx, _args, { library }) {
    // Behind walls (Discord channels), the sheet is the caller's own view: for them alone.
    await ctx.defer({ private: ctx.canSee !== undefined });
    const result = await library.unknownClusters(ctx.group, ctx.canSee);
    const text = replies.unknownReply(result, ctx.syntax);
    return result.sheet ? ctx.replyImage(result.sheet, 'faces.png', text) : ctx.reply(text);
  },
};
