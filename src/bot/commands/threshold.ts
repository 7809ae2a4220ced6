import type { BotCommand } from '../command.ts';
import { actorOf, flagArg, numberArg } from '../command.ts';
import * as replies from '../replies.ts';
import { parseThreshold } from '../text-args.ts';

/** Shows or sets how similar a face must be to be named, or plots how the group's faces match. */
export const threshold: BotCommand = {
  name: 'threshold',
  description: 'Admins: show or set the match threshold',
  adminOnly: true,
  cooldownSeconds: (args) => (flagArg(args, 'report') ? 30 : undefined),
  options: [
    { name: 'value', description: 'The new threshold', type: 'number' },
    { name: 'report', description: 'Plot how people match', type: 'boolean' },
  ],
  parseText(text) {
    const parsed = parseThreshold(text);
    switch (parsed.kind) {
      case 'show':
        return {};
      case 'set':
        return { value: parsed.value };
      case 'report':
        return { report: true, value: parsed.proposed };
      case 'invalid':
        return undefined;
    }
  },
  usage: (syntax) =>
    `${syntax.command('threshold')}, ${syntax.command('threshold', { value: '<value>' })} or ${syntax.command('threshold', { report: 'report', value: '[value]' })}`,
  async run(ctx, args, { library }) {
    await ctx.defer();
    const value = numberArg(args, 'value');
    if (flagArg(args, 'report')) {
      const report = await library.thresholdReport(ctx.group, value);
      return ctx.replyImage(report.plot, 'threshold.png', replies.thresholdReportCaption(report));
    }
    if (value === undefined) return ctx.reply(replies.thresholdReply((await library.settings(ctx.group)).threshold));
    return ctx.reply(replies.setThresholdReply(await library.setThreshold(ctx.group, value, await actorOf(ctx))));
  },
};
