import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parsePairs } from '../../src/eval/verification.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startBots, type RunningBots } from '../../src/app/index.ts';
import { BAD_IMAGES, GROUP, LFW, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { attachment, DiscordDriver } from '../helpers/discord-driver.ts';
import { describeBotBehaviour } from '../helpers/bot-behaviour.ts';
import { runCommand, startDiscord } from '../helpers/discord.ts';
import { photoCount } from '../helpers/bot-answers.ts';
import { Gate, gatedEngine } from '../helpers/gate.ts';
import { until } from '../helpers/until.ts';
import { Permission, type DiscordUser } from '../emulators/discord/index.ts';

const STRING = 3;

/**
 * The Discord bot: the behaviour every platform shares (test/helpers/bot-behaviour.ts), then what
 * only Discord does, on the same bot; one library per channel and a restart need bots of their own.
 */
describeBotBehaviour(
  'Discord',
  () => DiscordDriver.start(),
  (driver) => {
    it('THEN the slash and context-menu commands are registered per server, the admin ones hidden from members', async () => {
      const bot = driver();
      const group = await bot.group('Commands');
      const commands = bot.harness.emulator.commands.get(group.id) ?? [];
      const names = commands.map((c) => c.name);
      for (const name of [
        'enroll',
        'album',
        'people',
        'unknown',
        'name',
        'stats',
        'help',
        'threshold',
        'settings',
        'forget',
        'Enroll a face from this photo',
        'Not this person',
      ]) {
        assert.ok(names.includes(name), name);
      }
      for (const name of ['threshold', 'settings'])
        assert.equal(commands.find((c) => c.name === name)?.default_member_permissions, String(Permission.ManageGuild), name);
      // /forget stays visible: `name:me` is every member's, and names are checked for admins on use.
      for (const name of ['people', 'forget']) assert.equal(commands.find((c) => c.name === name)?.default_member_permissions ?? null, null, name);
    });

    it('WHEN a context-menu command is used on a message THEN a modal asks for the name, or a message without a photo is refused', async () => {
      const bot = driver();
      const e = bot.harness.emulator;
      const group = await bot.group('Menus');
      const channel = bot.guild(group).channels[0]!.id;
      const [post] = await bot.postPhotos(group, 'member', [{ name: 'biden.jpg', bytes: await readFile(path.join(GROUP, 'biden', 'biden.jpg')) }]);
      for (const name of ['Enroll a face from this photo', 'Not this person']) {
        const invoked = e.invokeMessageCommand(group.id, channel, bot.user('member'), name, post!.messageId);
        const modal = await e.waitFor(() => e.callbacks.find((c) => c.interactionId === invoked.id), 10_000, 'the modal');
        assert.equal(modal.type, 9, name);
      }
      const text = await e.postMessage(channel, bot.user('member'), { content: 'hello' });
      const invoked = e.invokeMessageCommand(group.id, channel, bot.user('member'), 'Not this person', text.id);
      const refusal = await e.waitFor(() => e.callbacks.find((c) => c.interactionId === invoked.id), 10_000, 'the refusal');
      assert.equal(refusal.type, 4);
      assert.match(refusal.content ?? '', /photo/);
    });

    it('GIVEN one message with a good photo and an unreadable one THEN the error reply names the file it is about', async () => {
      const bot = driver();
      const group = await bot.group('Two in one');
      const good = { name: 'obama1.jpg', bytes: await readFile(path.join(POSTS, 'obama1.jpg')) };
      const bad = { name: 'invalid-crc32.png', bytes: await readFile(path.join(BAD_IMAGES, 'go-image-png', 'invalid-crc32.png')) };
      const [post] = await bot.postPhotos(group, 'member', [good, bad]);
      const replies = bot.repliesTo(post!);
      assert.equal(replies.length, 1, replies.join(' | '));
      assert.match(replies[0]!, /invalid-crc32\.png/);
    });

    it('WHEN a member with Manage Server runs an admin command THEN it is allowed', async () => {
      const bot = driver();
      const e = bot.harness.emulator;
      const group = await bot.group('Managers');
      const manager = e.user('mia');
      e.addMember(group.id, manager, { permissions: Permission.ManageGuild });
      const answer = await runCommand(bot.harness, { guild: group.id, channel: bot.guild(group).channels[0]!.id }, manager, 'threshold', [
        { name: 'value', type: 10, value: 0.95 },
      ]);
      assert.match(answer.text, /0\.950?\b/);
    });

    it('THEN the emulator saw no request it could not answer', () => {
      assert.deepEqual(driver().harness.emulator.faults, []);
    });
  },
);

describe('Discord bot with one library per channel', { skip: NO_DATASETS }, () => {
  it('GIVEN DISCORD_LIBRARY_SCOPE=channel THEN a person enrolled in one channel is unknown in another of the same server', async () => {
    // One worker: a second set of models would only make the start slower.
    const bot = await DiscordDriver.start({ DISCORD_LIBRARY_SCOPE: 'channel', WORKERS: '1' });
    try {
      const e = bot.harness.emulator;
      const guild = '1300000000000000001';
      const anna = bot.user('admin');
      const [first, second] = e.addGuild({ id: guild, name: 'Channels', ownerId: anna.id, channels: [{ name: 'one' }, { name: 'two' }] }).channels;
      e.addMember(guild, anna);
      await e.waitFor(() => (e.commands.get(guild)?.length ?? 0) > 0, 10_000, 'commands registered');
      const photo = attachment({ name: 'obama.jpg', bytes: await readFile(path.join(GROUP, 'obama', 'obama.jpg')) });
      const enrolled = await runCommand(bot.harness, { guild, channel: first!.id }, anna, 'enroll', [{ name: 'name', type: STRING, value: 'obama' }], {
        photo,
      });
      assert.match(enrolled.text, /obama/);
      assert.match((await runCommand(bot.harness, { guild, channel: first!.id }, anna, 'people')).text, /obama/);
      assert.doesNotMatch((await runCommand(bot.harness, { guild, channel: second!.id }, anna, 'people')).text, /obama/);
    } finally {
      await bot.close();
    }
  });
});

describe('Discord bot, restarted in the middle of a burst', { skip: NO_DATASETS }, () => {
  it('GIVEN a stop while photos are queued THEN after a restart every photo is filed, once', { timeout: 300_000 }, async () => {
    const GUILD = '1100000000000000009';
    let dora: DiscordUser | undefined;
    let channel = '';
    // The engine holds every photo until the stop has begun: the stop comes in the middle of the
    // burst on a fast machine as on a slow one.
    const gate = new Gate();
    const first = await startDiscord(
      (e) => {
        dora = e.user('dora');
        channel = e.addGuild({ id: GUILD, name: 'Restart', ownerId: dora.id }).channels[0]!.id;
        e.addMember(GUILD, dora);
      },
      {},
      {},
      { wrapEngine: (engine) => gatedEngine(engine, gate) },
    );
    const e = first.emulator;
    const queued = async () => (await readdir(path.join(first.dir, 'queue'))).filter((f) => f.endsWith('.json')).length;
    let second: RunningBots | undefined;
    try {
      const images = [...new Set(parsePairs(await readFile(path.join(LFW, 'pairsDevTest.txt'), 'utf8')).flatMap((p) => [p.a, p.b]))].slice(300, 380);
      for (let i = 0; i < images.length; i += 10) {
        const files = await Promise.all(
          images.slice(i, i + 10).map(async (file) => attachment({ name: path.basename(file), bytes: await readFile(path.join(LFW, file)) })),
        );
        await e.postMessage(channel, dora!, { attachments: files });
      }
      await until(async () => (await queued()) === images.length, 'every photo queued', 120_000);
      // The stop starts no new photo; the few held in the engine finish once the gate opens.
      const stopping = first.bots.stop();
      gate.open();
      await stopping;
      const left = await queued();
      assert.ok(left > 0 && left < images.length, `the stop came in the middle of the burst (${left} of ${images.length} left)`);

      const config = loadConfig(
        { DATA_DIR: first.dir, DISCORD_TOKEN: e.token, DISCORD_API_ROOT: e.apiRoot, WORKERS: '2', LOG_LEVEL: 'silent' },
        { cwd: first.dir },
      );
      second = await startBots(config, createLogger('silent'));
      await second.idle();
      assert.deepEqual(
        (await readdir(path.join(first.dir, 'queue'))).filter((f) => !f.startsWith('.')),
        [],
        'the queue is empty',
      );
      assert.equal(photoCount((await runCommand({ ...first, bots: second }, { guild: GUILD, channel }, dora!, 'stats')).text), new Set(images).size);
    } finally {
      gate.open();
      await second?.stop();
      await first.close();
    }
  });
});
