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
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { answerTo } from '../helpers/discord.ts';
import { originalHash8, readZipBytes } from '../helpers/zip.ts';
import { DiscordEmulator, type DiscordUser, type EmulatedGuild } from '../emulators/discord/index.ts';

const STRING = 3;

/**
 * Discord's /import takes a channel's threads along: the active ones the client holds, the
 * archived public ones and the archived private ones the bot was added to, each photo keeping its
 * thread as its channel, so that a private thread's photos reach only those who may read it.
 */
describe('Discord: /import reads the threads of the channels too', { skip: NO_DATASETS }, () => {
  let emulator: DiscordEmulator;
  let dir: string;
  let bots: RunningBots | undefined;
  let guild: EmulatedGuild;
  let ada: DiscordUser;
  let bob: DiscordUser;
  let general: string, botsChannel: string;
  const group = groupId({ platform: 'discord', guildId: '920' });
  /** Each imported photo's hash, by where it was posted. */
  const posted = new Map<string, string>();
  const where: Record<string, string> = {};
  const h = {
    get emulator() {
      return emulator;
    },
    bots: { idle: () => bots!.idle() },
  };

  before(async () => {
    emulator = await DiscordEmulator.start();
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-backfill-threads-'));
    ada = emulator.user('ada');
    bob = emulator.user('bob');
    guild = emulator.addGuild({ id: '920', name: 'Club', ownerId: ada.id, channels: [{ name: 'general' }, { name: 'bots' }] });
    [general, botsChannel] = guild.channels.map((c) => c.id) as [string, string];
    emulator.addMember(guild.id, ada);
    emulator.addMember(guild.id, bob);
    const at = (i: number) => new Date(Date.UTC(2024, 2, 1) + i * 60_000);
    // Four photos of Obama, each encoded apart so that each has a hash of its own.
    const bytes = await readFile(path.join(POSTS, 'obama1.jpg'));
    const variants = await Promise.all([90, 85, 80, 75].map((quality) => sharp(bytes).jpeg({ quality }).toBuffer()));
    where.active = emulator.addThread(general, ada, { name: 'trip' });
    where.archived = emulator.addThread(general, ada, { name: 'last year' });
    where.private = emulator.addThread(general, ada, { name: 'committee', private: true });
    where.general = general;
    for (const [i, place] of ['general', 'active', 'archived', 'private'].entries()) {
      const image = variants[i]!;
      await emulator.postMessage(where[place]!, ada, {
        content: place,
        attachments: [{ name: `${place}.jpg`, bytes: image, contentType: 'image/jpeg' }],
        postedAt: at(i),
      });
      posted.set(place, sha256Hex(image));
    }
    // Archived before the bot ever ran: only Discord's archived-thread lists still name them.
    emulator.archiveThread(where.archived);
    emulator.archiveThread(where.private);
    const config = loadConfig(
      { DATA_DIR: dir, WORKERS: '2', LOG_LEVEL: 'info', DISCORD_TOKEN: emulator.token, DISCORD_API_ROOT: emulator.apiRoot },
      { cwd: dir },
    );
    bots = await startBots(config, createLogger(config.logLevel, pino.destination({ dest: path.join(dir, 'bot.log'), sync: true })));
    for (const file of (await readdir(path.join(GROUP, 'obama'))).sort()) {
      const sample = await readFile(path.join(GROUP, 'obama', file));
      const invoked = await emulator.invokeCommand(guild.id, botsChannel, ada, 'enroll', [{ name: 'name', type: STRING, value: 'Obama' }], {
        photo: { name: file, bytes: sample, contentType: 'image/jpeg' },
      });
      await answerTo(h, invoked, 'the enrolment');
    }
  });

  after(async () => {
    await bots?.stop();
    await emulator.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN photos in a channel, its active thread, an archived thread and an archived private thread WHEN an admin imports THEN each is filed with its thread as its channel', async () => {
    await emulator.invokeCommand(guild.id, botsChannel, ada, 'import');
    const note = await emulator.waitFor(() => emulator.messages.find((m) => /^History import done/.test(m.content)), 300_000, 'the end of the import');
    assert.match(note.content, /^History import done: 4 photos queued/);
    await bots!.idle();
    for (const route of [`/channels/${general}/threads/archived/public`, `/channels/${general}/users/@me/threads/archived/private`])
      assert.ok(
        emulator.calls.some((c) => c.method === 'GET' && c.path === route && c.status === 200),
        `${route} was asked`,
      );
    const database = await openLibraryDatabase({ dataDir: dir });
    try {
      const rows = await database.db.selectFrom('photos').select(['hash', 'source']).where('group_id', '=', group).execute();
      const chatOf = new Map(rows.map((r) => [r.hash, (JSON.parse(r.source ?? '{}') as { chat?: string }).chat]));
      for (const [place, hash] of posted) assert.equal(chatOf.get(hash), where[place], `the ${place} photo is filed, from its own channel`);
    } finally {
      await database.close();
    }
    assert.deepEqual(emulator.faults, []);
  });

  it("GIVEN the private thread's photo imported WHEN Bob, who is not in that thread, asks for the album THEN it is left out; Ada gets all four", async () => {
    const album = async (user: DiscordUser) => {
      const invoked = await emulator.invokeCommand(guild.id, botsChannel, user, 'album', [{ name: 'name', type: STRING, value: 'Obama' }]);
      const answer = await answerTo(h, invoked, 'the album');
      const hashes = new Set<string>();
      for (const message of answer.followUps)
        for (const file of message.files) for (const entry of await readZipBytes(file.bytes)) hashes.add(originalHash8(entry.name));
      return (hash: string) => hashes.has(hash.slice(0, 8));
    };
    const forBob = await album(bob);
    const forAda = await album(ada);
    for (const place of ['general', 'active', 'archived']) assert.ok(forBob(posted.get(place)!), `Bob gets the ${place} photo`);
    assert.ok(!forBob(posted.get('private')!), "the private thread's photo reached Bob");
    for (const hash of posted.values()) assert.ok(forAda(hash), 'Ada, in the private thread, gets every photo');
  });
});
