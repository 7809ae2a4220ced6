import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { POSTS } from './datasets.ts';

/** A photo message of a generated export: which post, and when and by whom it was sent. */
export interface ExportedPost {
  readonly post: string;
  readonly message: number;
  readonly date: Date;
  readonly fromId: number;
  /** Sent "without compression": a `file` with its MIME type, not a `photo`. */
  readonly asFile: boolean;
  /** Its path inside the export. */
  readonly file: string;
}

export interface GeneratedExport {
  readonly folder: string;
  readonly posts: readonly ExportedPost[];
  /** Messages whose photo Telegram Desktop left out, by message id. */
  readonly missing: readonly number[];
  /** The sticker's file: it must never be filed. */
  readonly sticker: string;
}

const NOT_INCLUDED = '(File not included. Change data exporting settings to download.)';
const TOO_BIG = '(File exceeds maximum size. Change data exporting settings to download.)';

/** Telegram Desktop's `date`: the exporting computer's local time, without a zone. */
function localDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

function photoName(message: number, date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `photo_${message}@${two(date.getDate())}-${two(date.getMonth() + 1)}-${date.getFullYear()}_${two(date.getHours())}-${two(date.getMinutes())}-${two(date.getSeconds())}.jpg`;
}

/**
 * Writes a chat export as Telegram Desktop does (Settings, Advanced, Export chat history, JSON):
 * `result.json` with service messages, text messages (plain and with entities), a sticker, the
 * posts as photos (PNGs and every fifth one as an image sent as a file), and two photos left out.
 */
export async function writeTelegramExport(
  folder: string,
  posts: readonly string[],
  chat: { readonly id: number; readonly type: string },
): Promise<GeneratedExport> {
  await mkdir(path.join(folder, 'photos'), { recursive: true });
  await mkdir(path.join(folder, 'files'), { recursive: true });
  await mkdir(path.join(folder, 'stickers'), { recursive: true });
  const start = Date.UTC(2021, 4, 3, 9, 15, 0);
  let id = 1;
  const at = (n: number) => new Date(start + n * 3_600_000 + n * 7_000);
  const common = (n: number) => ({ id: id++, date: localDate(at(n)), date_unixtime: String(Math.floor(at(n).getTime() / 1000)) });
  const messages: Record<string, unknown>[] = [
    {
      ...common(0),
      type: 'service',
      actor: 'Anna',
      actor_id: 'user1000',
      action: 'create_group',
      title: 'Old friends',
      members: ['Anna', 'Ben'],
      text: '',
      text_entities: [],
    },
    { ...common(0), type: 'message', from: 'Anna', from_id: 'user1000', text: 'welcome!', text_entities: [{ type: 'plain', text: 'welcome!' }] },
  ];
  const exported: ExportedPost[] = [];
  posts.forEach((post, i) => {
    const n = i + 1;
    const base = common(n);
    const fromId = 1000 + (i % 3);
    const from = { from: ['Anna', 'Ben', 'Chris'][i % 3], from_id: `user${fromId}` };
    const asFile = post.endsWith('.png') || i % 5 === 4;
    if (asFile) {
      const file = `files/${post}`;
      messages.push({
        ...base,
        type: 'message',
        ...from,
        file,
        file_name: post,
        file_size: 1,
        mime_type: post.endsWith('.png') ? 'image/png' : 'image/jpeg',
        text: '',
      });
      exported.push({ post, message: base.id, date: at(n), fromId, asFile, file });
    } else {
      const photo = `photos/${photoName(base.id, at(n))}`;
      messages.push({ ...base, type: 'message', ...from, photo, photo_file_size: 1, width: 1280, height: 960, text: i % 4 === 0 ? 'look at this' : '' });
      exported.push({ post, message: base.id, date: at(n), fromId, asFile, file: photo });
    }
    if (i % 7 === 3)
      messages.push({ ...common(n), type: 'message', from: 'Ben', from_id: 'user1001', text: ['ha, ', { type: 'bold', text: 'great' }], text_entities: [] });
  });
  const missing: number[] = [];
  const left = common(posts.length + 1);
  messages.push({ ...left, type: 'message', from: 'Ben', from_id: 'user1001', photo: NOT_INCLUDED, width: 1280, height: 720, text: '' });
  missing.push(left.id);
  const tooBig = common(posts.length + 2);
  messages.push({
    ...tooBig,
    type: 'message',
    from: 'Chris',
    from_id: 'user1002',
    file: TOO_BIG,
    file_name: 'IMG_2041.JPG',
    mime_type: 'image/jpeg',
    text: '',
  });
  missing.push(tooBig.id);
  const sticker = 'stickers/sticker.webp';
  messages.push({
    ...common(posts.length + 3),
    type: 'message',
    from: 'Anna',
    from_id: 'user1000',
    file: sticker,
    file_name: 'sticker.webp',
    thumbnail: 'stickers/sticker.webp_thumb.jpg',
    media_type: 'sticker',
    sticker_emoji: '😀',
    mime_type: 'image/webp',
    width: 512,
    height: 512,
    text: '',
  });
  messages.push({ ...common(posts.length + 4), type: 'service', actor: 'Anna', actor_id: 'user1000', action: 'pin_message', message_id: 2, text: '' });
  for (const post of exported) await copyFile(path.join(POSTS, post.post), path.join(folder, post.file));
  // A sticker of a face: filed, it would put someone in an album.
  await sharp(path.join(POSTS, 'obama1.jpg')).resize(512, 512).webp().toFile(path.join(folder, sticker));
  await writeFile(path.join(folder, 'result.json'), JSON.stringify({ name: 'Old friends', type: chat.type, id: chat.id, messages }, null, 1));
  return { folder, posts: exported, missing, sticker: path.join(folder, sticker) };
}
