import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/core/index.ts';
import { parseTelegramExport } from '../../src/importers/index.ts';

const message = (id: number, extra: Record<string, unknown>) => ({
  id,
  type: 'message',
  date: '2022-01-02T03:04:05',
  date_unixtime: '1641092645',
  text: '',
  ...extra,
});
const exportOf = (type: string, id: number, messages: unknown[] = []) => JSON.stringify({ name: 'Friends', type, id, messages });

describe('a Telegram Desktop export', () => {
  it('GIVEN a supergroup, a channel or a basic group THEN its group is the id the Bot API gives the chat', () => {
    assert.equal(parseTelegramExport(exportOf('private_supergroup', 1234567890), 'r').group, 'tg:-1001234567890');
    assert.equal(parseTelegramExport(exportOf('public_supergroup', 1234567890), 'r').group, 'tg:-1001234567890');
    assert.equal(parseTelegramExport(exportOf('private_channel', 1987654321), 'r').group, 'tg:-1001987654321');
    assert.equal(parseTelegramExport(exportOf('private_group', 4012345678), 'r').group, 'tg:-4012345678');
  });

  it('GIVEN photos, images sent as files, a sticker, other files and photos left out THEN only the photos and images are taken, the left-out ones listed', () => {
    const parsed = parseTelegramExport(
      exportOf('private_supergroup', 1234567890, [
        { id: 1, type: 'service', date: '2022-01-01T00:00:00', action: 'create_group', actor_id: 'user1' },
        message(2, { from: 'Anna', from_id: 'user42', photo: 'photos/photo_1@02-01-2022_03-04-05.jpg' }),
        message(3, { from: 'Ben', from_id: 'user43', file: 'files/IMG_1.PNG', mime_type: 'image/png' }),
        message(4, { from: 'Ben', from_id: 'user43', file: 'stickers/s.webp', mime_type: 'image/webp', media_type: 'sticker' }),
        message(5, { from: 'Ben', from_id: 'user43', file: 'video_files/v.mp4', mime_type: 'video/mp4', media_type: 'video_file' }),
        message(6, { from: 'Ben', from_id: 'user43', photo: '(File not included. Change data exporting settings to download.)' }),
        message(7, { from: 'Group', from_id: 'channel1234567890', photo: 'photos/photo_2.jpg' }),
        message(8, { text: ['hello ', { type: 'bold', text: 'all' }] }),
      ]),
      'r',
    );
    assert.deepEqual(
      parsed.photos.map((p) => [p.message, p.file, p.postedBy]),
      [
        [2, 'photos/photo_1@02-01-2022_03-04-05.jpg', 'tg:42'],
        [3, 'files/IMG_1.PNG', 'tg:43'],
        [7, 'photos/photo_2.jpg', undefined],
      ],
    );
    assert.equal(parsed.photos[0]!.postedAt.toISOString(), '2022-01-02T03:04:05.000Z');
    assert.deepEqual(
      parsed.missing.map((m) => [m.message, m.why]),
      [[6, 'File not included. Change data exporting settings to download.']],
    );
    assert.equal(parsed.otherMedia, 2);
  });

  it('GIVEN an export of 50,000 messages THEN every photo and missing file is counted, in message order', () => {
    // Years of a busy group: mostly text, a photo in five, a left-out photo in fifty, service messages.
    const messages = Array.from({ length: 50_000 }, (_, i) => {
      const id = i + 1;
      if (id % 50 === 0) return message(id, { from: 'Ben', from_id: 'user43', photo: '(File not included. Change data exporting settings to download.)' });
      if (id % 5 === 0) return message(id, { from: 'Anna', from_id: 'user42', photo: `photos/photo_${id}.jpg` });
      if (id % 7 === 0) return { id, type: 'service', date: '2022-01-01T00:00:00', action: 'pin_message' };
      return message(id, { text: `message ${id}` });
    });
    const parsed = parseTelegramExport(exportOf('private_supergroup', 1234567890, messages), 'result.json');
    assert.equal(parsed.messages, 50_000);
    assert.equal(parsed.photos.length, 10_000 - 1_000);
    assert.equal(parsed.missing.length, 1_000);
    assert.deepEqual(
      parsed.photos.slice(0, 2).map((p) => p.message),
      [5, 10],
    );
    assert.ok(parsed.photos.every((p, i) => i === 0 || p.message > parsed.photos[i - 1]!.message));
  });

  it('GIVEN a private chat, every chat, a cut JSON or another shape THEN an InputError saying which', () => {
    const refused = (text: string, pattern: RegExp) =>
      assert.throws(
        () => parseTelegramExport(text, 'result.json'),
        (e: unknown) => e instanceof InputError && pattern.test(e.message),
      );
    refused(exportOf('personal_chat', 5), /personal chat, not of a group/);
    refused(exportOf('saved_messages', 5), /saved messages, not of a group/);
    refused(JSON.stringify({ about: 'x', chats: { list: [] } }), /an export of every chat/);
    refused(exportOf('private_supergroup', 1, [message(1, {})]).slice(0, 60), /not complete JSON/);
    refused(JSON.stringify({ name: 'x', type: 'private_group', id: 'abc', messages: [] }), /not a Telegram Desktop chat export \(id: /);
    refused(exportOf('private_group', 5, [{ id: 1, type: 'message', date: 'yesterday' }]), /messages\.0\.date: a message without a usable date/);
  });
});
