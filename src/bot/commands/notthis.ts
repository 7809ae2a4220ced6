import type { BotCommand } from '../command.ts';
import { actorOf, stringArg } from '../command.ts';
import * as replies from '../replies.ts';

/** Takes a photo out of a person's album for good: it is never filed under them again. */
export const notThis: BotCommand = {
  name: 'notthis',
  description: 'Take a photo out of the wrong person’s album',
  options: [{ name: 'name', description: 'Who is not in this photo', type: 'string', required: true }],
  messageMenu: { label: 'Not this person', title: 'Not this person', field: 'name', prompt: 'Who is not in this photo?', only: true },
  parseText: (text) => ({ name: text.trim() }),
  async run(ctx, args, { library }) {
    const who = (stringArg(args, 'name') ?? '').trim();
    await ctx.defer();
    const photo = await ctx.photo();
    if (photo.kind === 'none') return ctx.reply(`Use ${ctx.syntax.notThis}.`);
    if (photo.kind === 'too-large') return ctx.reply(ctx.syntax.tooLarge(photo.limitBytes));
    return ctx.reply(replies.notThisReply(await library.notThis(ctx.group, who, { bytes: photo.bytes }, await actorOf(ctx))));
  },
};
