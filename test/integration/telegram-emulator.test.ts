import { before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { Telegraf, Telegram, TelegramError } from 'telegraf';
import { message } from 'telegraf/filters';
import type { Message, Update, User } from '@telegraf/types';
import { BotApiEmulator, GROUP_ANONYMOUS_BOT, type BotApiEmulatorOptions } from '../emulators/telegram/index.ts';
import { NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { until } from '../helpers/until.ts';

const GROUP_ID = -1001234567890;
const OTHER_GROUP_ID = -1009876543210;

interface Harness {
  readonly emulator: BotApiEmulator;
  /** A plain client for calls outside any update. */
  readonly telegram: Telegram;
  readonly anna: User;
  readonly ben: User;
  readonly carl: User;
  /** Errors telegraf caught in handlers, or a failed launch. */
  readonly errors: unknown[];
}

/**
 * An emulator with one supergroup (Anna creator, Ben admin, Carl member) and, when `setup` is
 * given, a real telegraf bot long-polling it; both are stopped when the test ends.
 */
async function harness(t: TestContext, setup?: (bot: Telegraf) => void, options: BotApiEmulatorOptions = {}): Promise<Harness> {
  const emulator = await BotApiEmulator.start(options);
  const anna = emulator.user(111, 'Anna', { username: 'anna_k' });
  const ben = emulator.user(222, 'Ben');
  const carl = emulator.user(333, 'Carl', { username: 'carl_m' });
  emulator.addChat({ id: GROUP_ID, type: 'supergroup', title: 'Family' }, { creator: anna, administrators: [ben] });
  emulator.addChat({ id: OTHER_GROUP_ID, type: 'group', title: 'Friends' });
  const errors: unknown[] = [];
  const telegram = new Telegram(emulator.token, { apiRoot: emulator.apiRoot });
  // An exception inside the emulator is a bug in the test double, whatever the test expected.
  const closeEmulator = async (): Promise<void> => {
    await emulator.close();
    assert.deepEqual(emulator.faults, []);
  };
  if (!setup) {
    t.after(closeEmulator);
    return { emulator, telegram, anna, ben, carl, errors };
  }
  const bot = new Telegraf(emulator.token, { telegram: { apiRoot: emulator.apiRoot } });
  bot.catch((error) => {
    errors.push(error);
  });
  setup(bot);
  // launch() resolves only once polling stops, so it is awaited at the end, after stop().
  const polling = bot.launch().catch((error: unknown) => {
    errors.push(error);
  });
  t.after(async () => {
    bot.stop('test over');
    await polling;
    await closeEmulator();
  });
  await emulator.waitForCall('getUpdates');
  return { emulator, telegram, anna, ben, carl, errors };
}

/** The TelegramError a call is refused with. */
async function refusal(call: Promise<unknown>): Promise<TelegramError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof TelegramError, `expected a TelegramError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the Bot API to refuse the call');
}

async function download(telegram: Telegram, fileId: string): Promise<Buffer> {
  const link = await telegram.getFileLink(fileId);
  const response = await fetch(link);
  assert.equal(response.status, 200, `download of ${fileId}`);
  return Buffer.from(await response.arrayBuffer());
}

/** A small synthetic JPEG, for tests that need an image but no faces. */
function syntheticJpeg(width = 640, height = 480): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 40, g: 120, b: 200 } } })
    .jpeg()
    .toBuffer();
}

describe('BotApiEmulator driven by the real telegraf', { skip: NO_DATASETS }, () => {
  let photo: Buffer;
  let photoWidth: number;
  let photoHeight: number;

  before(async () => {
    photo = await readFile(path.join(POSTS, 'bbt1.jpg'));
    const metadata = await sharp(photo).metadata();
    photoWidth = metadata.width;
    photoHeight = metadata.height;
  });

  it('GIVEN a photo captioned "/enroll Anna" THEN the bot receives it and downloads the largest size byte for byte', async (t) => {
    const received: { message: Message.PhotoMessage; bytes: Buffer }[] = [];
    const h = await harness(t, (bot) => {
      bot.on(message('photo'), async (ctx) => {
        const largest = ctx.message.photo.at(-1)!;
        const bytes = await download(ctx.telegram, largest.file_id);
        received.push({ message: ctx.message, bytes });
        await ctx.reply(`got ${bytes.length} bytes`);
      });
    });

    const posted = await h.emulator.postPhoto(GROUP_ID, h.carl, photo, { caption: '/enroll Anna' });
    await h.emulator.waitFor((sent) => sent.text === `got ${photo.length} bytes`);

    assert.deepEqual(h.errors, []);
    const [got] = received;
    assert.ok(got);
    assert.ok(got.bytes.equals(photo), 'the largest size is the posted file');
    assert.equal(got.message.message_id, posted.message_id);
    assert.equal(got.message.caption, '/enroll Anna');
    assert.deepEqual(got.message.caption_entities, [{ type: 'bot_command', offset: 0, length: 7 }]);
    assert.deepEqual(got.message.from, h.carl);
    assert.equal(got.message.chat.id, GROUP_ID);

    const sizes = got.message.photo;
    assert.ok(sizes.length >= 3, 'a thumbnail, a medium size and the full size');
    assert.deepEqual(sizes.at(-1), { ...sizes.at(-1)!, width: photoWidth, height: photoHeight, file_size: photo.length });
    for (const [index, size] of sizes.entries()) {
      if (index > 0) assert.ok(size.width * size.height > sizes[index - 1]!.width * sizes[index - 1]!.height, 'sizes ascend');
      if (index === sizes.length - 1) continue;
      const bytes = await download(h.telegram, size.file_id);
      const metadata = await sharp(bytes).metadata();
      assert.equal(metadata.format, 'jpeg');
      assert.deepEqual([metadata.width, metadata.height], [size.width, size.height]);
      assert.equal(bytes.length, size.file_size);
    }
    assert.equal(Math.max(sizes[0]!.width, sizes[0]!.height), 90);
    assert.equal(Math.max(sizes[1]!.width, sizes[1]!.height), 320);
  });

  it('GIVEN a command in a caption THEN telegraf 4.16 bot.command ignores it (text only) and the photo handler must read caption_entities', async (t) => {
    const commands: { command: string; payload: string }[] = [];
    const photos: Message.PhotoMessage[] = [];
    const h = await harness(t, (bot) => {
      bot.command('enroll', (ctx) => {
        commands.push({ command: ctx.command, payload: ctx.payload });
      });
      bot.on(message('photo'), (ctx) => {
        photos.push(ctx.message);
      });
    });
    const username = h.emulator.bot.username;

    await h.emulator.postPhoto(GROUP_ID, h.carl, photo, { caption: `/enroll@${username} Anna` });
    h.emulator.postText(GROUP_ID, h.carl, `/enroll@${username} Ben`);
    h.emulator.postText(GROUP_ID, h.carl, '/enroll@some_other_bot Carl');
    await h.emulator.idle();

    assert.deepEqual(commands, [{ command: 'enroll', payload: 'Ben' }]);
    assert.equal(photos.length, 1);
    assert.deepEqual(photos[0]!.caption_entities, [{ type: 'bot_command', offset: 0, length: `/enroll@${username}`.length }]);
  });

  it('GIVEN the bot answers a photo THEN its message, document upload, chat action and reaction are recorded', async (t) => {
    const zip = Buffer.from('PK\u0003\u0004 pretend this is an album');
    const h = await harness(t, (bot) => {
      bot.on(message('photo'), async (ctx) => {
        await ctx.sendChatAction('upload_document');
        await ctx.replyWithDocument({ source: zip, filename: 'Anna.zip' }, { caption: 'Anna: 1 photo' });
        await ctx.react('👍');
        await ctx.reply('Filed under Anna', { reply_parameters: { message_id: ctx.message.message_id } });
      });
    });

    const posted = await h.emulator.postPhoto(GROUP_ID, h.anna, photo, { caption: '/enroll Anna' });
    const text = await h.emulator.waitFor((sent) => sent.method === 'sendMessage');

    assert.deepEqual(h.errors, []);
    assert.equal(text.text, 'Filed under Anna');
    assert.equal(text.reply_to_message_id, posted.message_id);
    assert.equal(text.chat_id, GROUP_ID);

    const document = h.emulator.sent.find((sent) => sent.method === 'sendDocument');
    assert.ok(document?.document);
    assert.equal(document.document.fileName, 'Anna.zip');
    assert.equal(document.document.mimeType, 'application/zip');
    assert.ok(document.document.bytes.equals(zip));
    assert.equal(document.caption, 'Anna: 1 photo');
    const returned = document.message as Message.DocumentMessage;
    assert.ok((await download(h.telegram, returned.document.file_id)).equals(zip), 'the uploaded file downloads again');

    const reaction = h.emulator.sent.find((sent) => sent.method === 'setMessageReaction');
    assert.deepEqual(reaction?.reaction, [{ type: 'emoji', emoji: '👍' }]);
    assert.equal(reaction.message_id, posted.message_id);

    const action = h.emulator.calls.find((call) => call.method === 'sendChatAction');
    assert.deepEqual(action?.params, { chat_id: GROUP_ID, action: 'upload_document' });
    const upload = h.emulator.calls.find((call) => call.method === 'sendDocument');
    assert.equal(upload?.params.chat_id, String(GROUP_ID), 'multipart fields are strings');
    assert.equal(upload.chat_id, GROUP_ID, 'calls carry the chat as a number for pacing checks');
    assert.ok(action.at <= upload.at && upload.at <= text.at, 'calls carry arrival times in order');
  });

  it('GIVEN a document upload with reply_parameters THEN telegraf 4.16 leaves the object out of the multipart body, while a JSON string gets through', async (t) => {
    const h = await harness(t);
    const posted = h.emulator.postText(GROUP_ID, h.anna, 'an earlier message');
    const replyParameters = { message_id: posted.message_id };

    await h.telegram.sendDocument(GROUP_ID, { source: Buffer.from('x'), filename: 'x.txt' }, { reply_parameters: replyParameters });
    // Form fields are strings, and the Bot API parses JSON-serialised objects from them.
    const serialised = JSON.stringify(replyParameters) as unknown as typeof replyParameters;
    await h.telegram.sendDocument(GROUP_ID, { source: Buffer.from('y'), filename: 'y.txt' }, { reply_parameters: serialised });

    const [asObject, asString] = h.emulator.sent;
    assert.equal(asObject?.reply_to_message_id, undefined);
    assert.equal(asObject?.params.reply_parameters, undefined);
    assert.equal(asString?.reply_to_message_id, posted.message_id);
  });

  it('GIVEN a command replying to an earlier photo THEN reply_to_message carries the whole photo message', async (t) => {
    const replies: Message.TextMessage[] = [];
    let downloaded: Buffer | undefined;
    const h = await harness(t, (bot) => {
      bot.command('enroll', async (ctx) => {
        replies.push(ctx.message);
        const target = ctx.message.reply_to_message;
        if (target && 'photo' in target) downloaded = await download(ctx.telegram, target.photo.at(-1)!.file_id);
      });
    });

    const earlier = await h.emulator.postPhoto(GROUP_ID, h.carl, photo);
    h.emulator.postText(GROUP_ID, h.anna, '/enroll Carl', { replyTo: earlier.message_id });
    await h.emulator.idle();

    assert.deepEqual(h.errors, []);
    const reply = replies[0]?.reply_to_message;
    assert.ok(reply && 'photo' in reply);
    assert.equal(reply.message_id, earlier.message_id);
    assert.deepEqual(reply.photo, earlier.photo);
    assert.deepEqual(reply.from, h.carl);
    assert.ok(downloaded?.equals(photo));
  });

  it('GIVEN an album of three photos THEN three updates arrive sharing one media_group_id', async (t) => {
    const updates: Update.MessageUpdate<Message.PhotoMessage>[] = [];
    const h = await harness(t, (bot) => {
      bot.on(message('photo'), (ctx) => {
        updates.push(ctx.update);
      });
    });

    for (const [index, file] of ['bbt2.jpg', 'bbt3.jpg', 'bbt4.jpg'].entries()) {
      const bytes = await readFile(path.join(POSTS, file));
      await h.emulator.postPhoto(GROUP_ID, h.ben, bytes, { mediaGroupId: '13579', ...(index === 0 ? { caption: '/enroll Ben' } : {}) });
    }
    await h.emulator.idle();

    assert.equal(updates.length, 3);
    assert.deepEqual(
      updates.map((update) => update.message.media_group_id),
      ['13579', '13579', '13579'],
    );
    const ids = updates.map((update) => update.update_id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.equal(new Set(updates.map((update) => update.message.message_id)).size, 3);
    assert.deepEqual(
      updates.map((update) => update.message.caption),
      ['/enroll Ben', undefined, undefined],
    );
    assert.equal(h.emulator.pendingUpdates(), 0);
  });

  it('GIVEN an anonymous admin posts THEN from is GroupAnonymousBot and sender_chat is the group', async (t) => {
    const received: Message.PhotoMessage[] = [];
    const h = await harness(t, (bot) => {
      bot.on(message('photo'), (ctx) => {
        received.push(ctx.message);
      });
    });

    await h.emulator.postPhoto(GROUP_ID, 'anonymous-admin', photo, { caption: '/enroll Anna' });
    await h.emulator.idle();

    const [got] = received;
    assert.deepEqual(got?.from, { id: 1087968824, is_bot: true, first_name: 'Group', username: 'GroupAnonymousBot' });
    assert.deepEqual(got.from, GROUP_ANONYMOUS_BOT);
    assert.deepEqual(got.sender_chat, { id: GROUP_ID, type: 'supergroup', title: 'Family' });
  });

  it('GIVEN a posted document THEN message.document has name, type, size and thumbnail, and downloads byte for byte', async (t) => {
    const received: Message.DocumentMessage[] = [];
    const h = await harness(t, (bot) => {
      bot.on(message('document'), (ctx) => {
        received.push(ctx.message);
      });
    });

    await h.emulator.postDocument(GROUP_ID, h.anna, photo, 'IMG_0001.JPG', 'image/jpeg', { caption: '/enroll Anna' });
    await h.emulator.idle();

    const document = received[0]?.document;
    assert.ok(document);
    assert.equal(document.file_name, 'IMG_0001.JPG');
    assert.equal(document.mime_type, 'image/jpeg');
    assert.equal(document.file_size, photo.length);
    assert.ok(document.thumbnail && Math.max(document.thumbnail.width, document.thumbnail.height) === 320);
    assert.deepEqual(received[0]?.caption_entities, [{ type: 'bot_command', offset: 0, length: 7 }]);
    assert.ok((await download(h.telegram, document.file_id)).equals(photo));
  });

  it('GIVEN a file over the download limit THEN getFile answers 400 "file is too big" while its thumbnails still download', async (t) => {
    const h = await harness(t, undefined, { maxDownloadBytes: 100_000 });
    const posted = await h.emulator.postPhoto(GROUP_ID, h.carl, photo);

    const error = await refusal(h.telegram.getFile(posted.photo.at(-1)!.file_id));
    assert.equal(error.code, 400);
    assert.equal(error.description, 'Bad Request: file is too big');
    assert.ok((await download(h.telegram, posted.photo[0]!.file_id)).length < 100_000);
  });

  it('GIVEN the bot sends a photo and an album THEN the emulator keeps their bytes and answers with photo sizes', async (t) => {
    const h = await harness(t);
    const second = await readFile(path.join(POSTS, 'bbt2.jpg'));

    const sentPhoto = await h.telegram.sendPhoto(GROUP_ID, { source: photo, filename: 'sheet.jpg' }, { caption: 'Anna' });
    const album = await h.telegram.sendMediaGroup(GROUP_ID, [
      { type: 'photo', media: { source: photo }, caption: 'first' },
      { type: 'photo', media: { source: second } },
    ]);

    assert.equal(sentPhoto.photo.at(-1)?.file_size, photo.length);
    assert.equal(sentPhoto.caption, 'Anna');
    assert.equal(album.length, 2);
    assert.equal(album[0]!.media_group_id, album[1]!.media_group_id);
    const recorded = h.emulator.sent.filter((sent) => sent.method === 'sendMediaGroup');
    assert.deepEqual(
      recorded.map((sent) => sent.photo?.length),
      [photo.length, second.length],
    );
    assert.equal(recorded[0]!.caption, 'first');
    assert.ok(h.emulator.sent[0]!.photo?.equals(photo));
  });
});

describe('BotApiEmulator protocol', () => {
  it('GIVEN setMyCommands THEN getMyCommands returns them per scope and invalid names are refused', async (t) => {
    const h = await harness(t);
    const commands = [
      { command: 'enroll', description: 'Enroll a person from a photo' },
      { command: 'album', description: 'Get the album of a person' },
    ];

    await h.telegram.setMyCommands(commands);
    await h.telegram.setMyCommands([{ command: 'forget', description: 'Forget a person' }], { scope: { type: 'chat_administrators', chat_id: GROUP_ID } });

    assert.deepEqual(await h.telegram.getMyCommands(), commands);
    assert.deepEqual(await h.telegram.getMyCommands({ scope: { type: 'chat_administrators', chat_id: GROUP_ID } }), [
      { command: 'forget', description: 'Forget a person' },
    ]);
    assert.deepEqual(await h.telegram.getMyCommands({ scope: { type: 'all_private_chats' } }), []);
    assert.deepEqual(h.emulator.commands, [{ command: 'forget', description: 'Forget a person' }]);
    assert.deepEqual(h.emulator.commandsFor(), commands);
    const error = await refusal(h.telegram.setMyCommands([{ command: 'Enroll', description: 'capitals are not allowed' }]));
    assert.equal(error.description, 'Bad Request: BOT_COMMAND_INVALID');
  });

  it('GIVEN a group with a creator and an admin THEN getChatAdministrators lists them as creator and administrator', async (t) => {
    const h = await harness(t);

    const admins = await h.telegram.getChatAdministrators(GROUP_ID);

    assert.deepEqual(
      admins.map((member) => [member.status, member.user.id]),
      [
        ['creator', h.anna.id],
        ['administrator', h.ben.id],
      ],
    );
    assert.deepEqual(await h.telegram.getChatAdministrators(OTHER_GROUP_ID), []);
    // Membership is per chat: Carl is "left" until he is in it (by posting, or set so), as Telegram says.
    assert.equal((await h.telegram.getChatMember(GROUP_ID, h.carl.id)).status, 'left');
    h.emulator.setMemberStatus(GROUP_ID, h.carl, 'member');
    assert.equal((await h.telegram.getChatMember(GROUP_ID, h.carl.id)).status, 'member');
    assert.equal((await h.telegram.getChatMember(OTHER_GROUP_ID, h.carl.id)).status, 'left');
    h.emulator.setMemberStatus(GROUP_ID, h.carl, 'kicked');
    assert.equal((await h.telegram.getChatMember(GROUP_ID, h.carl.id)).status, 'kicked');
    assert.deepEqual(await h.telegram.getChat(GROUP_ID), { id: GROUP_ID, type: 'supergroup', title: 'Family' });
    assert.equal((await refusal(h.telegram.getChat(42))).description, 'Bad Request: chat not found');
  });

  it('GIVEN a 429 injected on sendMessage THEN telegraf throws TelegramError 429 with retry_after, and the next call goes through', async (t) => {
    const h = await harness(t);
    h.emulator.failNext('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 7', retry_after: 7 });

    const error = await refusal(h.telegram.sendMessage(GROUP_ID, 'first'));
    const second = await h.telegram.sendMessage(GROUP_ID, 'second');

    assert.equal(error.code, 429);
    assert.deepEqual(error.parameters, { retry_after: 7 });
    assert.equal(second.text, 'second');
    assert.deepEqual(
      h.emulator.sent.map((sent) => sent.text),
      ['second'],
    );
    assert.deepEqual(
      h.emulator.calls.map((call) => [call.method, call.error?.error_code]),
      [
        ['sendMessage', 429],
        ['sendMessage', undefined],
      ],
    );
  });

  it('GIVEN a rate limit of 2 per second per chat THEN the third send in a chat answers 429 while another chat is unaffected', async (t) => {
    const h = await harness(t);
    h.emulator.rateLimit('sendMessage', { max: 2, perSeconds: 1 });

    await h.telegram.sendMessage(GROUP_ID, 'one');
    await h.telegram.sendMessage(GROUP_ID, 'two');
    const error = await refusal(h.telegram.sendMessage(GROUP_ID, 'three'));
    await h.telegram.sendMessage(OTHER_GROUP_ID, 'elsewhere');

    assert.equal(error.code, 429);
    assert.equal(error.parameters?.retry_after, 1);
    const times = h.emulator.calls.filter((call) => call.chat_id === GROUP_ID).map((call) => call.at);
    assert.equal(times.length, 3);
    assert.ok(times.every((time, index) => index === 0 || time >= times[index - 1]!));
  });

  it('GIVEN a wrong token THEN the API answers 401 Unauthorized and launch fails', async (t) => {
    const h = await harness(t);
    const wrong = `${h.emulator.bot.id}:not-the-token`;
    const bot = new Telegraf(wrong, { telegram: { apiRoot: h.emulator.apiRoot } });

    const error = await refusal(bot.launch());
    const raw = await fetch(`${h.emulator.apiRoot}/bot${wrong}/getMe`);

    assert.equal(error.code, 401);
    assert.equal(error.description, 'Unauthorized');
    assert.equal(raw.status, 401);
    assert.deepEqual(await raw.json(), { ok: false, error_code: 401, description: 'Unauthorized' });
  });

  it('GIVEN an unknown method THEN it answers 404 "Not Found: method not found"', async (t) => {
    const h = await harness(t);

    const response = await fetch(`${h.emulator.apiRoot}/bot${h.emulator.token}/sendTelepathy`, { method: 'POST' });

    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { ok: false, error_code: 404, description: 'Not Found: method not found' });
  });

  it('GIVEN JSON, urlencoded, query-string and multipart bodies THEN a method reads its parameters alike', async (t) => {
    const h = await harness(t);
    const url = `${h.emulator.apiRoot}/bot${h.emulator.token}/sendMessage`;
    const form = new FormData();
    form.set('chat_id', String(GROUP_ID));
    form.set('text', 'multipart');

    const answers = await Promise.all([
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: GROUP_ID, text: 'json' }) }),
      fetch(url, { method: 'POST', body: new URLSearchParams({ chat_id: String(GROUP_ID), text: 'urlencoded' }) }),
      fetch(`${url}?${new URLSearchParams({ chat_id: String(GROUP_ID), text: 'query' }).toString()}`),
      fetch(url, { method: 'POST', body: form }),
    ]);

    for (const answer of answers) {
      const body = (await answer.json()) as { ok: boolean; result: Message.TextMessage };
      assert.equal(body.ok, true);
      assert.equal(body.result.chat.id, GROUP_ID);
    }
    assert.deepEqual(h.emulator.sent.map((sent) => sent.text).sort(), ['json', 'multipart', 'query', 'urlencoded']);
  });

  it('GIVEN updates confirmed by offset THEN getUpdates drops them, and a limit caps the batch', async (t) => {
    const h = await harness(t);
    for (const text of ['one', 'two', 'three']) h.emulator.postText(GROUP_ID, h.carl, text);

    const all = await h.telegram.getUpdates(0, 100, 0, undefined);
    const afterFirst = await h.telegram.getUpdates(0, 1, all[0]!.update_id + 1, undefined);
    const lastOnly = await h.telegram.getUpdates(0, 100, -1, undefined);

    assert.deepEqual(
      all.map((update) => ('message' in update && 'text' in update.message ? update.message.text : '')),
      ['one', 'two', 'three'],
    );
    assert.deepEqual(
      afterFirst.map((update) => update.update_id),
      [all[1]!.update_id],
    );
    assert.deepEqual(
      lastOnly.map((update) => update.update_id),
      [all[2]!.update_id],
    );
    assert.equal(h.emulator.pendingUpdates(), 1);
  });

  it('GIVEN a long poll with nothing queued THEN it waits for the next post, or answers [] when its timeout passes', async (t) => {
    const h = await harness(t);

    const started = Date.now();
    const waiting = h.telegram.getUpdates(5, 100, 0, undefined);
    await h.emulator.waitForCall('getUpdates');
    setTimeout(() => h.emulator.postText(GROUP_ID, h.anna, 'hello'), 150);
    const woken = await waiting;
    const wokenAfter = Date.now() - started;

    const emptyStart = Date.now();
    const empty = await h.telegram.getUpdates(1, 100, woken[0]!.update_id + 1, undefined);
    const emptyAfter = Date.now() - emptyStart;

    assert.equal(woken.length, 1);
    assert.ok(wokenAfter >= 140 && wokenAfter < 4000, `woken after ${wokenAfter} ms`);
    assert.deepEqual(empty, []);
    assert.ok(emptyAfter >= 950, `timed out after ${emptyAfter} ms`);
  });

  it('GIVEN two getUpdates at once THEN the older one ends with 409 Conflict', async (t) => {
    const h = await harness(t);

    const older = refusal(h.telegram.getUpdates(5, 100, 0, undefined));
    await h.emulator.waitForCall('getUpdates');
    const newer = await h.telegram.getUpdates(0, 100, 0, undefined);
    const error = await older;

    assert.deepEqual(newer, []);
    assert.equal(error.code, 409);
    assert.match(error.description, /^Conflict: terminated by other getUpdates request/);
  });

  it('GIVEN a webhook is set THEN getUpdates answers 409 until deleteWebhook', async (t) => {
    const h = await harness(t);

    await h.telegram.setWebhook('https://bot.example/hook');
    const error = await refusal(h.telegram.getUpdates(0, 100, 0, undefined));
    const url = h.emulator.webhook?.url;
    await h.telegram.deleteWebhook();

    assert.equal(error.code, 409);
    assert.equal(url, 'https://bot.example/hook');
    assert.deepEqual(await h.telegram.getUpdates(0, 100, 0, undefined), []);
  });

  it('GIVEN a file path from getFile THEN it downloads with the right token only, and unknown paths answer 404', async (t) => {
    const h = await harness(t);
    const posted = await h.emulator.postPhoto(GROUP_ID, h.carl, await syntheticJpeg());
    const file = await h.telegram.getFile(posted.photo[0]!.file_id);
    const root = `${h.emulator.apiRoot}/file/bot`;

    const good = await fetch(`${root}${h.emulator.token}/${file.file_path!}`);
    const wrongToken = await fetch(`${root}1:wrong/${file.file_path!}`);
    const unknown = await fetch(`${root}${h.emulator.token}/photos/file_999.jpg`);

    assert.equal(good.status, 200);
    assert.equal(Buffer.from(await good.arrayBuffer()).length, file.file_size);
    assert.equal(wrongToken.status, 401);
    assert.equal(unknown.status, 404);
  });

  it('GIVEN text Telegram would refuse THEN the emulator refuses it the same way', async (t) => {
    const h = await harness(t);

    const markdown = await refusal(h.telegram.sendMessage(GROUP_ID, 'Filed 3 photos.', { parse_mode: 'MarkdownV2' }));
    const long = await refusal(h.telegram.sendMessage(GROUP_ID, 'x'.repeat(4097)));
    const empty = await refusal(h.telegram.sendMessage(GROUP_ID, ' '));
    const html = await refusal(h.telegram.sendMessage(GROUP_ID, '<div>Anna</div>', { parse_mode: 'HTML' }));
    const escaped = await h.telegram.sendMessage(GROUP_ID, '*Anna* filed 3 photos\\.', { parse_mode: 'MarkdownV2' });

    assert.equal(markdown.description, "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'");
    assert.equal(long.description, 'Bad Request: message is too long');
    assert.equal(empty.description, 'Bad Request: message text is empty');
    assert.equal(html.description, 'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0');
    assert.equal(escaped.text, 'Anna filed 3 photos.');
    assert.equal(h.emulator.sent.at(-1)?.text, '*Anna* filed 3 photos\\.', 'sent keeps the text as the bot wrote it');
  });

  it("GIVEN a reaction outside Telegram's list or on a missing message THEN it is refused", async (t) => {
    const h = await harness(t);
    const posted = h.emulator.postText(GROUP_ID, h.anna, 'hi');

    const invalid = await refusal(h.telegram.setMessageReaction(GROUP_ID, posted.message_id, [{ type: 'emoji', emoji: '✅' as '👍' }]));
    const missing = await refusal(h.telegram.setMessageReaction(GROUP_ID, 999, [{ type: 'emoji', emoji: '👌' }]));
    await h.telegram.callApi('setMessageReaction', { chat_id: GROUP_ID, message_id: posted.message_id, reaction: [{ type: 'emoji', emoji: '👌' }] });

    assert.equal(invalid.description, 'Bad Request: REACTION_INVALID');
    assert.equal(missing.code, 400);
    assert.deepEqual(
      h.emulator.sent.map((sent) => sent.reaction),
      [[{ type: 'emoji', emoji: '👌' }]],
    );
  });

  it('GIVEN an edit that changes nothing THEN 400 "message is not modified"', async (t) => {
    const h = await harness(t);
    const progress = await h.telegram.sendMessage(GROUP_ID, 'Filing 1/3');

    const edited = await h.telegram.editMessageText(GROUP_ID, progress.message_id, undefined, 'Filing 2/3');
    const same = await refusal(h.telegram.editMessageText(GROUP_ID, progress.message_id, undefined, 'Filing 2/3'));

    assert.ok(typeof edited === 'object' && edited.text === 'Filing 2/3');
    assert.match(same.description, /^Bad Request: message is not modified/);
  });

  it('GIVEN privacy mode THEN a plain group photo stays hidden while commands and replies to the bot arrive', async (t) => {
    const seen: string[] = [];
    const h = await harness(
      t,
      (bot) => {
        bot.on('message', async (ctx) => {
          seen.push('caption' in ctx.message ? (ctx.message.caption ?? '(photo)') : 'text' in ctx.message ? ctx.message.text : '?');
          if ('photo' in ctx.message) await ctx.reply('Who is this?');
        });
      },
      { privacyMode: true },
    );
    const image = await syntheticJpeg();

    await h.emulator.postPhoto(GROUP_ID, h.carl, image);
    await h.emulator.postPhoto(GROUP_ID, h.carl, image, { caption: '/enroll Carl' });
    const question = await h.emulator.waitFor((sent) => sent.text === 'Who is this?');
    h.emulator.postText(GROUP_ID, h.anna, 'Carl', { replyTo: question.message_id });
    h.emulator.postText(GROUP_ID, h.anna, 'just chatting');
    h.emulator.postText(GROUP_ID, h.anna, `hey @${h.emulator.bot.username}`);
    await h.emulator.idle();

    assert.deepEqual(seen, ['/enroll Carl', 'Carl', `hey @${h.emulator.bot.username}`]);
    assert.equal(h.emulator.bot.can_read_all_group_messages, false);
    assert.equal(h.emulator.history(GROUP_ID).length, 6, 'hidden posts still exist in the chat');
  });

  it('GIVEN waitFor on a message not yet sent THEN it resolves once sent, and rejects when its timeout passes', async (t) => {
    const h = await harness(t);

    const later = h.emulator.waitFor((sent) => sent.text === 'later');
    await h.telegram.sendMessage(GROUP_ID, 'sooner');
    await h.telegram.sendMessage(GROUP_ID, 'later');

    assert.equal((await later).text, 'later');
    await assert.rejects(
      h.emulator.waitFor((sent) => sent.text === 'never', 50),
      /nothing matching within 50 ms; sent so far: sendMessage/,
    );
  });

  it('GIVEN an upload over the upload limit THEN 413 Request Entity Too Large', async (t) => {
    const h = await harness(t, undefined, { maxUploadBytes: 1000 });

    const error = await refusal(h.telegram.sendDocument(GROUP_ID, { source: Buffer.alloc(5000), filename: 'big.bin' }));

    assert.equal(error.code, 413);
    assert.equal(h.emulator.sent.length, 0);
  });
});

/** What a webhook receiver got: the path, the secret header and the update. */
interface Received {
  readonly path: string;
  readonly secret: string | undefined;
  readonly update: Update;
}

/**
 * A local webhook receiver for the emulator to deliver to; `answer` decides each request's status
 * (a promise that never settles stalls the request).
 */
async function receiver(
  t: TestContext,
  answer: (update: Update, index: number) => number | Promise<number> = () => 200,
): Promise<{ origin: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      let body = '';
      for await (const chunk of req as AsyncIterable<Buffer>) body += chunk.toString('utf8');
      const update = JSON.parse(body) as Update;
      received.push({ path: req.url ?? '', secret: req.headers['x-telegram-bot-api-secret-token'] as string | undefined, update });
      res.writeHead(await answer(update, received.length - 1)).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

describe('BotApiEmulator webhook delivery', () => {
  /** An emulator delivering to `origin`, with one group and Anna in it. */
  async function webhookHarness(t: TestContext, origin: string, options: BotApiEmulatorOptions = {}) {
    const emulator = await BotApiEmulator.start({ webhookTarget: origin, ...options });
    t.after(async () => {
      await emulator.close();
      assert.deepEqual(emulator.faults, []);
    });
    const anna = emulator.user(111, 'Anna');
    emulator.addChat({ id: GROUP_ID, type: 'supergroup', title: 'Family' }, { creator: anna });
    return { emulator, anna, telegram: new Telegram(emulator.token, { apiRoot: emulator.apiRoot }) };
  }

  it('GIVEN a webhook with a secret THEN each update is POSTed in order to the target with the URL path and the secret header, and confirmed by a 200', async (t) => {
    const hook = await receiver(t);
    const { emulator, anna, telegram } = await webhookHarness(t, hook.origin);

    emulator.postText(GROUP_ID, anna, 'before the webhook');
    await telegram.setWebhook('https://bot.example/telegram/hook?x=1', { secret_token: 'sesame_42' });
    emulator.postText(GROUP_ID, anna, 'one');
    emulator.postText(GROUP_ID, anna, 'two');
    await emulator.idle();

    const texts = hook.received.map((r) => ('message' in r.update && 'text' in r.update.message ? r.update.message.text : ''));
    assert.deepEqual(texts, ['before the webhook', 'one', 'two']);
    assert.deepEqual(new Set(hook.received.map((r) => r.path)), new Set(['/telegram/hook?x=1']));
    assert.deepEqual(new Set(hook.received.map((r) => r.secret)), new Set(['sesame_42']));
    const info = await telegram.getWebhookInfo();
    assert.equal(info.url, 'https://bot.example/telegram/hook?x=1');
    assert.equal(info.pending_update_count, 0);
    assert.equal(info.last_error_message, undefined);
  });

  it('GIVEN the webhook answers 503 THEN the update stays pending with the error in getWebhookInfo, the next waits behind it, and both arrive once it answers 200', async (t) => {
    let failing = true;
    const hook = await receiver(t, () => (failing ? 503 : 200));
    const { emulator, anna, telegram } = await webhookHarness(t, hook.origin);
    await telegram.setWebhook('https://bot.example/hook');

    emulator.postText(GROUP_ID, anna, 'first');
    emulator.postText(GROUP_ID, anna, 'second');
    await until(() => hook.received.length >= 3, 'three attempts');
    const info = await telegram.getWebhookInfo();
    failing = false;
    await emulator.idle();

    assert.equal(info.pending_update_count, 2);
    assert.equal(info.last_error_message, 'Wrong response from the webhook: 503 Service Unavailable');
    assert.ok(info.last_error_date !== undefined && Math.abs(info.last_error_date - Date.now() / 1000) < 60);
    const ids = hook.received.map((r) => r.update.update_id);
    const [first, second] = [ids[0]!, ids.at(-1)!];
    assert.ok(second > first);
    assert.deepEqual(
      ids.slice(0, -1),
      ids.slice(0, -1).map(() => first),
      'the second update only after the first was taken',
    );
    const gaps = emulator.webhookDeliveries.filter((d) => d.update_id === first).map((d, i, all) => (i === 0 ? 0 : d.at - all[i - 1]!.at));
    // 100 ms after the first failure, then 200 ms: lower bounds, which a busy machine only lengthens.
    assert.ok(gaps.length >= 3 && gaps[1]! >= 95 && gaps[2]! >= 195, `pauses grow: ${gaps.join(', ')}`);
    assert.equal((await telegram.getWebhookInfo()).pending_update_count, 0);
  });

  it('GIVEN the webhook does not answer in time THEN the delivery fails with "Read timeout expired" and is tried again', async (t) => {
    const hook = await receiver(t, (_update, index) => (index === 0 ? new Promise<number>(() => undefined) : 200));
    const { emulator, anna, telegram } = await webhookHarness(t, hook.origin, { webhookTimeoutMs: 200 });
    await telegram.setWebhook('https://bot.example/hook');

    emulator.postText(GROUP_ID, anna, 'slow');
    await emulator.idle();

    assert.equal(hook.received.length, 2);
    assert.equal(hook.received[0]!.update.update_id, hook.received[1]!.update.update_id);
    assert.equal((await telegram.getWebhookInfo()).last_error_message, 'Read timeout expired');
  });

  it('GIVEN redeliverNext THEN that update is POSTed twice at once, and the next ones once', async (t) => {
    let release: () => void = () => undefined;
    const bothIn = new Promise<void>((resolve) => (release = resolve));
    // The first copy is held until the second arrives: they overlap.
    const hook = await receiver(t, async (_update, index) => {
      if (index === 1) release();
      if (index === 0) await bothIn;
      return 200;
    });
    const { emulator, anna, telegram } = await webhookHarness(t, hook.origin);
    await telegram.setWebhook('https://bot.example/hook');

    emulator.redeliverNext(1);
    emulator.postText(GROUP_ID, anna, 'twice');
    emulator.postText(GROUP_ID, anna, 'once');
    await emulator.idle();

    const ids = hook.received.map((r) => r.update.update_id);
    assert.equal(ids.length, 3);
    assert.equal(ids[0], ids[1]);
    assert.notEqual(ids[2], ids[0]);
    assert.deepEqual(emulator.webhookDeliveries.map((d) => d.redelivery).sort(), [false, false, true]);
  });

  it('GIVEN the same webhook set again THEN deliveries go on; after deleteWebhook nothing is delivered and getUpdates serves the update', async (t) => {
    const hook = await receiver(t);
    const { emulator, anna, telegram } = await webhookHarness(t, hook.origin);
    await telegram.setWebhook('https://bot.example/hook', { secret_token: 's1' });
    await telegram.setWebhook('https://bot.example/hook', { secret_token: 's1' });
    emulator.postText(GROUP_ID, anna, 'delivered');
    await emulator.idle();

    await telegram.deleteWebhook();
    emulator.postText(GROUP_ID, anna, 'polled');
    const polled = await telegram.getUpdates(0, 100, 0, undefined);

    assert.equal(hook.received.length, 1);
    assert.equal(polled.length, 1);
    assert.equal((await telegram.getWebhookInfo()).url, '');
  });
});
