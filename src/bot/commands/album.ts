import type { AlbumEntry, ZipPart } from '../../core/index.ts';
import type { AlbumResult } from '../../core/library/index.ts';
import { MAX_ALBUM_PHOTOS, albumRequestOf, parseAlbumText } from '../album-args.ts';
import { PHOTOS_PER_MESSAGE, type ChatContext, type OutgoingFile, type OutgoingPhoto } from '../chat-context.ts';
import type { BotCommand } from '../command.ts';
import * as replies from '../replies.ts';

/**
 * An album as zip files each under the platform's upload limit: a person's, or the photos showing
 * several people (`Anna + Ben`), posted in a period (`2024`); small ones as photos when asked
 * (`photos`). The grammar is `album-args.ts`.
 */
export const album: BotCommand = {
  name: 'album',
  description: "Someone's photos as zip files; with others, in a period",
  // One export at a time in a group: a big album never holds every export place of the process.
  cooldownSeconds: 0,
  options: [
    { name: 'name', description: 'Whose album (several: Anna + Ben)', type: 'string', required: true },
    { name: 'with', description: 'Only photos that show them too (Ben, or Ben + Cleo)', type: 'string' },
    { name: 'period', description: 'Posted in: 2024, 2024-05, 2023..2024, from 2024-01 to 2024-06', type: 'string' },
    { name: 'photos', description: `As photos, not zips (up to ${MAX_ALBUM_PHOTOS})`, type: 'boolean' },
  ],
  parseText: parseAlbumText,
  async run(ctx, args, { library }) {
    const parsed = albumRequestOf(args);
    if (!parsed.ok) return ctx.reply(replies.albumUsageReply(parsed.error, ctx.syntax));
    // Behind walls, an album is the caller's own view of the group: it goes to them alone.
    await ctx.defer({ upload: true, private: ctx.canSee !== undefined });
    const limit = ctx.uploadLimitBytes;
    if (parsed.photos) {
      const listed = await library.album(ctx.group, parsed.request, undefined, ctx.canSee);
      if (listed.kind !== 'album-photos') return answerNone(ctx, listed);
      if (listed.entries.length <= MAX_ALBUM_PHOTOS) return sendPhotos(ctx, listed);
      await ctx.reply(replies.albumTooManyPhotosReply(listed.title, listed.entries.length));
    }
    const result = await library.album(ctx.group, parsed.request, limit, ctx.canSee);
    if (result.kind !== 'album') return answerNone(ctx, result);
    const zips = result.export;
    try {
      await ctx.reply(`${result.title}: ${zips.plannedParts} zip ${zips.plannedParts === 1 ? 'file' : 'files'}.`);
      // Each part is built when the platform is ready for it, and deleted once it has been sent.
      await ctx.sendFiles(outgoing(zips.parts));
      if (zips.tooLarge.length > 0)
        await ctx.reply(
          replies.albumTooLargeReply(
            zips.tooLarge.map((e) => e.name),
            limit,
          ),
        );
      if (result.hidden) await ctx.reply(replies.albumHiddenReply(result.title, result.hidden));
    } finally {
      await zips.dispose();
    }
  },
};

/** The answers with nothing to send: an unknown name, or no photos (some, perhaps, behind walls). */
async function answerNone(ctx: ChatContext, result: AlbumResult): Promise<void> {
  // Not asked for here (a list where zips were, or zips where a list was): nothing to answer.
  if (result.kind === 'album') return result.export.dispose();
  if (result.kind === 'album-photos') return;
  if (result.kind === 'unknown-person') return ctx.reply(replies.unknownPeopleReply(result.people, result.name));
  if (result.hidden) return ctx.reply(replies.albumHiddenReply(result.title, result.hidden));
  // One person's whole album, or what was asked of several and a period.
  return ctx.reply(
    result.people.length === 1 && result.title === result.person.name ? replies.albumEmptyReply(result.title) : replies.albumNoneReply(result.title),
  );
}

/** A small album as photos: messages of up to ten, each message under the upload limit. */
async function sendPhotos(ctx: ChatContext, listed: Extract<AlbumResult, { kind: 'album-photos' }>): Promise<void> {
  const limit = ctx.uploadLimitBytes;
  const tooLarge = listed.entries.filter((e) => e.bytes > limit);
  const batches: OutgoingPhoto[][] = [];
  let batch: OutgoingPhoto[] = [];
  let bytes = 0;
  for (const entry of listed.entries.filter((e) => e.bytes <= limit)) {
    if (batch.length === PHOTOS_PER_MESSAGE || bytes + entry.bytes > limit) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(photoOf(entry));
    bytes += entry.bytes;
  }
  if (batch.length > 0) batches.push(batch);
  await ctx.reply(`${listed.title}: ${listed.entries.length - tooLarge.length === 1 ? '1 photo' : `${listed.entries.length - tooLarge.length} photos`}.`);
  for (const photos of batches) await ctx.sendPhotos(photos);
  if (tooLarge.length > 0)
    await ctx.reply(
      replies.albumTooLargeReply(
        tooLarge.map((e) => e.name),
        limit,
      ),
    );
  if (listed.hidden) await ctx.reply(replies.albumHiddenReply(listed.title, listed.hidden));
}

function photoOf(entry: AlbumEntry): OutgoingPhoto {
  return { path: entry.path, name: entry.name, bytes: entry.bytes };
}

async function* outgoing(parts: AsyncIterable<ZipPart>): AsyncGenerator<OutgoingFile> {
  for await (const part of parts) yield { path: part.path, name: part.fileName, caption: `${part.photos} photos` };
}
