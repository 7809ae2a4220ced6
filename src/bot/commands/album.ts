import type { ZipPart } from '../../core/index.ts';
import type { OutgoingFile } from '../chat-context.ts';
import type { BotCommand } from '../command.ts';
import { stringArg } from '../command.ts';
import * as replies from '../replies.ts';

/** A person's album, as zip files each under the platform's upload limit. */
export const album: BotCommand = {
  name: 'album',
  description: "Someone's photos as zip files",
  options: [{ name: 'name', description: 'Whose album', type: 'string', required: true }],
  parseText: (text) => ({ name: text.trim() }),
  async run(ctx, args, { library }) {
    const name = (stringArg(args, 'name') ?? '').trim();
    if (!name) return ctx.reply(`Whose album? ${ctx.syntax.command('album', { name: '<name>' })}`);
    // Behind walls, an album is the caller's own view of the group: it goes to them alone.
    await ctx.defer({ upload: true, private: ctx.canSee !== undefined });
    const limit = ctx.uploadLimitBytes;
    const result = await library.album(ctx.group, name, limit, ctx.canSee);
    switch (result.kind) {
      case 'unknown-person':
        return ctx.reply(replies.unknownPeopleReply(result.people));
      case 'empty':
        return ctx.reply(result.hidden ? replies.albumHiddenReply(result.person.name, result.hidden) : replies.albumEmptyReply(result.person.name));
      case 'album-photos':
        return ctx.reply(replies.albumEmptyReply(name));
      case 'album': {
        const zips = result.export;
        try {
          await ctx.reply(`${result.person.name}: ${zips.plannedParts} zip ${zips.plannedParts === 1 ? 'file' : 'files'}.`);
          // Each part is built when the platform is ready for it, and deleted once it has been sent.
          await ctx.sendFiles(outgoing(zips.parts));
          if (zips.tooLarge.length > 0)
            await ctx.reply(
              replies.albumTooLargeReply(
                zips.tooLarge.map((e) => e.name),
                limit,
              ),
            );
          if (result.hidden) await ctx.reply(replies.albumHiddenReply(result.person.name, result.hidden));
        } finally {
          await zips.dispose();
        }
      }
    }
  },
};

async function* outgoing(parts: AsyncIterable<ZipPart>): AsyncGenerator<OutgoingFile> {
  for await (const part of parts) yield { path: part.path, name: part.fileName, caption: `${part.photos} photos` };
}
