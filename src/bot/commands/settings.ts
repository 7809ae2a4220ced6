import type { BotCommand } from '../command.ts';
import { actorOf, stringArg } from '../command.ts';

/** How the bot answers posted photos: quietly (a 👍) or with a one-line summary. */
export const settings: BotCommand = {
  name: 'settings',
  description: 'Admins: quiet or summary replies to photos',
  adminOnly: true,
  options: [{ name: 'mode', description: 'How I answer photos', type: 'string', choices: ['quiet', 'summary'] }],
  parseText: (text) => ({
    mode: text
      .trim()
      .toLowerCase()
      .replace(/^replies\s+/, ''),
  }),
  async run(ctx, args, { library }) {
    await ctx.defer();
    const mode = stringArg(args, 'mode');
    if (mode === 'quiet' || mode === 'summary') {
      await library.setReplyMode(ctx.group, mode, await actorOf(ctx));
      return ctx.reply(mode === 'quiet' ? 'I will stay quiet about photos (a 👍 when I file one).' : 'I will reply to each photo with who I filed it under.');
    }
    const current = await library.settings(ctx.group);
    const change = `${ctx.syntax.command('settings', { mode: 'quiet' })} or ${ctx.syntax.command('settings', { mode: 'summary' })}`;
    return ctx.reply(`Replies to photos: ${current.replyMode}. Threshold: ${current.threshold.toFixed(3)}.\nChange with ${change}.`);
  },
};
