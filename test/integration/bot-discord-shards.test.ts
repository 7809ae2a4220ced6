import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiscordBot, type DiscordShards } from '../../src/adapters/discord/index.ts';
import { Bot, type ChatContext, type CommandArgs, type PhotoPost } from '../../src/bot/index.ts';
import { StartupError, type Log } from '../../src/core/index.ts';
import type { PhotoLibrary } from '../../src/core/library/index.ts';
import { PhotoQueue } from '../../src/jobs/index.ts';
import { DiscordEmulator, shardOf, type DiscordUser, type EmulatedGuild } from '../emulators/discord/index.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { answerTo } from '../helpers/discord.ts';
import { sharedEngine } from '../helpers/engine.ts';
import { openTestLibrary } from '../helpers/library.ts';

const STRING = 3;

/** The real bot layer, noting the group of every command and posted photo that reaches it. */
class RecordingBot extends Bot {
  readonly seen: string[] = [];

  override command(ctx: ChatContext, name: string, args: CommandArgs): Promise<void> {
    this.seen.push(ctx.group);
    return super.command(ctx, name, args);
  }

  override photosPosted(post: PhotoPost): Promise<void> {
    this.seen.push(post.group);
    return super.photosPosted(post);
  }
}

/** What one `facefile bot` process holds for Discord: its queue, its bot layer and its adapter, with its log lines. */
interface BotProcess {
  readonly bot: RecordingBot;
  readonly lines: string[];
  idle(): Promise<void>;
}

/** A log that keeps each message with its context, for the assertions. */
function recordingLog(lines: string[]): Log {
  const keep = (context: object, message: string) => void lines.push(`${message} ${JSON.stringify(context)}`);
  return { info: keep, warn: keep, error: keep };
}

/**
 * Starts one bot process's Discord side in `world`, as `startBots` wires it (queue, bot layer,
 * adapter; the adapter before the queue), on the world's library, running `shards`.
 */
async function startProcess(world: World, shards: DiscordShards): Promise<BotProcess> {
  const { emulator, library } = world;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-shard-'));
  const lines: string[] = [];
  const log = recordingLog(lines);
  const queue = new PhotoQueue({ dir, library, log, concurrency: 2 });
  const bot = new RecordingBot({ library, queue, log, eraseAfterDays: 30 });
  const discord = new DiscordBot({
    token: emulator.token,
    apiRoot: emulator.apiRoot,
    scope: 'guild',
    messageContent: true,
    maxDownloadBytes: 5_000_000,
    bot,
    queue,
    log,
    shards,
  });
  world.stops.push(async () => {
    await discord.stop();
    await queue.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await discord.start();
  await queue.start();
  return {
    bot,
    lines,
    async idle() {
      await queue.idle();
      await discord.idle();
    },
  };
}

/** A guild id that Discord's rule puts on `shard` of `count` (the `nth` such id). */
function guildIdOnShard(shard: number, count: number, nth = 0): string {
  const time = 1_100_000_000n * BigInt(count) + BigInt(nth * count + shard);
  return String(time << 22n);
}

interface World {
  readonly emulator: DiscordEmulator;
  readonly library: PhotoLibrary;
  readonly anna: DiscordUser;
  /** The guild on shard 0, then the one on shard 1. */
  readonly guilds: readonly [EmulatedGuild, EmulatedGuild];
  /** Stops a bot process; all run before the emulator closes, which they would otherwise keep reconnecting to. */
  readonly stops: (() => Promise<void>)[];
}

/** An emulator recommending two shards, with a server owned by Anna on each, and a fresh library. */
async function twoShardWorld(t: TestContext): Promise<World> {
  const emulator = await DiscordEmulator.start({ shards: 2 });
  const engine = await sharedEngine();
  const opened = await openTestLibrary(engine);
  const stops: World['stops'] = [];
  t.after(async () => {
    for (const stop of stops) await stop();
    await opened.close();
    await emulator.close();
    assert.deepEqual(emulator.faults, []);
  });
  const anna = emulator.user('anna');
  const [first, second] = [0, 1].map((shard) => {
    const id = guildIdOnShard(shard, 2);
    assert.equal(shardOf(id, 2), shard);
    const guild = emulator.addGuild({ id, name: `Server on shard ${shard}`, ownerId: anna.id });
    emulator.addMember(id, anna);
    return guild;
  });
  return { emulator, library: opened.library, anna, guilds: [first!, second!], stops };
}

/**
 * In one guild: /enroll Obama with a photo is answered, and a posted photo of him is filed under
 * him (the 👍 of the quiet mode). `by` is the process that owns the guild's shard.
 */
async function enrollAndPost(world: World, guild: EmulatedGuild, by: BotProcess): Promise<void> {
  const e = world.emulator;
  const channel = guild.channels[0]!.id;
  await e.waitFor(() => (e.commands.get(guild.id)?.length ?? 0) > 0, 20_000, `commands registered in ${guild.name}`);
  const photo = { name: 'obama.jpg', bytes: await readFile(path.join(GROUP, 'obama', 'obama.jpg')), contentType: 'image/jpeg' };
  const invoked = await e.invokeCommand(guild.id, channel, world.anna, 'enroll', [{ name: 'name', type: STRING, value: 'obama' }], { photo });
  const answer = await answerTo({ emulator: e, bots: by }, invoked, `the answer to /enroll in ${guild.name}`);
  assert.match(answer.text, /obama is enrolled/, guild.name);
  const posted = await e.postMessage(channel, world.anna, {
    attachments: [{ name: 'obama1.jpg', bytes: await readFile(path.join(POSTS, 'obama1.jpg')), contentType: 'image/jpeg' }],
  });
  await e.waitFor(() => e.reactions.some((r) => r.messageId === posted.id && r.emoji === '👍'), 120_000, `the 👍 on the photo posted in ${guild.name}`);
}

describe('Discord bot over two gateway shards', { skip: NO_DATASETS }, () => {
  after(async () => {
    await (await sharedEngine()).close();
  });

  it('GIVEN one process with the count left to Discord THEN it runs both recommended shards and both servers work', async (t) => {
    const world = await twoShardWorld(t);
    const proc = await startProcess(world, { count: 'auto' });
    assert.deepEqual(
      [...world.emulator.identified].sort(([a], [b]) => a - b),
      [
        [0, 2],
        [1, 2],
      ],
    );
    assert.ok(
      proc.lines.some((line) => line.startsWith('Discord: this process runs all 2 shards')),
      proc.lines.join('\n'),
    );
    for (const guild of world.guilds) await enrollAndPost(world, guild, proc);
    assert.deepEqual(new Set(proc.bot.seen), new Set(world.guilds.map((guild) => `dc:${guild.id}`)));
  });

  it('GIVEN two processes running one shard each THEN each server reaches only the process of its shard, and both work', async (t) => {
    const world = await twoShardWorld(t);
    const [onShard0, onShard1] = world.guilds;
    // Shard 1's process first: its server's group exists when shard 0's process connects, which
    // must not take that server's absence from its own shard for the bot having left it.
    const second = await startProcess(world, { count: 2, ids: [1] });
    await enrollAndPost(world, onShard1, second);
    const first = await startProcess(world, { count: 2, ids: [0] });
    await enrollAndPost(world, onShard0, first);
    await first.idle();
    assert.ok(
      first.lines.some((line) => line.startsWith('Discord: this process runs shard 0 of 2')),
      first.lines.join('\n'),
    );
    assert.ok(
      second.lines.some((line) => line.startsWith('Discord: this process runs shard 1 of 2')),
      second.lines.join('\n'),
    );
    assert.deepEqual(new Set(first.bot.seen), new Set([`dc:${onShard0.id}`]));
    assert.deepEqual(new Set(second.bot.seen), new Set([`dc:${onShard1.id}`]));
    // The gateway sent each server's events to its own shard only.
    for (const dispatch of world.emulator.dispatches.filter((d) => d.t === 'MESSAGE_CREATE' || d.t === 'INTERACTION_CREATE')) {
      const guildId = (dispatch.d as { guild_id: string }).guild_id;
      assert.equal(dispatch.shard[0], guildId === onShard0.id ? 0 : 1, `${dispatch.t} of ${guildId}`);
    }
    assert.deepEqual(await world.library.eraseLeftGroups(0), [], 'no group was taken for left');
  });

  it('GIVEN shard 2 of 2 THEN the start is refused with a message that names the shards there are', async (t) => {
    const world = await twoShardWorld(t);
    for (const count of [2, 'auto'] as const) {
      await assert.rejects(startProcess(world, { count, ids: [2] }), (error: unknown) => {
        assert.ok(error instanceof StartupError, String(error));
        assert.match(error.message, /shard 2 does not exist; there are 2 shards.*numbered 0 to 1/);
        return true;
      });
    }
    assert.deepEqual(world.emulator.identified, [], 'no shard connected');
  });
});
