import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { groupId, sha256Hex } from '../../src/core/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startBots, type RunningBots } from '../../src/app/index.ts';
import { openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { GROUP, NO_DATASETS, POSTS, readLabels } from '../helpers/datasets.ts';
import { answerTo } from '../helpers/discord.ts';
import { originalHash8, readZipBytes } from '../helpers/zip.ts';
import { DiscordEmulator, type DiscordUser, type EmulatedGuild, type InvokedInteraction } from '../emulators/discord/index.ts';

const STRING = 3;
const BOOLEAN = 5;
const CHANNEL = 7;
const EPHEMERAL = 64;
const MANAGE_GUILD = 0x20n;
const HISTORY = /^GET \/channels\/(\d+)\/messages$/;

/**
 * Discord's /import against the emulator, with the real discord.js, wiring and models: the
 * history of every channel the bot can read is paged back (100 a request, through a 429), its
 * photos filed with their messages' dates and channels, a restart goes on from the saved cursor
 * and nothing is filed twice, walls hold for imported photos, a channel the bot cannot read ends
 * in one line, and only admins may start it.
 */
describe('Discord: /import files the photos already posted', { skip: NO_DATASETS }, () => {
  let emulator: DiscordEmulator;
  let dir: string;
  let bots: RunningBots | undefined;
  let guild: EmulatedGuild;
  let ada: DiscordUser;
  let bob: DiscordUser;
  let general: string, staff: string, secret: string, bots_: string;
  const group = groupId({ platform: 'discord', guildId: '910' });
  /** Every message of #general and #staff, oldest first. */
  const history: { channel: string; id: string }[] = [];
  /** The photos in the readable channels, by content hash: where and when they were posted. */
  const photos = new Map<string, { channel: string; postedAt: Date }>();
  let imagesPosted = 0;
  let secretPhoto = '';

  async function start(): Promise<RunningBots> {
    const config = loadConfig(
      { DATA_DIR: dir, WORKERS: '2', LOG_LEVEL: 'info', DISCORD_TOKEN: emulator.token, DISCORD_API_ROOT: emulator.apiRoot },
      { cwd: dir },
    );
    bots = await startBots(config, createLogger(config.logLevel, pino.destination({ dest: path.join(dir, 'bot.log'), sync: true })));
    return bots;
  }

  const h = {
    get emulator() {
      return emulator;
    },
    bots: { idle: () => bots!.idle() },
  };

  before(async () => {
    emulator = await DiscordEmulator.start();
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-backfill-'));
    ada = emulator.user('ada');
    bob = emulator.user('bob');
    guild = emulator.addGuild({
      id: '910',
      name: 'Club',
      ownerId: ada.id,
      channels: [{ name: 'general' }, { name: 'staff' }, { name: 'secret' }, { name: 'bots' }],
    });
    // Commands are run in #bots, so that the bot's answers are not in the history counted here.
    [general, staff, secret, bots_] = guild.channels.map((c) => c.id) as [string, string, string, string];
    emulator.addMember(guild.id, ada);
    emulator.addMember(guild.id, bob);
    emulator.hideChannel(staff, bob.id);
    emulator.hideChannel(secret, emulator.botUser.id);
    // The history, posted before the bot ever ran: 232 messages in #general (three pages), 28 in
    // #staff, Obama's posts spread over both, one photo posted twice, a text file, and one photo
    // in #secret, which the bot cannot read.
    const labels = await readLabels();
    const obama = Object.keys(labels)
      .filter((f) => labels[f]!.people.includes('obama'))
      .sort();
    assert.ok(obama.length >= 3, 'the data set has posts of Obama');
    const at = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000);
    const image = async (file: string) => ({ name: file, bytes: await readFile(path.join(POSTS, file)), contentType: 'image/jpeg' });
    const photoAt: Record<number, { channel: () => string; file: string }> = {
      3: { channel: () => general, file: obama[0]! },
      40: { channel: () => staff, file: obama[1]! },
      150: { channel: () => general, file: obama[2]! },
      // The same photo again, a page later: filed once.
      250: { channel: () => general, file: obama[0]! },
    };
    for (let i = 0; i < 260; i++) {
      // #staff: every ninth message (28 in all, the photo at 40 one of them); #general the other 232.
      const photo = photoAt[i];
      const channel = photo?.channel() ?? (i % 9 === 4 && i < 250 ? staff : general);
      const attachments = photo ? [await image(photo.file)] : i === 7 ? [{ name: 'notes.txt', bytes: Buffer.from('minutes'), contentType: 'text/plain' }] : [];
      const message = await emulator.postMessage(channel, ada, { content: `message ${i}`, attachments, postedAt: at(i) });
      history.push({ channel, id: message.id });
      if (photoAt[i]) {
        imagesPosted++;
        const hash = sha256Hex(attachments[0]!.bytes);
        // History is read newest first: a photo posted twice is filed once, dated by its latest post.
        photos.set(hash, { channel, postedAt: at(i) });
      }
    }
    // A photo of its own (the same picture, encoded again): its hash is in no readable channel.
    const hidden = { ...(await image(obama[1]!)), name: 'secret.jpg' };
    hidden.bytes = await sharp(hidden.bytes).jpeg({ quality: 70 }).toBuffer();
    await emulator.postMessage(secret, ada, { attachments: [hidden], postedAt: at(400) });
    secretPhoto = sha256Hex(hidden.bytes);
    await start();
    for (const file of (await readdir(path.join(GROUP, 'obama'))).sort()) {
      const bytes = await readFile(path.join(GROUP, 'obama', file));
      const invoked = await emulator.invokeCommand(guild.id, bots_, ada, 'enroll', [{ name: 'name', type: STRING, value: 'Obama' }], {
        photo: { name: file, bytes, contentType: 'image/jpeg' },
      });
      await answerTo(h, invoked, 'the enrolment');
    }
  });

  after(async () => {
    await bots?.stop();
    await emulator.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A promise, or a failure naming what never came after `ms`: a missing feature fails, never hangs. */
  async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
    try {
      return await Promise.race([promise, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The texts the bot wrote into an interaction's one private answer, in order. */
  function edits(invoked: InvokedInteraction): { text: string; flags: number }[] {
    return emulator.followUps
      .filter((f) => f.interactionId === invoked.id && f.kind === 'editOriginal')
      .map((f) => ({ text: f.content ?? '', flags: f.flags }));
  }

  async function finalText(invoked: InvokedInteraction, pattern: RegExp): Promise<string> {
    return emulator.waitFor(() => edits(invoked).find((e) => pattern.test(e.text))?.text, 300_000, `an answer matching ${String(pattern)}`);
  }

  /** What /stats answers Ada in #bots (not waiting for the bot to be idle: an import may be held). */
  async function stats(): Promise<string> {
    const invoked = await emulator.invokeCommand(guild.id, bots_, ada, 'stats');
    return finalText(invoked, /^Photos: /);
  }

  it('GIVEN a member who is not an admin WHEN they run /import THEN they are refused privately and no history is read', async () => {
    const invoked = await emulator.invokeCommand(guild.id, bots_, bob, 'import');
    const reply = await emulator.waitFor(() => emulator.callbacks.find((c) => c.interactionId === invoked.id), 30_000, 'the refusal');
    assert.match(reply.content ?? '', /Only the group's admins/);
    assert.equal(reply.flags & EPHEMERAL, EPHEMERAL);
    assert.equal(emulator.calls.filter((c) => HISTORY.test(`${c.method} ${c.path}`)).length, 0);
    const registered = emulator.commands.get(guild.id)?.find((c) => c.name === 'import');
    assert.equal(registered?.default_member_permissions, MANAGE_GUILD.toString(), '/import is hidden from members');
  });

  it('GIVEN three channels of history, one unreadable WHEN an admin imports, Discord rate-limits a page and the bot restarts half way THEN every photo of the readable channels is filed once, from where it stopped', async () => {
    // Discord says 429 to the first page; discord.js waits and asks again.
    emulator.failNext(HISTORY, { retryAfter: 0.3 });
    // The second page of #general is held: the bot is stopped while it waits for it.
    const secondPage = emulator.hold((line, query) => line === `GET /channels/${general}/messages` && query.has('before'));
    const first = await emulator.invokeCommand(guild.id, bots_, ada, 'import');
    await within(secondPage.reached, 120_000, 'the second page of #general');
    const cursorAtStop = history.filter((m) => m.channel === general).at(-100)!.id;
    await bots!.stop();
    secondPage.release();
    const limited = emulator.calls.filter((c) => HISTORY.test(`${c.method} ${c.path}`) && c.status === 429);
    assert.equal(limited.length, 1, 'the 429 was answered');
    assert.ok(
      emulator.calls.some((c) => c.path === limited[0]!.path && c.status === 200 && c.at >= limited[0]!.at),
      'the rate-limited page was asked again',
    );
    assert.ok(
      edits(first).every((e) => (e.flags & EPHEMERAL) === EPHEMERAL),
      'the progress is private',
    );

    // After the restart the import goes on by itself, below the last page it queued.
    const resumedPage = emulator.hold((line) => line === `GET /channels/${general}/messages`);
    const callsBefore = emulator.calls.length;
    await start();
    await within(resumedPage.reached, 120_000, 'the import going on after the restart');
    // /stats, from the cursors the library keeps: the photos so far and the channels read, of four.
    const importing = /^Importing history: (\d+) photos?, (\d) of 4 channels read/m.exec(await stats());
    assert.ok(importing, 'the import under way is in /stats');
    assert.ok(Number(importing[1]) >= 1 && Number(importing[1]) < imagesPosted, `${importing[1]} photos so far`);
    // /import again while it runs: this answer follows it from now on.
    const second = await emulator.invokeCommand(guild.id, bots_, ada, 'import');
    await emulator.waitFor(() => edits(second).length > 0, 30_000, 'the import under way to be shown');
    resumedPage.release();
    const done = await finalText(second, /^Import finished/);
    await bots!.idle();

    const resumed = emulator.calls.slice(callsBefore).find((c) => c.path === `/channels/${general}/messages`)!;
    assert.equal(new URLSearchParams(resumed.query).get('before'), cursorAtStop, 'the restart went on from the saved cursor');
    for (const call of emulator.calls.filter((c) => HISTORY.test(`${c.method} ${c.path}`))) {
      assert.equal(new URLSearchParams(call.query).get('limit'), '100', 'a page is 100 messages');
    }
    // #bots holds the bot's own answers: read, never filed.
    const read = Number(/(\d+) messages read/.exec(done)?.[1]);
    assert.ok(read >= history.length, `${read} messages read of ${history.length}`);
    assert.match(done, new RegExp(`messages read, ${imagesPosted} photos queued`));
    assert.match(done, /#secret: I cannot read this channel/);
    assert.match(done, /1 channel could not be read/);
    assert.ok(
      emulator.calls.some((c) => c.path === `/channels/${secret}/messages` && c.status === 403),
      'Discord refused #secret',
    );

    const database = await openLibraryDatabase({ dataDir: dir });
    try {
      const rows = await database.db.selectFrom('photos').select(['hash', 'posted_at', 'source']).where('group_id', '=', group).execute();
      const imported = rows.filter((r) => (JSON.parse(r.source ?? '{}') as { message?: string }).message !== undefined);
      assert.deepEqual(imported.map((r) => r.hash).sort(), [...photos.keys()].sort(), 'each photo of the readable channels filed, once');
      for (const row of imported) {
        const posted = photos.get(row.hash)!;
        assert.equal(new Date(row.posted_at).toISOString(), posted.postedAt.toISOString(), "a photo carries its message's date");
        assert.equal((JSON.parse(row.source!) as { chat: string }).chat, posted.channel, 'and its channel');
      }
      assert.ok(!rows.some((r) => r.hash === secretPhoto), 'nothing of #secret');
    } finally {
      await database.close();
    }
    // One public line where /import was run, once it is done; nobody answered for an imported photo.
    const note = await emulator.waitFor(() => emulator.messages[0], 60_000, 'the note that the import is done');
    assert.equal(emulator.messages.length, 1, emulator.messages.map((m) => m.content).join('\n'));
    assert.equal(note.channelId, bots_);
    assert.equal(note.replyTo, undefined);
    assert.equal(
      note.content,
      `History import done: ${imagesPosted} photos queued for filing (behind new posts), 0 skipped, 1 channel I could not read; the details are in the answer to /import and in the bot's log.`,
    );
    const posted = emulator.calls.find((c) => c.method === 'POST' && c.path === `/channels/${bots_}/messages`)!;
    assert.deepEqual((posted.body as { allowed_mentions?: unknown }).allowed_mentions, { parse: [] }, 'the note pings nobody');
    assert.doesNotMatch(await stats(), /Importing history/, 'a finished import is no longer in /stats');
    assert.deepEqual(emulator.reactions, []);
    assert.deepEqual(emulator.faults, []);
  });

  it('GIVEN photos imported from #staff WHEN Bob, who cannot see #staff, asks for the album THEN he gets #general only; Ada gets both', async () => {
    const album = async (user: DiscordUser) => {
      const invoked = await emulator.invokeCommand(guild.id, bots_, user, 'album', [{ name: 'name', type: STRING, value: 'Obama' }]);
      const answer = await answerTo(h, invoked, 'the album');
      const hashes = new Set<string>();
      for (const message of answer.followUps)
        for (const file of message.files) for (const entry of await readZipBytes(file.bytes)) hashes.add(originalHash8(entry.name));
      return (hash: string) => hashes.has(hash.slice(0, 8));
    };
    const forBob = await album(bob);
    const forAda = await album(ada);
    const inStaff = [...photos].filter(([, p]) => p.channel === staff).map(([hash]) => hash);
    const inGeneral = [...photos].filter(([, p]) => p.channel === general).map(([hash]) => hash);
    assert.ok(inStaff.length > 0 && inGeneral.length > 0);
    for (const hash of inStaff) assert.ok(!forBob(hash), 'an imported #staff photo reached Bob');
    for (const hash of inGeneral) assert.ok(forBob(hash), 'an imported #general photo is in his album');
    for (const hash of [...inStaff, ...inGeneral]) assert.ok(forAda(hash), 'Ada sees every imported photo');
  });

  it('GIVEN an import under way WHEN the admin cancels it THEN it stops with its counts and is not resumed', async () => {
    const page = emulator.hold((line) => line === `GET /channels/${general}/messages`);
    const started = await emulator.invokeCommand(guild.id, bots_, ada, 'import', [{ name: 'channel', type: CHANNEL, value: general }]);
    await within(page.reached, 120_000, 'the first page of #general');
    const cancel = await emulator.invokeCommand(guild.id, bots_, ada, 'import', [{ name: 'cancel', type: BOOLEAN, value: true }]);
    const text = await finalText(cancel, /^Import cancelled/);
    page.release();
    assert.match(text, /0 messages read/);
    await finalText(started, /^Import cancelled/);
    const database = await openLibraryDatabase({ dataDir: dir });
    try {
      assert.deepEqual(await database.db.selectFrom('history_imports').selectAll().where('group_id', '=', group).execute(), [], 'nothing left to resume');
    } finally {
      await database.close();
    }
  });

  it('GIVEN an import under way WHEN the bot is removed from the server THEN the import stops and nothing is left to resume', async () => {
    const page = emulator.hold((line) => line === `GET /channels/${general}/messages`);
    const started = await emulator.invokeCommand(guild.id, bots_, ada, 'import');
    await within(page.reached, 120_000, 'the first page of #general');
    const rows = async () => {
      const database = await openLibraryDatabase({ dataDir: dir });
      try {
        return await database.db.selectFrom('history_imports').selectAll().where('group_id', '=', group).execute();
      } finally {
        await database.close();
      }
    };
    assert.equal((await rows()).length, 4, 'a cursor per channel while it runs');
    emulator.removeGuild(guild.id);
    await finalText(started, /^Import cancelled/);
    page.release();
    assert.deepEqual(await rows(), []);
  });
});
