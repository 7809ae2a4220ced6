import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { sha256Hex } from '../../src/core/index.ts';
import { BAD_IMAGES, GROUP, LFW, NO_DATASETS, POSTS, type PostLabel } from '../helpers/datasets.ts';
import { answerTo, startTelegram, textOf, type TelegramHarness } from '../helpers/telegram.ts';
import { SharpImageDecoder } from '../../src/imaging/index.ts';
import { readZip } from '../helpers/zip.ts';
import { parsePairs } from '../../src/eval/verification.ts';

const FAMILY = -1001;
const CLUB = -1002;

describe('Telegram bot, end to end with telegraf and a local Bot API server', { skip: NO_DATASETS }, () => {
  let h: TelegramHarness;
  let labels: Record<string, PostLabel>;
  const ada = { id: 100, first: 'Ada' };
  const bob = { id: 200, first: 'Bob' };

  before(async () => {
    // Small upload parts so that one album needs several zips.
    // Replies are paced at 0.2 s instead of Telegram's 3.1 s per group (a test of its own checks
    // the real pace), and upload parts are small so that one album needs several zips.
    h = await startTelegram(
      { TELEGRAM_MAX_UPLOAD_BYTES: '1500000', TELEGRAM_MAX_DOWNLOAD_BYTES: '3000000', TELEGRAM_GROUP_INTERVAL_MS: '200' },
      { maxDownloadBytes: 3_000_000 },
    );
    const e = h.emulator;
    e.addChat({ id: FAMILY, type: 'supergroup', title: 'Family' }, { creator: e.user(ada.id, ada.first) });
    e.addChat({ id: CLUB, type: 'supergroup', title: 'Club' }, { creator: e.user(300, 'Cy') });
    labels = Object.fromEntries(
      Object.entries(JSON.parse(await readFile(path.join(POSTS, 'labels.json'), 'utf8')) as Record<string, PostLabel>).filter(([k]) => !k.startsWith('_')),
    );
  });
  after(() => h.close());

  it('THEN the commands are registered with Telegram at start', () => {
    const names = (h.emulator.commands ?? []).map((c) => c.command);
    for (const name of ['enroll', 'album', 'people', 'unknown', 'name', 'notthis', 'stats', 'threshold', 'settings', 'forget', 'help']) assert.ok(names.includes(name), name);
  });

  describe('GIVEN the references enrolled with /enroll captions and every post posted (an album, files, photos)', () => {
    const postIds = new Map<string, number>();
    before(async () => {
      const e = h.emulator;
      const from = e.user(ada.id, ada.first);
      for (const person of (await readdir(GROUP)).filter((n) => !n.startsWith('_')).sort()) {
        for (const file of (await readdir(path.join(GROUP, person))).sort()) {
          await e.postPhoto(FAMILY, from, await readFile(path.join(GROUP, person, file)), { caption: `/enroll ${person}` });
        }
      }
      await e.idle();
      await h.bots.idle();
      const files = Object.keys(labels);
      for (const [i, file] of files.entries()) {
        const bytes = await readFile(path.join(POSTS, file));
        // Some as an album (one media_group_id), some as files (originals), the rest as photos.
        const message =
          i < 5 ? await e.postPhoto(FAMILY, from, bytes, { mediaGroupId: 'album-1' })
          : i % 3 === 0 ? await e.postDocument(FAMILY, from, bytes, file, file.endsWith('.png') ? 'image/png' : 'image/jpeg')
          : await e.postPhoto(FAMILY, from, bytes);
        postIds.set(file, message.message_id);
      }
      await e.idle();
      await h.bots.idle();
    });

    it('THEN every enrolment was confirmed', () => {
      const enrolled = h.emulator.sent.filter((s) => s.chat_id === FAMILY && /is enrolled|Added another photo/.test(textOf(s)));
      assert.equal(enrolled.length, 49, h.emulator.sent.filter((s) => s.chat_id === FAMILY).map(textOf).join('\n'));
    });

    it('THEN /album of each person returns zips under the upload limit that unzip to exactly the posts labels.json gives them', async () => {
      const e = h.emulator;
      for (const person of ['obama', 'leonard', 'kit_harington', 'sheldon']) {
        const before = e.sent.length;
        e.postText(FAMILY, e.user(bob.id, bob.first), `/album ${person}`);
        await e.idle();
        await h.bots.idle();
        const docs = e.sent.slice(before).filter((s) => s.method === 'sendDocument' && s.chat_id === FAMILY);
        assert.ok(docs.length >= 1, `${person}: no zip`);
        const hashes = new Set<string>();
        for (const doc of docs) {
          assert.ok(doc.document!.bytes.length <= 1_500_000, `${doc.document!.fileName}: ${doc.document!.bytes.length} bytes`);
          const file = path.join(h.dir, `received-${doc.message_id}.zip`);
          await writeFile(file, doc.document!.bytes);
          for (const entry of await readZip(file)) hashes.add(sha256Hex(entry.bytes));
        }
        for (const [file] of postIds) {
          const hash = sha256Hex(await readFile(path.join(POSTS, file)));
          assert.equal(hashes.has(hash), labels[file]!.people.includes(person), `${file} in ${person}'s zips`);
        }
        if (person === 'obama') assert.ok(docs.length >= 2, 'a large album comes in several parts');
        assert.ok(e.calls.slice(0).some((c) => c.method === 'sendChatAction' && c.params.action === 'upload_document'), 'uploading… shown');
      }
    });

    it('THEN /album of someone unknown answers with the list of people', async () => {
      const e = h.emulator;
      const message = e.postText(FAMILY, e.user(bob.id, bob.first), '/album Nobody');
      const reply = await e.waitFor(answerTo(message));
      assert.match(textOf(reply), /don't know that name.*obama/s);
    });

    it('WHEN a member sets the threshold THEN it is refused and unchanged; WHEN the admin does THEN it is applied', async () => {
      const e = h.emulator;
      const refused = e.postText(FAMILY, e.user(bob.id, bob.first), '/threshold 0.9');
      assert.match(textOf(await e.waitFor(answerTo(refused))), /Only the group's admins/);
      const show = e.postText(FAMILY, e.user(ada.id, ada.first), '/threshold');
      assert.match(textOf(await e.waitFor(answerTo(show))), /0\.930/);
      const set = e.postText(FAMILY, e.user(ada.id, ada.first), '/threshold 0.95');
      assert.match(textOf(await e.waitFor(answerTo(set))), /Threshold set to 0\.950/);
      const anonymous = e.postText(FAMILY, 'anonymous-admin', '/threshold 0.93');
      assert.match(textOf(await e.waitFor(answerTo(anonymous))), /Threshold set to 0\.930/);
      const report = e.postText(FAMILY, e.user(ada.id, ada.first), '/threshold report 0.9');
      const plot = await e.waitFor(answerTo(report));
      assert.equal(plot.method, 'sendPhoto');
      assert.equal((await sharp(plot.photo).metadata()).format, 'png');
    });

    it('THEN another group sees none of these people', async () => {
      const e = h.emulator;
      const message = e.postText(CLUB, e.user(300, 'Cy'), '/people');
      assert.match(textOf(await e.waitFor(answerTo(message))), /Nobody is enrolled/);
      const photo = await e.postPhoto(CLUB, e.user(300, 'Cy'), await readFile(path.join(POSTS, 'obama1.jpg')), { caption: '/enroll obama' });
      await e.waitFor(answerTo(photo));
      const stats = e.postText(CLUB, e.user(300, 'Cy'), '/people');
      const people = textOf(await e.waitFor(answerTo(stats)));
      assert.match(people, /obama: 1 photo/);
      assert.doesNotMatch(people, /sheldon/);
    });

    it('WHEN a member says /forget me THEN only what is theirs goes; WHEN the admin forgets a name THEN it is gone', async () => {
      const e = h.emulator;
      const bobUser = e.user(bob.id, bob.first);
      const selfie = await e.postPhoto(FAMILY, bobUser, await readFile(path.join(LFW, 'AJ_Cook', 'AJ_Cook_0001.jpg')), { caption: '/enroll me' });
      assert.match(textOf(await e.waitFor(answerTo(selfie))), /Bob is enrolled/);
      const notAdmin = e.postText(FAMILY, bobUser, '/forget sheldon');
      assert.match(textOf(await e.waitFor(answerTo(notAdmin))), /Only the group's admins/);
      const forgetMe = e.postText(FAMILY, bobUser, '/forget me');
      assert.match(textOf(await e.waitFor(answerTo(forgetMe))), /Bob is forgotten/);
      const forget = e.postText(FAMILY, e.user(ada.id, ada.first), '/forget sheldon');
      assert.match(textOf(await e.waitFor(answerTo(forget))), /sheldon is forgotten/);
      const people = e.postText(FAMILY, bobUser, '/people');
      const list = textOf(await e.waitFor(answerTo(people)));
      assert.doesNotMatch(list, /sheldon|Bob/);
      assert.match(list, /leonard/);
    });
  });

  it('GIVEN a photo of six with /enroll THEN the bot sends the numbered faces, and /enroll <name> <n> as a reply enrols that face', async () => {
    const e = h.emulator;
    const ada2 = e.user(ada.id, ada.first);
    const chat = -1003;
    e.addChat({ id: chat, type: 'group', title: 'Six' }, { creator: ada2 });
    const photo = await e.postPhoto(chat, ada2, await readFile(path.join(POSTS, 'bbt4.jpg')), { caption: '/enroll Amy' });
    const sheet = await e.waitFor(answerTo(photo));
    assert.equal(sheet.method, 'sendPhoto');
    assert.match(textOf(sheet), /6 faces.*\/enroll Amy <number>/s);
    // Try each number until the reference photo of Amy is recognised as Amy: exactly one must work.
    const amyRef = await readFile(path.join(GROUP, 'amy', 'amy3.png'));
    const answer = e.postText(chat, ada2, '/enroll Amy 7', { replyTo: photo.message_id });
    assert.match(textOf(await e.waitFor(answerTo(answer))), /no face with that number: pick 1 to 6/);
    let right = 0;
    for (let n = 1; n <= 6 && right === 0; n++) {
      const enrol = e.postText(chat, ada2, `/enroll Amy${n} ${n}`, { replyTo: photo.message_id });
      assert.match(textOf(await e.waitFor(answerTo(enrol))), new RegExp(`Amy${n} is enrolled`));
      const settings = e.postText(chat, ada2, '/settings summary');
      await e.waitFor(answerTo(settings));
      // A fresh encoding each time: the same bytes twice would be a duplicate, not a new photo.
      const probe = await e.postPhoto(chat, ada2, await sharp(amyRef).jpeg({ quality: 80 + n }).toBuffer());
      const verdict = textOf(await e.waitFor(answerTo(probe), 60_000));
      if (verdict.includes(`Filed under Amy${n}`)) right = n;
      else {
        const forget = e.postText(chat, ada2, `/forget Amy${n}`);
        await e.waitFor(answerTo(forget));
      }
    }
    assert.ok(right > 0, 'one of the six numbers is Amy');
  });

  it('GIVEN every bad-images file posted as a document THEN each undecodable one gets a short error reply, and the bot keeps serving', { timeout: 300_000 }, async () => {
    const e = h.emulator;
    const manifest = (await readFile(path.join(BAD_IMAGES, 'MANIFEST.tsv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split('\t'));
    // Private chats: replies to one chat are paced, so the files are spread over several.
    const chats = Array.from({ length: 12 }, (_, i) => 5000 + i);
    for (const id of chats) e.addChat({ id, type: 'private' });
    const posted: { id: number; chat: number; file: string; outcome: string }[] = [];
    for (const [i, [file, bytesText, , outcome]] of manifest.entries()) {
      const chat = chats[i % chats.length]!;
      const bytes = await readFile(path.join(BAD_IMAGES, file!));
      if (Number(bytesText) === 0 || bytes.length === 0) continue; // Telegram refuses empty files
      const message = await e.postDocument(chat, e.user(chat, 'Tester'), bytes, path.basename(file!), 'image/jpeg');
      posted.push({ id: message.message_id, chat, file: file!, outcome: outcome! });
    }
    await e.idle();
    await h.bots.idle();
    const decoder = new SharpImageDecoder();
    let errors = 0;
    for (const p of posted) {
      const reply = e.sent.find((s) => s.chat_id === p.chat && s.reply_to_message_id === p.id);
      if ((await decoder.decode(await readFile(path.join(BAD_IMAGES, p.file)))).ok) continue;
      errors++;
      assert.ok(reply, `${p.file}: no reply`);
      assert.match(textOf(reply), /^(I can't read this photo: .+\.|This file is larger than)/, p.file);
      assert.ok(textOf(reply).length < 300);
    }
    assert.ok(errors >= 100, `${errors} files got an error reply`);
    const ping = e.postText(chats[0]!, e.user(chats[0]!, 'Tester'), '/stats');
    assert.match(textOf(await e.waitFor(answerTo(ping))), /Photos: \d+/);
  });

  it('GIVEN a file over the download limit THEN it is declined politely', async () => {
    const e = h.emulator;
    e.addChat({ id: 6001, type: 'private' });
    const big = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer();
    assert.ok(big.length > 3_000_000);
    const message = await e.postDocument(6001, e.user(6001, 'Big'), big, 'huge.png', 'image/png');
    assert.match(textOf(await e.waitFor(answerTo(message))), /larger than the 3 MB a bot can download/);
  });

  it('GIVEN a burst of 300 photos across 3 chats while Telegram answers 429 THEN every photo is filed and the 429 is waited out', { timeout: 600_000 }, async () => {
    const e = h.emulator;
    const images = [...new Set(parsePairs(await readFile(path.join(LFW, 'pairsDevTest.txt'), 'utf8')).flatMap((p) => [p.a, p.b]))].slice(0, 300);
    const chats = [-2001, -2002, -2003];
    const admin = e.user(ada.id, ada.first);
    for (const id of chats) e.addChat({ id, type: 'supergroup' }, { creator: admin });
    // Each chat knows one person with several photos in the burst, so some photos get a 👍.
    const bush = images.filter((f) => f.startsWith('Donald_Rumsfeld'));
    assert.ok(bush.length >= 5, `${bush.length} photos of him in the burst`);
    for (const id of chats) {
      const m = await e.postPhoto(id, admin, await readFile(path.join(LFW, bush[0]!)), { caption: '/enroll Donald' });
      await e.waitFor(answerTo(m), 60_000);
    }
    e.failNext('setMessageReaction', { error_code: 429, description: 'Too Many Requests: retry after 1', retry_after: 1 }, 3);
    for (const [i, file] of images.entries()) await e.postPhoto(chats[i % 3]!, admin, await readFile(path.join(LFW, file)));
    await e.idle();
    await h.bots.idle();
    for (const id of chats) {
      const stats = e.postText(id, admin, '/stats');
      const text = textOf(await e.waitFor(answerTo(stats)));
      const expected = new Set(images.filter((_, i) => chats[i % 3] === id).concat(bush[0]!)).size;
      assert.match(text, new RegExp(`Photos: ${expected}\\b`), `chat ${id}: ${text}`);
    }
    const refused = e.calls.filter((c) => c.method === 'setMessageReaction' && c.error?.error_code === 429);
    assert.equal(refused.length, 3);
    const retried = e.calls.filter((c) => c.method === 'setMessageReaction' && !c.error && c.at >= refused[0]!.at);
    assert.ok(retried.length > 0 && retried[0]!.at - refused[0]!.at >= 900, 'the retry came after retry_after');
    // The enrolment photo itself comes again in the burst as a duplicate: no 👍 for that one.
    assert.ok(e.sent.filter((s) => s.method === 'setMessageReaction' && chats.includes(s.chat_id)).length >= bush.length - 2, 'photos of him got their 👍');
  });

  it('THEN messages to one chat are spaced by the configured interval, chats independently', () => {
    const sends = h.emulator.calls.filter((c) => c.method === 'sendMessage' && !c.error && c.chat_id === FAMILY);
    assert.ok(sends.length > 50);
    for (let i = 1; i < sends.length; i++) assert.ok(sends[i]!.at - sends[i - 1]!.at >= 190, `gap of ${sends[i]!.at - sends[i - 1]!.at} ms`);
  });

  it('THEN the bot token never appears in its log', async () => {
    const log = await readFile(h.logFile, 'utf8');
    assert.ok(log.length > 0);
    assert.equal(log.includes(h.emulator.token), false);
    assert.equal(log.includes(h.emulator.token.split(':')[1]!), false);
  });
});
