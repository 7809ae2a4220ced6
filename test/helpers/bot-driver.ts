/**
 * One way to drive `facefile bot` on any chat platform, so that its behaviour is specified once
 * (test/integration/bot-behaviour.test.ts) and run against every adapter through its emulator.
 * A driver hides how a platform spells things (a caption `/enroll Anna` on Telegram, a slash
 * command `/enroll name:Anna photo:…` on Discord) and how it answers (replies, documents,
 * interaction follow-ups); the suite only sees who did what, and the answer's text and files.
 */

export type Platform = 'telegram' | 'discord';

/** The two people in every group: its owner (an admin) and an ordinary member. */
export type Who = 'admin' | 'member';

/** One library on the platform: a Telegram group chat, a Discord server. */
export interface Group {
  readonly id: string;
  readonly title: string;
}

/** A photo as a user sends it. */
export interface PhotoFile {
  readonly name: string;
  readonly bytes: Buffer;
}

/** Where one posted photo ended up: on Discord several photos share one message. */
export interface Post {
  readonly group: Group;
  /** The platform's message id. */
  readonly messageId: string;
  readonly file: PhotoFile;
}

/** The bot's commands, with their arguments; each driver writes them in its platform's syntax. */
export type Command =
  | { readonly name: 'enroll'; readonly person: string; readonly face?: number }
  /** `with`: more people the photos must show; `period` as typed (`2024`, `2023..2024`); `photos`: as photos, not zips. */
  | { readonly name: 'album'; readonly person: string; readonly with?: readonly string[]; readonly period?: string; readonly photos?: boolean }
  | { readonly name: 'people' }
  | { readonly name: 'unknown' }
  | { readonly name: 'name'; readonly cluster: number; readonly person: string }
  | { readonly name: 'notthis'; readonly person: string }
  | { readonly name: 'stats' }
  | { readonly name: 'help' }
  | { readonly name: 'threshold'; readonly value?: number; readonly report?: boolean }
  | { readonly name: 'settings'; readonly mode?: 'quiet' | 'summary' }
  | { readonly name: 'forget'; readonly person: string };

export interface CommandOptions {
  /** Sent with the command (a caption on Telegram, an attachment option on Discord). */
  readonly photo?: PhotoFile;
  /** The post the command is about: a reply on Telegram, the same photo again or a context menu on Discord. */
  readonly about?: Post;
}

/** A file the bot sent back (a zip, a numbered sheet of faces, a plot). */
export interface AnswerFile {
  readonly name: string;
  readonly bytes: Buffer;
}

/** Everything the bot sent back to one command. */
export interface Answer {
  /** The text of every message of the answer (captions included), in order, one per line. */
  readonly text: string;
  readonly files: readonly AnswerFile[];
  /** Seen only by whoever ran the command (Discord's ephemeral replies). */
  readonly private: boolean;
  /** The message that carried the command, for a later `about`. */
  readonly post: Post | undefined;
}

export interface PostOptions {
  /** As the original file (a Telegram document), not as a photo the platform may re-encode. */
  readonly original?: boolean;
  /** Each photo in a message of its own, where the platform could carry several in one. */
  readonly separately?: boolean;
}

/** How the platform refused some answers with "too many requests", and when it was next obeyed. */
export interface Throttling {
  readonly refusedAt: readonly number[];
  /** When the first answer after the first refusal went through. */
  readonly nextAcceptedAt: number | undefined;
}

export interface BotDriver {
  readonly platform: Platform;
  /** The display names the bot knows the two users by. */
  readonly names: Readonly<Record<Who, string>>;
  /** The largest file the bot may upload (the album zips' limit) and download. */
  readonly uploadLimit: number;
  readonly downloadLimit: number;
  /** Whether the platform lets the bot answer so that only the caller sees it. */
  readonly answersPrivately: boolean;
  /** Folder for scratch files, removed on close. */
  readonly dir: string;

  /** A new group with the admin as its owner and the member in it. */
  group(title: string): Promise<Group>;
  /** Posts photos without a command and resolves once the bot has filed and answered every one. */
  postPhotos(group: Group, who: Who, files: readonly PhotoFile[], options?: PostOptions): Promise<Post[]>;
  /** Runs a command and resolves with the bot's whole answer, once it is idle again. */
  command(group: Group, who: Who, command: Command, options?: CommandOptions): Promise<Answer>;
  /** The bot's replies to a posted photo. */
  repliesTo(post: Post): string[];
  /** Whether the bot put a 👍 on the post. */
  reacted(post: Post): boolean;
  /** The platform refuses the next `times` reactions with "429, retry after `seconds`". */
  throttleReactions(times: number, seconds: number): void;
  throttling(): Throttling;
  /** Everything the bot has logged so far. */
  log(): Promise<string>;
  /** Strings that must never be logged: the token and its secret part. */
  readonly secrets: readonly string[];
  close(): Promise<void>;
}
