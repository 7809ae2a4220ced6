import type { BotCommand } from '../command.ts';
import { actorOf, numberArg, stringArg } from '../command.ts';
import * as replies from '../replies.ts';
import { parseName } from '../text-args.ts';

/** Names a cluster of unknown faces from `/unknown`: enrolls it and files its photos. */
export const name: BotCommand = {
  name: 'name',
  description: 'Name a face that keeps turning up',
  options: [
    { name: 'cluster', description: 'The number from /unknown', type: 'integer', required: true },
    { name: 'name', description: 'Who it is', type: 'string', required: true },
  ],
  parseText: (text) => parseName(text),
  usage: (syntax) => `${syntax.command('name', { cluster: '<number>', name: '<name>' })}, with a number from ${syntax.command('unknown')}`,
  async run(ctx, args, { library }) {
    const cluster = numberArg(args, 'cluster');
    if (cluster === undefined) return ctx.reply(`Use ${name.usage!(ctx.syntax)}.`);
    await ctx.defer();
    const result = await library.nameCluster(ctx.group, cluster, stringArg(args, 'name') ?? '', await actorOf(ctx));
    return ctx.reply(replies.nameClusterReply(result, ctx.syntax));
  },
};
