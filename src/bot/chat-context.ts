import type { GroupId } from '../core/index.ts';

/** Someone who wrote to the bot, as the platform identifies them. */
export interface ChatUser {
  /** Stable and platform-prefixed (`tg:42`, `dc:42`): identity comes from here, never from a name. */
  readonly id: string;
  /** What the platform shows as their name: for wording only. */
  readonly displayName: string;
}

/** A photo fetched for a command, or why it could not be. */
export type FetchedPhoto =
  | {
      readonly kind: 'photo';
      readonly bytes: Uint8Array;
      readonly postedAt: Date;
      /** The platform's ids of the message and file, kept with the record. */
      readonly source: Readonly<Record<string, string>>;
      readonly fileName?: string;
    }
  | { readonly kind: 'none' }
  | { readonly kind: 'too-large'; readonly limitBytes: number };

/** A photo attached to a posted message, not yet downloaded. */
export interface PostedPhoto {
  readonly fileName?: string;
  /** The platform's id of the file, for the record. */
  readonly fileId: string;
  /** The bytes, or undefined when they exceed the platform's download limit. */
  download(): Promise<Uint8Array | undefined>;
}

/** A file the bot sends back, read from disk while it is sent. */
export interface OutgoingFile {
  readonly path: string;
  readonly name: string;
  readonly caption: string;
}

/** A photo the bot sends back as a photo, read from disk while it is sent. */
export interface OutgoingPhoto {
  readonly path: string;
  readonly name: string;
  readonly bytes: number;
}

/** The most photos one message may carry: a Telegram media group, a Discord message's attachments. */
export const PHOTOS_PER_MESSAGE = 10;

/**
 * How commands are written where the user reads them: the one thing about wording that differs
 * between platforms (`/enroll Anna` in a caption on Telegram, `/enroll name:Anna photo:` on
 * Discord). Replies are composed from these, so every platform gets instructions it can follow.
 */
export interface Syntax {
  /** A command with example arguments, as typed here: `/name 3 Anna` or `/name cluster:3 name:Anna`. */
  readonly command: (name: string, args?: Readonly<Record<string, string>>) => string;
  /** How a command is given a new photo here, e.g. "as the caption of a photo, or as a reply to one". */
  readonly withPhoto: string;
  /** How a user points at a photo already in the chat, e.g. "as a reply to the photo". */
  readonly onPostedPhoto: string;
  /** How a member enrolls their own face, linked to their account: `/enroll me`. */
  readonly enrollMe: string;
  /** How a photo is taken out of the wrong person's album: a command as a reply, or a menu. */
  readonly notThis: string;
  /** What the platform requires for the bot to see photos, for `/help`. */
  readonly seeing: string;
  /** Why a photo over the platform's download limit is not filed, and what to do instead. */
  readonly tooLarge: (limitBytes: number, fileName?: string) => string;
}

/**
 * What an adapter gives the bot layer for one update: where it happened, who sent it, and how to
 * answer. The bot layer never sees a telegraf or discord.js type. Every method that sends settles
 * once the platform took the message; pacing and rate limits are the adapter's business.
 */
export interface ChatContext {
  readonly group: GroupId;
  /** Undefined where the platform does not say (a channel post). */
  readonly caller: ChatUser | undefined;
  readonly syntax: Syntax;
  /** Creator, administrator or Manage Server, as the platform tells it now. */
  isAdmin(): Promise<boolean>;
  /** The photo a command is about: attached to it, chosen in its options, or replied to. */
  photo(): Promise<FetchedPhoto>;
  /**
   * Acknowledges a command that will take a while (Discord needs this within 3 s). `private`
   * makes the answers visible to the caller only where the platform can; `upload` says files are
   * being prepared.
   */
  defer(options?: { readonly private?: boolean; readonly upload?: boolean }): Promise<void>;
  reply(text: string): Promise<void>;
  replyImage(png: Uint8Array, fileName: string, caption: string): Promise<void>;
  /** Sends files one at a time, each with its caption, after the replies before it. */
  sendFiles(files: AsyncIterable<OutgoingFile> | Iterable<OutgoingFile>): Promise<void>;
  /**
   * Sends photos together as one message, the platform's own album (a Telegram media group, a
   * Discord message with several attachments), in answer to the command: 1 to `PHOTOS_PER_MESSAGE`
   * of them, together under `uploadLimitBytes`. Photos, not files, where the platform can show
   * them as such.
   */
  sendPhotos(photos: readonly OutgoingPhoto[]): Promise<void>;
  /** The most bytes one sent file may have here. */
  readonly uploadLimitBytes: number;
  /**
   * Where one group spans places with walls of their own (Discord channels under one server), whether
   * the caller may see photos posted at a source; undefined where everyone in the group sees all.
   */
  readonly canSee?: (source: Readonly<Record<string, string>>) => Promise<boolean>;
  /**
   * The address of the group's gallery for the caller, where it is set up: `personal` when it is
   * theirs alone (a signed link), which is then answered to them only.
   */
  readonly galleryLink?: () => { readonly url: string; readonly personal: boolean };
}

/** How the bot answers a photo after the queue filed it, in the message that posted it. */
export interface PostAnswer {
  reply(text: string): Promise<void>;
  /** The quiet acknowledgement (a 👍 reaction). */
  react(): Promise<void>;
}
