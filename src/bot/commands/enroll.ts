import type { BotCommand } from '../command.ts';
import { flagArg, numberArg, stringArg } from '../command.ts';
import * as replies from '../replies.ts';
import { parseEnroll } from '../text-args.ts';

/** Teaches the bot a face: a new person, another sample of one, or (`me`) the caller's own. */
export const enroll: BotCommand = {
  name: 'enroll',
  description: 'Teach me a face from a photo',
  options: [
    { name: 'name', description: 'Who it is', type: 'string', required: true },
    { name: 'photo', description: 'A photo of them', type: 'photo', required: true },
    { name: 'face', description: 'Which face, when the photo has several', type: 'integer', min: 1 },
    { name: 'me', description: 'It is me: link my account', type: 'boolean' },
  ],
  messageMenu: { label: 'Enroll a face from this photo', title: 'Enroll a face', field: 'name', prompt: 'Whose face is it?' },
  parseText(text) {
    const parsed = parseEnroll(text);
    return { name: parsed.name, me: parsed.me, face: parsed.face };
  },
  async run(ctx, args, { library }) {
    const me = flagArg(args, 'me');
    if (me && !ctx.caller) return ctx.reply(replies.WHO_ARE_YOU);
    const name = me && ctx.caller ? ctx.caller.displayName : (stringArg(args, 'name') ?? '').trim();
    await ctx.defer();
    const photo = await ctx.photo();
    if (photo.kind === 'none') return ctx.reply(`Send ${ctx.syntax.command('enroll', { name: name || '<name>' })} ${ctx.syntax.withPhoto}.`);
    if (photo.kind === 'too-large') return ctx.reply(ctx.syntax.tooLarge(photo.limitBytes));
    const face = numberArg(args, 'face');
    const result = await library.enroll(ctx.group, {
      name,
      photo: { bytes: photo.bytes, postedAt: photo.postedAt, source: photo.source },
      ...(face !== undefined ? { face } : {}),
      ...(me && ctx.caller ? { userId: ctx.caller.id } : {}),
      ...(ctx.caller ? { by: ctx.caller.id, byName: ctx.caller.displayName } : {}),
      // Admins may add samples to a person linked to another member, or a face that looks like
      // someone else's; others may not.
      byAdmin: await ctx.isAdmin(),
    });
    const text = replies.enrollReply(result, { name, me }, ctx.syntax);
    if (result.kind === 'choose-face') return ctx.replyImage(result.sheet, 'faces.png', text);
    return ctx.reply(text);
  },
};
