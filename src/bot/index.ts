/** The platform-neutral bot: commands written once against the `ChatContext` port. */
export { Bot, PhotoNotQueuedError, type BotOptions, type PhotoPost } from './bot.ts';
export type { ChatContext, ChatUser, FetchedPhoto, OutgoingFile, OutgoingPhoto, PostAnswer, PostedPhoto, Syntax } from './chat-context.ts';
export { PHOTOS_PER_MESSAGE } from './chat-context.ts';
export type { ArgValue, BotCommand, CommandArgs, CommandOption } from './command.ts';
export { megabytes, NOT_ADMIN } from './replies.ts';
