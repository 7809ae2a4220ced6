import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/** The group's gallery on the member's phone: a Telegram Mini App link, or a Discord link for them alone. */
export const gallery: BotCommand = {
  name: 'gallery',
  description: "The group's photos by person, to browse on your phone",
  async run(ctx) {
    const link = ctx.galleryLink?.();
    if (!link) return ctx.reply(replies.galleryOffReply());
    // A signed link opens the gallery as the member it was made for: nobody else may see it.
    await ctx.defer({ private: link.personal });
    return ctx.reply(replies.galleryReply(link.url, link.personal));
  },
};
