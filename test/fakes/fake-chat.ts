import type { ChatContext } from '../../src/bot/index.ts';
import { PLAIN_SYNTAX } from './plain-syntax.ts';

/** A chat that keeps the bot's replies, in a group, for a caller who is an admin or not. */
export function fakeChat(group: string, caller: { id: string; displayName: string }, admin: boolean): ChatContext & { replies: string[] } {
  const replies: string[] = [];
  return {
    replies,
    group,
    caller,
    syntax: PLAIN_SYNTAX,
    isAdmin: () => Promise.resolve(admin),
    photo: () => Promise.reject(new Error('no photo')),
    defer: () => Promise.resolve(),
    reply: (text) => Promise.resolve(void replies.push(text)),
    replyImage: () => Promise.resolve(),
    sendFiles: () => Promise.resolve(),
    sendPhotos: () => Promise.resolve(),
    uploadLimitBytes: 1,
  };
}
