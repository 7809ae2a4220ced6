import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLog } from '../../src/core/index.ts';
import type { PhotoJobs } from '../../src/jobs/index.ts';
import { Bot, type ChatContext, type OutgoingPhoto } from '../../src/bot/index.ts';
import { COMMANDS } from '../../src/bot/commands/index.ts';
import { fakeLibrary, post } from '../fakes/fake-library.ts';
import { fakeChat } from '../fakes/fake-chat.ts';

const G = 'tg:-100';
const ANNA = 1;

/** Anna enrolled and in `photos` more photos; a chat that keeps what the bot sends. */
async function annaIn(photos: number, uploadLimitBytes: number) {
  const t = fakeLibrary();
  await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
  for (let i = 0; i < photos; i++) assert.equal((await t.library.ingest(G, { bytes: (await post([ANNA], 101 + i)).bytes })).kind, 'filed');
  const sent: OutgoingPhoto[][] = [];
  let zips = 0;
  const chat: ChatContext & { replies: string[] } = {
    ...fakeChat(G, { id: 'tg:7', displayName: 'Ben' }, false),
    uploadLimitBytes,
    sendPhotos: (photos) => Promise.resolve(void sent.push([...photos])),
    sendFiles: async (files) => {
      for await (const _ of files) zips++;
    },
  };
  const bot = new Bot({ library: t.library, queue: {} as PhotoJobs, log: silentLog, eraseAfterDays: 30, commands: COMMANDS });
  return { bot, chat, sent, zips: () => zips };
}

describe('/album … photos, through the bot layer (fakes)', () => {
  it('GIVEN Anna in 12 photos (13 with her enrolment) WHEN asked as photos THEN messages of at most ten, every photo once, no zip', async () => {
    const { bot, chat, sent, zips } = await annaIn(12, 1e9);
    await bot.command(chat, 'album', { name: 'Anna', photos: true });
    assert.deepEqual(
      sent.map((m) => m.length),
      [10, 3],
    );
    assert.equal(new Set(sent.flat().map((p) => p.path)).size, 13);
    assert.equal(zips(), 0);
    assert.match(chat.replies[0]!, /Anna: 13 photos/);
  });

  it('GIVEN an upload limit that holds a few photos THEN each message stays under it', async () => {
    const { bot, chat, sent } = await annaIn(6, 1e9);
    await bot.command(chat, 'album', { name: 'Anna', photos: true });
    const limit = Math.max(...sent.flat().map((p) => p.bytes)) * 2;
    const small = await annaIn(6, limit);
    await small.bot.command(small.chat, 'album', { name: 'Anna', photos: true });
    assert.ok(small.sent.length >= 3, `${small.sent.length} messages`);
    for (const message of small.sent) assert.ok(message.reduce((sum, p) => sum + p.bytes, 0) <= limit, 'a message over the limit');
    assert.equal(small.sent.flat().length, 7);
  });

  it('GIVEN more than 30 photos WHEN asked as photos THEN it says so and sends zips instead', async () => {
    const { bot, chat, sent, zips } = await annaIn(30, 1e9);
    await bot.command(chat, 'album', { name: 'Anna', photos: true });
    assert.deepEqual(sent, []);
    assert.ok(zips() >= 1);
    assert.match(chat.replies.join('\n'), /31 photos, more than the 30/);
  });

  it('GIVEN no photos option THEN zips, however small the album', async () => {
    const { bot, chat, sent, zips } = await annaIn(2, 1e9);
    await bot.command(chat, 'album', { name: 'Anna' });
    assert.deepEqual(sent, []);
    assert.equal(zips(), 1);
  });

  it('GIVEN a period that holds none of them, or a name nobody has THEN it says so and sends nothing', async () => {
    const { bot, chat, sent, zips } = await annaIn(2, 1e9);
    await bot.command(chat, 'album', { name: 'Anna', period: '2001', photos: true });
    await bot.command(chat, 'album', { name: 'Anna', with: 'Cleo' });
    await bot.command(chat, 'album', { name: 'Anna', period: 'yesterday' });
    assert.deepEqual(sent, []);
    assert.equal(zips(), 0);
    assert.match(chat.replies[0]!, /No photos of Anna, 2001/);
    assert.match(chat.replies[1]!, /"Cleo".*Anna/);
    assert.match(chat.replies[2]!, /period/);
  });
});
