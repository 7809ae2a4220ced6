import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { groupId, sha256Hex } from '../../src/core/index.ts';
import { GROUP, POSTS } from '../helpers/datasets.ts';
import { describeBotBehaviour } from '../helpers/bot-behaviour.ts';
import { TelegramDriver } from '../helpers/telegram-driver.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { originalHash8, readZip } from '../helpers/zip.ts';
import { NO_EXIV2, readWithExiv2 } from '../helpers/exiv2.ts';
import sharp from 'sharp';
import { groupFolderName } from '../../src/albums/index.ts';
import { SqlPhotoStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';

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
      const entries: { name: string; file: string }[] = [];
      for (const [i, zip] of zips.entries()) {
        const file = path.join(bot.dir, `album-${i}.zip`);
        await writeFile(file, zip.document!.bytes);
        for (const entry of await readZip(file)) {
          hashes.add(originalHash8(entry.name));
          entries.push({ name: entry.name, file: path.join(bot.dir, `album-entry-${entry.name}`) });
          await writeFile(entries.at(-1)!.file, entry.bytes);
        }
      }
      const originals = [...references, ...album, ...files];
      assert.deepEqual(hashes, new Set(originals.map((bytes) => sha256Hex(bytes).slice(0, 8))));

      // Each photo carries Obama's face region and a capture date, as a second reader (exiv2) sees them.
      if (NO_EXIV2) {
        console.log(`skipped the XMP read-back: ${NO_EXIV2}`);
        return;
      }
      const database = await openLibraryDatabase({ dataDir: bot.dir });
      let messageDates = 0;
      try {
        const photos = new SqlPhotoStore(database.db);
        for (const entry of entries) {
          const read = await readWithExiv2(entry.file);
          const hash8 = originalHash8(entry.name);
          const original = originals.find((bytes) => sha256Hex(bytes).startsWith(hash8))!;
          const record = await photos.get(groupId({ platform: 'telegram', chatId: chat }), sha256Hex(original));
          assert.ok(record, `${entry.name}: a photo of the library`);
          const meta = await sharp(original).metadata();
          assert.deepEqual(read.appliedTo, { w: meta.width, h: meta.height }, `${entry.name}: dimensions`);
          // These photos are under the decoder's 4096 and upright: the boxes are in their own pixels.
          const named = record.faces.filter((f) => f.personId !== undefined);
          assert.deepEqual(
            read.regions.map((r) => r.name),
            named.map(() => 'obama'),
            `${entry.name}: the named faces`,
          );
          for (const [i, region] of read.regions.entries()) {
            const box = named[i]!.box;
            const want = {
              x: (box.x + box.width / 2) / meta.width,
              y: (box.y + box.height / 2) / meta.height,
              w: box.width / meta.width,
              h: box.height / meta.height,
            };
            for (const key of ['x', 'y', 'w', 'h'] as const)
              assert.ok(Math.abs(region[key] - want[key]) <= 0.01, `${entry.name}: ${key} ${region[key]} vs ${want[key]}`);
          }
          // A photo with a date of its own (a reference from a camera) keeps it; the others get the message's.
          const taken = read.keys.get('Exif.Photo.DateTimeOriginal');
          assert.ok(taken, `${entry.name}: a capture date`);
          if (record.takenAt !== undefined) {
            const source = path.join(bot.dir, `album-original-${entry.name}`);
            await writeFile(source, original);
            const own = await readWithExiv2(source);
            assert.equal(taken, own.keys.get('Exif.Photo.DateTimeOriginal'), `${entry.name}: its own date kept`);
            assert.equal(read.keys.get('Xmp.photoshop.DateCreated'), own.keys.get('Xmp.photoshop.DateCreated'), `${entry.name}: its own date kept`);
          } else {
            const when = new Date(`${taken.replace(/^(\d{4}):(\d{2}):(\d{2}) /, '$1-$2-$3T')}Z`);
            assert.equal(when.toISOString().slice(0, 19), new Date(record.postedAt).toISOString().slice(0, 19), `${entry.name}: the message date`);
            messageDates++;
          }
        }
      } finally {
        await database.close();
      }
      assert.ok(messageDates >= 4, `${messageDates} photos dated by their message`);
      // The originals in the library are untouched.
      for (const bytes of originals) {
        const hash = sha256Hex(bytes);
        const ext = (await sharp(bytes).metadata()).format === 'png' ? 'png' : 'jpg';
        assert.equal(
          sha256Hex(await readFile(path.join(bot.dir, 'groups', groupFolderName(groupId({ platform: 'telegram', chatId: chat })), 'photos', `${hash}.${ext}`))),
          hash,
        );
      }
      assert.ok(
        e.calls.some((c) => c.method === 'sendChatAction' && c.chat_id === chat && c.params.action === 'upload_document'),
        '"sending a file…" shown',
      );
    });

    it('GIVEN obama in five photos WHEN /album obama photos THEN they come back as one media group of photos (as sendMediaGroup takes them), in reply to the command, their bytes the originals', async () => {
      const bot = driver();
      const e = bot.harness.emulator;
      const chat = Number((await bot.group('Photos')).id);
      const admin = bot.user('admin');
      const references = await Promise.all(['obama.jpg', 'obama2.jpg'].map((file) => readFile(path.join(GROUP, 'obama', file))));
      for (const reference of references) await e.waitFor(answerTo(await e.postPhoto(chat, admin, reference, { caption: '/enroll obama' })), 60_000);
      const posts = await Promise.all(['obama1.jpg', 'obama-480p.jpg', 'obama_biden_two_people.jpg'].map((file) => readFile(path.join(POSTS, file))));
      for (const bytes of posts) await e.postPhoto(chat, admin, bytes);
      await bot.idle();
      const before = e.sent.length;
      const command = e.postText(chat, admin, '/album obama photos');
      await bot.idle();
      const sent = e.sent.slice(before).filter((s) => s.chat_id === chat);
      const groups = sent.filter((s) => s.method === 'sendMediaGroup');
      assert.equal(groups.length, 5, sent.map((s) => s.method).join(', '));
      assert.equal(new Set(groups.map((s) => (s.message as { media_group_id?: string } | undefined)?.media_group_id)).size, 1, 'one media group');
      for (const message of groups) {
        assert.ok(message.photo, 'sent as a photo, not a file');
        assert.equal(message.reply_to_message_id, command.message_id);
      }
      assert.deepEqual(new Set(groups.map((s) => sha256Hex(s.photo!))), new Set([...references, ...posts].map((bytes) => sha256Hex(bytes))));
      assert.equal(
        sent.some((s) => s.method === 'sendDocument'),
        false,
        'no zip',
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
