import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '../../src/core/index.ts';
import { GROUP, POSTS } from '../helpers/datasets.ts';
import { describeBotBehaviour } from '../helpers/bot-behaviour.ts';
import { TelegramDriver } from '../helpers/telegram-driver.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { readZip } from '../helpers/zip.ts';

/**
 * The Telegram bot: the behaviour every platform shares (test/helpers/bot-behaviour.ts), then what
 * only Telegram does, on the same bot. A restart with SIGTERM is in telegram-restart.test.ts.
 */
describeBotBehaviour(
  'Telegram',
  () => TelegramDriver.start(),
  (driver) => {
    it('THEN the commands are registered with Telegram at start, /notthis among them', () => {
      const bot = driver();
      const names = (bot.harness.emulator.commands ?? []).map((c) => c.command);
      for (const name of ['enroll', 'album', 'people', 'unknown', 'name', 'notthis', 'stats', 'threshold', 'settings', 'forget', 'help'])
        assert.ok(names.includes(name), name);
    });

    it('GIVEN obama enrolled, WHEN photos arrive as an album (one media group) and as files THEN each is filed, a file as its original bytes, and a file that is no image is left alone', async () => {
      const bot = driver();
      const e = bot.harness.emulator;
      const group = await bot.group('Album');
      const chat = Number(group.id);
      const admin = bot.user('admin');
      const references = await Promise.all(['obama.jpg', 'obama2.jpg'].map((file) => readFile(path.join(GROUP, 'obama', file))));
      for (const reference of references) await e.waitFor(answerTo(await e.postPhoto(chat, admin, reference, { caption: '/enroll obama' })), 60_000);
      const album = await Promise.all(['obama1.jpg', 'obama-480p.jpg', 'obama-1080p.jpg'].map((file) => readFile(path.join(POSTS, file))));
      for (const bytes of album) await e.postPhoto(chat, admin, bytes, { mediaGroupId: 'album-1' });
      const files = await Promise.all(['obama-720p.jpg', 'obama_32bit_rgba.png'].map((file) => readFile(path.join(POSTS, file))));
      await e.postDocument(chat, admin, files[0]!, 'obama-720p.jpg', 'image/jpeg');
      await e.postDocument(chat, admin, files[1]!, 'obama_32bit_rgba.png', 'image/png');
      const notes = await e.postDocument(chat, admin, Buffer.from('not a photo'), 'notes.txt', 'text/plain');
      await bot.idle();
      assert.equal(
        e.sent.some((s) => s.chat_id === chat && s.reply_to_message_id === notes.message_id),
        false,
        'no answer to a text file',
      );

      const before = e.sent.length;
      e.postText(chat, admin, '/album obama');
      await bot.idle();
      const zips = e.sent.slice(before).filter((s) => s.method === 'sendDocument' && s.chat_id === chat);
      const hashes = new Set<string>();
      for (const [i, zip] of zips.entries()) {
        const file = path.join(bot.dir, `album-${i}.zip`);
        await writeFile(file, zip.document!.bytes);
        for (const entry of await readZip(file)) hashes.add(sha256Hex(entry.bytes));
      }
      assert.deepEqual(hashes, new Set([...references, ...album, ...files].map((bytes) => sha256Hex(bytes))));
      assert.ok(
        e.calls.some((c) => c.method === 'sendChatAction' && c.chat_id === chat && c.params.action === 'upload_document'),
        '"sending a file…" shown',
      );
    });

    it('WHEN an anonymous admin, posting as the group, sets the threshold THEN it applies', async () => {
      const bot = driver();
      const e = bot.harness.emulator;
      const group = await bot.group('Anonymous');
      const set = e.postText(Number(group.id), 'anonymous-admin', '/threshold 0.95');
      assert.match(textOf(await e.waitFor(answerTo(set))), /0\.950?\b/);
      assert.match((await bot.command(group, 'admin', { name: 'threshold' })).text, /0\.950?\b/);
    });

    it('WHEN answers pile up THEN messages to one chat are spaced by the configured interval, chats independently, and a 429 is waited out', async () => {
      const bot = driver();
      const e = bot.harness.emulator;
      const [a, b] = [await bot.group('Pace A'), await bot.group('Pace B')];
      const chats = [Number(a.id), Number(b.id)];
      e.failNext('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 1', retry_after: 1 });
      for (let i = 0; i < 6; i++) for (const chat of chats) e.postText(chat, bot.user('member'), '/stats');
      await bot.idle();
      const sends = e.calls.filter((c) => c.method === 'sendMessage' && c.chat_id !== undefined && chats.includes(c.chat_id));
      const refused = sends.filter((c) => c.error?.error_code === 429);
      assert.equal(refused.length, 1);
      const sent = sends.filter((c) => !c.error);
      assert.equal(sent.length, 12, 'every answer sent once');
      const retry = sent.find((c) => c.chat_id === refused[0]!.chat_id && c.at >= refused[0]!.at);
      assert.ok(retry && retry.at - refused[0]!.at >= 900, 'the retry came after retry_after');
      for (const chat of chats) {
        const times = sent.filter((c) => c.chat_id === chat).map((c) => c.at);
        for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 190, `chat ${chat}: a gap of ${times[i]! - times[i - 1]!} ms`);
      }
      const other = sent.filter((c) => c.chat_id !== refused[0]!.chat_id);
      assert.ok(
        other.some((c) => c.at < refused[0]!.at + 900),
        'the other chat did not wait for the 429',
      );
    });
  },
);
