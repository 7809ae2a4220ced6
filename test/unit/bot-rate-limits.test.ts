import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLog } from '../../src/core/index.ts';
import type { PhotoJobs } from '../../src/jobs/index.ts';
import { Bot, type ChatContext } from '../../src/bot/index.ts';
import { PLAIN_SYNTAX } from '../fakes/plain-syntax.ts';
import { fakeLibrary, post } from '../fakes/fake-library.ts';

// Issue 20, finding 9: costly commands are answered "try again" at once rather than queued for
// hours; one group's album export never takes every export place of the process.

const syntax = PLAIN_SYNTAX;

function chat(group: string, caller: string, sendFiles: () => Promise<void> = () => Promise.resolve()): ChatContext & { replies: string[]; images: number } {
  const ctx = {
    replies: [] as string[],
    images: 0,
    group,
    caller: { id: caller, displayName: caller },
    syntax,
    isAdmin: () => Promise.resolve(false),
    photo: () => Promise.reject(new Error('no photo')),
    defer: () => Promise.resolve(),
    reply: (text: string) => Promise.resolve(void ctx.replies.push(text)),
    replyImage: () => {
      ctx.images++;
      return Promise.resolve();
    },
    sendFiles: async (files: AsyncIterable<unknown> | Iterable<unknown>) => {
      await sendFiles();
      for await (const _ of files);
    },
    sendPhotos: () => Promise.resolve(),
    uploadLimitBytes: 50_000_000,
  };
  return ctx;
}

describe('costly commands, limited once by the bot layer', () => {
  it('GIVEN a member just ran /unknown THEN running it again is answered with when to try, at once; another member may', async () => {
    const t = fakeLibrary();
    const bot = new Bot({ library: t.library, queue: {} as PhotoJobs, log: silentLog, eraseAfterDays: 30 });
    const first = chat('tg:-1', 'tg:1');
    await bot.command(first, 'unknown', {});
    assert.doesNotMatch(first.replies.join('\n'), /try again/);
    const again = chat('tg:-1', 'tg:1');
    await bot.command(again, 'unknown', {});
    assert.match(again.replies.join('\n'), /^\/unknown ran here a moment ago; please try again in \d+ s\.$/);
    const other = chat('tg:-1', 'tg:2');
    await bot.command(other, 'unknown', {});
    assert.doesNotMatch(other.replies.join('\n'), /try again/);
  });

  it("GIVEN an album being sent in group A THEN a second /album in A is answered at once, and group B's album is sent meanwhile", async () => {
    const t = fakeLibrary();
    for (const group of ['tg:-1', 'tg:-2']) {
      await t.library.enroll(group, { name: 'Anna', photo: { bytes: (await post([1], 100)).bytes } });
      await t.library.ingest(group, { bytes: (await post([1], 110)).bytes });
    }
    const bot = new Bot({ library: t.library, queue: {} as PhotoJobs, log: silentLog, eraseAfterDays: 30 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let sending = 0;
    const big = bot.command(
      chat('tg:-1', 'tg:1', () => {
        sending++;
        return held;
      }),
      'album',
      { name: 'Anna' },
    );
    while (sending === 0) await new Promise((resolve) => setImmediate(resolve));

    const second = chat('tg:-1', 'tg:2');
    await bot.command(second, 'album', { name: 'Anna' });
    assert.deepEqual(second.replies, ['/album is already running in this group; please try again once it has answered.']);
    // Before, the second export of A took the process's other place and B's waited for A's to end.
    const other = chat('tg:-2', 'tg:3', () => {
      sending++;
      return Promise.resolve();
    });
    await bot.command(other, 'album', { name: 'Anna' });
    assert.equal(sending, 2, "B's album was sent while A's is held");
    release();
    await big;
  });
});
