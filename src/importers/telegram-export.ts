import { z } from 'zod';
import { groupId, InputError, memberId, type GroupId } from '../core/index.ts';
import type { ExportFiles } from './export-files.ts';
import type { ImportItem } from './import-photos.ts';

/** The file Telegram Desktop writes at the top of a chat's export (Export chat history, JSON). */
export const TELEGRAM_RESULT_FILE = 'result.json';

/**
 * The part of `result.json` the import reads. Telegram Desktop adds fields from release to release,
 * so others are let through; these must be there, or the file is not a chat export.
 */
const exportedMessage = z
  .object({
    id: z.number().int(),
    type: z.string(),
    date: z.string(),
    date_unixtime: z.string().regex(/^\d+$/).optional(),
    from: z.string().nullable().optional(),
    from_id: z.string().optional(),
    photo: z.string().optional(),
    file: z.string().optional(),
    file_name: z.string().optional(),
    mime_type: z.string().optional(),
    media_type: z.string().optional(),
  })
  .refine((m) => m.date_unixtime !== undefined || !Number.isNaN(new Date(m.date).getTime()), { message: 'a message without a usable date', path: ['date'] });

const chatExport = z.object({
  name: z.string().nullable().optional(),
  type: z.string(),
  id: z.number().int().positive(),
  messages: z.array(exportedMessage),
});

/** Chats whose ids the Bot API gives the `-100` prefix. */
const SUPERGROUPS = new Set(['private_supergroup', 'public_supergroup', 'private_channel', 'public_channel']);
/** A basic group: the Bot API's id is the export's, negative. */
const BASIC_GROUPS = new Set(['private_group']);

/** A photo message whose file the export does not hold, with why. */
export interface MissingPhoto {
  readonly message: number;
  readonly date: string;
  readonly file: string;
  readonly why: string;
}

/** What a Telegram Desktop export of one group holds, as the import uses it. */
export interface TelegramExport {
  readonly name: string;
  readonly chatType: string;
  /** The bot's group for this chat: the export's id as the Bot API gives it. */
  readonly group: GroupId;
  readonly messages: number;
  /** The photos and images sent as files, in message order. */
  readonly photos: readonly TelegramPhoto[];
  /** Photo messages whose files are not in the export (size limits when exporting, a file deleted since). */
  readonly missing: readonly MissingPhoto[];
  /** Stickers, videos, voice messages and other files: not photos of people, not imported. */
  readonly otherMedia: number;
}

export interface TelegramPhoto {
  readonly message: number;
  /** The file's path inside the export. */
  readonly file: string;
  readonly postedAt: Date;
  /** The poster's member id (`tg:<user id>`), when the export names a user. */
  readonly postedBy?: string;
}

/**
 * Reads and checks an export's `result.json`: a truncated file, another shape (an export of every
 * chat, another program's JSON) or a private chat's export is refused in one line.
 */
export function parseTelegramExport(text: string, where: string): TelegramExport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(where, `not complete JSON (cut short while copying or downloading?): ${(error as Error).message}`, { cause: error });
  }
  if (json && typeof json === 'object' && 'chats' in json && !('messages' in json)) {
    throw new InputError(where, "an export of every chat: export the one group's history instead (the group's menu, Export chat history, format JSON)");
  }
  const parsed = chatExport.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` (${issue.path.join('.')}: ${issue.message})` : '';
    throw new InputError(where, `not a Telegram Desktop chat export${at}`);
  }
  const chat = parsed.data;
  const group = groupOfChat(chat.type, chat.id);
  if (!group) {
    throw new InputError(where, `an export of a ${chat.type.replaceAll('_', ' ')}, not of a group or channel: only a group's photos are filed`);
  }
  const photos: TelegramPhoto[] = [];
  const missing: MissingPhoto[] = [];
  let otherMedia = 0;
  for (const message of chat.messages) {
    if (message.type !== 'message') continue;
    const file = message.photo ?? (isImageFile(message) ? message.file : undefined);
    if (file === undefined) {
      if (message.file !== undefined) otherMedia++;
      continue;
    }
    // Telegram Desktop writes a sentence in brackets where it left a file out.
    if (file.startsWith('(')) {
      missing.push({ message: message.id, date: message.date, file: message.file_name ?? 'photo', why: file.replace(/^\(|\)$/g, '') });
      continue;
    }
    const user = /^user(\d+)$/.exec(message.from_id ?? '');
    photos.push({
      message: message.id,
      file,
      postedAt: dateOf(message),
      ...(user ? { postedBy: memberId('telegram', user[1]!) } : {}),
    });
  }
  return { name: chat.name ?? `chat ${chat.id}`, chatType: chat.type, group, messages: chat.messages.length, photos, missing, otherMedia };
}

/** The photos of an export as import items, each read from the export's files when its turn comes. */
export function telegramItems(exported: TelegramExport, files: ExportFiles): ImportItem[] {
  const chat = /^tg:(-?\d+)$/.exec(exported.group)?.[1] ?? exported.group;
  return exported.photos.map((photo) => ({
    name: photo.file,
    postedAt: photo.postedAt,
    ...(photo.postedBy ? { postedBy: photo.postedBy } : {}),
    source: { importedFrom: 'telegram-export', chat, message: String(photo.message) },
    read: (maxBytes: number) => files.read(photo.file, maxBytes),
    locate: () => files.locate(photo.file),
  }));
}

/**
 * The Bot API's id of an exported chat. A supergroup's or channel's is -(10^12 + id), which for
 * the 10-digit ids Telegram hands out reads as the export's id behind `-100`.
 */
function groupOfChat(type: string, id: number): GroupId | undefined {
  if (SUPERGROUPS.has(type)) return groupId({ platform: 'telegram', chatId: -(1_000_000_000_000 + id) });
  if (BASIC_GROUPS.has(type)) return groupId({ platform: 'telegram', chatId: -id });
  return undefined;
}

/** An image sent as a file ("send without compression"); stickers are images too, but nobody's photo. */
function isImageFile(message: z.infer<typeof exportedMessage>): boolean {
  return message.file !== undefined && (message.mime_type?.startsWith('image/') ?? false) && message.media_type !== 'sticker';
}

/**
 * `date_unixtime` is the moment; `date` (older exports have only it) is the exporting computer's
 * local time without a zone, read as this computer's local time.
 */
function dateOf(message: z.infer<typeof exportedMessage>): Date {
  return message.date_unixtime !== undefined ? new Date(Number(message.date_unixtime) * 1000) : new Date(message.date);
}
