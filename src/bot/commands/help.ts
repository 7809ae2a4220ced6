import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** What the bot does and stores, in this platform's syntax. Telegram's `/start` lands here too. */
export const help: BotCommand = {
  name: 'help',
  description: 'What I do and what I store',
  run: (ctx, _args, { eraseAfterDays }) => ctx.reply(replies.helpText(ctx.syntax, eraseAfterDays)),
};
