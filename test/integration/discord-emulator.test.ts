import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  Client,
  Events,
  GatewayIntentBits,
  type ChatInputCommandInteraction,
  type ClientEvents,
  type Guild,
  type Interaction,
  type Message,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import WebSocket from 'ws';
import { DiscordEmulator, Permission, type DiscordEmulatorOptions, type DiscordUser, type EmulatedGuild } from '../emulators/discord/index.ts';
import { NO_DATASETS, POSTS } from '../helpers/datasets.ts';

const GUILD_ID = '1100000000000000001';
const ALL_INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent];

interface Harness {
  readonly emulator: DiscordEmulator;
  readonly client: Client;
  readonly guild: EmulatedGuild;
  readonly channelId: string;
  readonly anna: DiscordUser;
  readonly ben: DiscordUser;
}

/**
 * An emulator with one guild (Anna owner, Ben a member with ManageGuild) and a real discord.js
 * client logged in to it and ready; both are torn down when the test ends.
 */
async function harness(t: TestContext, intents: readonly GatewayIntentBits[] = ALL_INTENTS, options: DiscordEmulatorOptions = {}): Promise<Harness> {
  const emulator = await DiscordEmulator.start(options);
  const anna = emulator.user('anna');
  const ben = emulator.user('ben');
  const guild = emulator.addGuild({ id: GUILD_ID, name: 'Family', ownerId: anna.id });
  emulator.addMember(GUILD_ID, anna);
  emulator.addMember(GUILD_ID, ben, { permissions: Permission.ManageGuild });
  const client = new Client({ intents: [...intents], rest: { api: emulator.apiRoot } });
  t.after(async () => {
    await client.destroy();
    await emulator.close();
    // An exception or an unknown route inside the emulator is a gap in the test double.
    assert.deepEqual(emulator.faults, []);
  });
  const ready = once(client, Events.ClientReady);
  await client.login(emulator.token);
  await ready;
  return { emulator, client, guild, channelId: guild.channels[0]!.id, anna, ben };
}

/** The next event of the client that `accept` takes, or a failure after five seconds. */
function nextEvent<K extends keyof ClientEvents, T>(client: Client, event: K, accept: (...args: ClientEvents[K]) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no ${event} within 5 s`));
    }, 5000);
    function listener(...args: ClientEvents[K]): void {
      const accepted = accept(...args);
      if (accepted === undefined) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(accepted);
    }
    client.on(event, listener);
  });
}

const nextMessage = (client: Client): Promise<Message> => nextEvent(client, Events.MessageCreate, (message: Message) => message);
const nextCommand = (client: Client): Promise<ChatInputCommandInteraction> =>
  nextEvent(client, Events.InteractionCreate, (interaction: Interaction) => (interaction.isChatInputCommand() ? interaction : undefined));

async function registerCommands(guild: Guild): Promise<void> {
  await guild.commands.set([
    {
      name: 'enroll',
      description: 'Enroll a face',
      options: [
        { name: 'name', description: 'Who', type: ApplicationCommandOptionType.String, required: true },
        { name: 'photo', description: 'A photo', type: ApplicationCommandOptionType.Attachment, required: true },
      ],
    },
    { name: 'album', description: 'Your album' },
    { name: 'File this photo', type: ApplicationCommandType.Message },
  ]);
}

async function photo(): Promise<Buffer> {
  return readFile(path.join(POSTS, 'bbt1.jpg'));
}

describe('Discord emulator with a real discord.js client', () => {
  it('GIVEN a guild WHEN the client logs in THEN it is ready, sees the guild and identified with its intents', async (t) => {
    const { emulator, client, anna, channelId } = await harness(t);
    assert.equal(client.user?.id, emulator.botUser.id);
    assert.equal(client.application?.id, emulator.applicationId);
    const guild = client.guilds.cache.get(GUILD_ID);
    assert.equal(guild?.name, 'Family');
    assert.equal(guild.ownerId, anna.id);
    assert.ok(guild.channels.cache.has(channelId));
    assert.equal(emulator.identifiedIntents, GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent);
    const ready = emulator.dispatches.find((dispatch) => dispatch.t === 'READY');
    assert.equal(ready?.s, 1);
    assert.equal(emulator.dispatches.find((dispatch) => dispatch.t === 'GUILD_CREATE')?.s, 2);
  });

  it('GIVEN a short heartbeat interval THEN the client heartbeats and, ACKed, keeps its session', async (t) => {
    const { emulator } = await harness(t, ALL_INTENTS, { heartbeatIntervalMs: 100 });
    await emulator.waitFor(() => emulator.heartbeats >= 3, 5000, 'three heartbeats');
    assert.equal(emulator.dispatches.filter((dispatch) => dispatch.t === 'READY').length, 1);
    assert.ok(emulator.connected);
  });

  it('GIVEN a wrong token THEN REST answers 401 and login fails with TokenInvalid', async (t) => {
    const emulator = await DiscordEmulator.start({ token: 'right.token.value' });
    const client = new Client({ intents: ALL_INTENTS, rest: { api: emulator.apiRoot } });
    t.after(async () => {
      await client.destroy();
      await emulator.close();
    });
    await assert.rejects(client.login('wrong.token.value'), { code: 'TokenInvalid' });
    assert.equal(emulator.calls.at(-1)?.status, 401);
  });

  it('GIVEN a raw gateway socket THEN it gets HELLO, heartbeat ACKs, and close 4004 for a wrong token', async (t) => {
    const emulator = await DiscordEmulator.start({ heartbeatIntervalMs: 1234 });
    t.after(() => emulator.close());
    const socket = new WebSocket(`${emulator.gatewayUrl}?v=10&encoding=json`);
    const received: unknown[] = [];
    socket.on('message', (raw: Buffer) => received.push(JSON.parse(raw.toString('utf8'))));
    await once(socket, 'open');
    await emulator.waitFor(() => received.length >= 1);
    assert.deepEqual(received[0], { op: 10, d: { heartbeat_interval: 1234 } });
    socket.send(JSON.stringify({ op: 1, d: null }));
    await emulator.waitFor(() => received.length >= 2);
    assert.deepEqual(received[1], { op: 11, d: null });
    const closed = once(socket, 'close');
    socket.send(JSON.stringify({ op: 2, d: { token: 'nope', intents: 1, properties: {} } }));
    const [code] = (await closed) as [number];
    assert.equal(code, 4004);
  });

  it('GIVEN guild.commands.set THEN the emulator stores the commands and keeps their ids on overwrite', async (t) => {
    const { emulator, client } = await harness(t);
    const guild = client.guilds.cache.get(GUILD_ID)!;
    await registerCommands(guild);
    const stored = emulator.commands.get(GUILD_ID) ?? [];
    assert.deepEqual(
      stored.map((command) => command.name),
      ['enroll', 'album', 'File this photo'],
    );
    const firstIds = stored.map((command) => command.id);
    await registerCommands(guild);
    assert.deepEqual(
      (emulator.commands.get(GUILD_ID) ?? []).map((command) => command.id),
      firstIds,
    );
    const fetched = await guild.commands.fetch();
    assert.equal(fetched.size, 3);
  });

  it('GIVEN a member posts a photo THEN messageCreate carries it and the bot downloads the exact bytes', { skip: NO_DATASETS }, async (t) => {
    const { emulator, client, channelId, ben } = await harness(t);
    const bytes = await photo();
    const arrived = nextMessage(client);
    await emulator.postMessage(channelId, ben, { content: 'look', attachments: [{ name: 'bbt1.jpg', bytes, contentType: 'image/jpeg' }] });
    const message = await arrived;
    assert.equal(message.content, 'look');
    assert.equal(message.author.id, ben.id);
    const attachment = message.attachments.first();
    assert.equal(attachment?.name, 'bbt1.jpg');
    assert.equal(attachment.size, bytes.length);
    assert.ok(attachment.width !== null && attachment.width > 0);
    const downloaded = Buffer.from(await (await fetch(attachment.url)).arrayBuffer());
    assert.ok(downloaded.equals(bytes));
  });

  it('GIVEN no MessageContent intent THEN messages arrive without content or attachments unless they mention the bot', async (t) => {
    const { emulator, client, channelId, ben } = await harness(t, [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
    const first = nextMessage(client);
    await emulator.postMessage(channelId, ben, { content: 'secret', attachments: [{ name: 'a.txt', bytes: Buffer.from('x'), contentType: 'text/plain' }] });
    const hidden = await first;
    assert.equal(hidden.content, '');
    assert.equal(hidden.attachments.size, 0);
    const second = nextMessage(client);
    await emulator.postMessage(channelId, ben, { content: `<@${emulator.botUser.id}> hello` });
    assert.equal((await second).content, `<@${emulator.botUser.id}> hello`);
  });

  it(
    'GIVEN a slash command with an attachment option THEN the interaction resolves it, and a deferred follow-up stores the zip',
    { skip: NO_DATASETS },
    async (t) => {
      const { emulator, client, channelId, ben } = await harness(t);
      await registerCommands(client.guilds.cache.get(GUILD_ID)!);
      const bytes = await photo();
      const arrived = nextCommand(client);
      const invoked = await emulator.invokeCommand(GUILD_ID, channelId, ben, 'enroll', [{ name: 'name', type: 3, value: 'Ben' }], {
        photo: { name: 'ben.jpg', bytes, contentType: 'image/jpeg' },
      });
      const interaction = await arrived;
      assert.equal(interaction.id, invoked.id);
      assert.equal(interaction.commandName, 'enroll');
      assert.equal(interaction.options.getString('name'), 'Ben');
      const attachment = interaction.options.getAttachment('photo', true);
      assert.equal(attachment.name, 'ben.jpg');
      assert.ok(Buffer.from(await (await fetch(attachment.url)).arrayBuffer()).equals(bytes));
      assert.ok(interaction.memberPermissions?.has('ManageGuild'));
      assert.equal(interaction.memberPermissions?.has('Administrator'), false);
      assert.equal(interaction.attachmentSizeLimit, 10 * 1024 * 1024);

      const zip = Buffer.from('PK\x03\x04 not really a zip');
      await interaction.deferReply();
      await interaction.followUp({ content: 'your album', files: [{ attachment: zip, name: 'a.zip' }] });
      assert.deepEqual(
        emulator.callbacks.map((callback) => callback.type),
        [5],
      );
      const followUp = emulator.followUps[0];
      assert.equal(followUp?.kind, 'followUp');
      assert.equal(followUp.content, 'your album');
      assert.equal(followUp.files[0]?.name, 'a.zip');
      assert.ok(followUp.files[0].bytes.equals(zip));
      const served = ((followUp.message.attachments as unknown[])[0] as { url: string }).url;
      assert.ok(Buffer.from(await (await fetch(served)).arrayBuffer()).equals(zip));
    },
  );

  it('GIVEN an upload above the attachment size limit THEN the follow-up fails with 413 and nothing is stored', async (t) => {
    const { emulator, client, channelId, ben } = await harness(t, ALL_INTENTS, { attachmentSizeLimit: 1000 });
    await registerCommands(client.guilds.cache.get(GUILD_ID)!);
    const arrived = nextCommand(client);
    await emulator.invokeCommand(GUILD_ID, channelId, ben, 'album');
    const interaction = await arrived;
    assert.equal(interaction.attachmentSizeLimit, 1000);
    await interaction.deferReply();
    await assert.rejects(interaction.followUp({ files: [{ attachment: Buffer.alloc(1001), name: 'big.zip' }] }), { status: 413, code: 40005 });
    assert.deepEqual(emulator.followUps, []);
  });

  it('GIVEN a slash command WHEN the bot replies "hi" and edits it THEN a type 4 callback and an edit are recorded', async (t) => {
    const { emulator, client, channelId, anna } = await harness(t);
    await registerCommands(client.guilds.cache.get(GUILD_ID)!);
    const arrived = nextCommand(client);
    await emulator.invokeCommand(GUILD_ID, channelId, anna, 'album');
    const interaction = await arrived;
    assert.ok(interaction.memberPermissions?.has('Administrator'), 'the owner has every permission');
    await interaction.reply('hi');
    assert.deepEqual(
      emulator.callbacks.map(({ type, content }) => ({ type, content })),
      [{ type: 4, content: 'hi' }],
    );
    const edited = await interaction.editReply('hello');
    assert.equal(edited.content, 'hello');
    assert.equal(emulator.followUps[0]?.kind, 'editOriginal');
  });

  it('GIVEN a message context-menu command THEN the interaction targets the message', async (t) => {
    const { emulator, client, channelId, ben } = await harness(t);
    await registerCommands(client.guilds.cache.get(GUILD_ID)!);
    const posted = await emulator.postMessage(channelId, ben, { content: 'file me' });
    const arrived = nextEvent(client, Events.InteractionCreate, (interaction: Interaction) =>
      interaction.isMessageContextMenuCommand() ? interaction : undefined,
    );
    emulator.invokeMessageCommand(GUILD_ID, channelId, ben, 'File this photo', posted.id);
    const interaction: MessageContextMenuCommandInteraction = await arrived;
    assert.equal(interaction.targetMessage.id, posted.id);
    assert.equal(interaction.targetMessage.content, 'file me');
  });

  it('GIVEN a posted message WHEN the bot reacts and replies THEN the emulator records both', async (t) => {
    const { emulator, client, channelId, ben } = await harness(t);
    const arrived = nextMessage(client);
    await emulator.postMessage(channelId, ben, { content: 'hello bot' });
    const message = await arrived;
    await message.react('👍');
    await message.reply({ content: 'filed', files: [{ attachment: Buffer.from('abc'), name: 'note.txt' }] });
    assert.deepEqual(emulator.reactions, [{ channelId, messageId: message.id, emoji: '👍', removed: false }]);
    const sent = emulator.messages[0];
    assert.equal(sent?.content, 'filed');
    assert.equal(sent.replyTo, message.id);
    assert.equal(sent.files[0]?.name, 'note.txt');
  });

  it('GIVEN a 429 injected once on a route THEN discord.js waits retry_after and the retry succeeds', async (t) => {
    const { emulator, client, channelId, ben } = await harness(t);
    const arrived = nextMessage(client);
    await emulator.postMessage(channelId, ben, { content: 'react to me' });
    const message = await arrived;
    emulator.failNext(/^PUT \/channels\/\d+\/messages\/\d+\/reactions\//, { retryAfter: 0.3 });
    await message.react('✅');
    const attempts = emulator.calls.filter((call) => call.path.includes('/reactions/'));
    assert.deepEqual(
      attempts.map((call) => call.status),
      [429, 204],
    );
    assert.ok(attempts[1]!.at - attempts[0]!.at >= 280, `retried after ${attempts[1]!.at - attempts[0]!.at} ms`);
    assert.deepEqual(
      emulator.reactions.map((reaction) => reaction.emoji),
      ['✅'],
    );
  });

  it('GIVEN a guild added after login THEN the client gets GUILD_CREATE', async (t) => {
    const { emulator, client, anna } = await harness(t);
    const arrived = nextEvent(client, Events.GuildCreate, (guild: Guild) => guild);
    emulator.addGuild({ id: '1100000000000000002', name: 'Friends', ownerId: anna.id });
    const guild = await arrived;
    assert.equal(guild.name, 'Friends');
    assert.equal(client.guilds.cache.size, 2);
  });

  it('GIVEN a dropped connection THEN the client resumes and receives what was posted meanwhile', async (t) => {
    const { emulator, client, channelId, ben } = await harness(t);
    emulator.dropConnections();
    const arrived = nextMessage(client);
    await emulator.postMessage(channelId, ben, { content: 'while you were away' });
    assert.equal((await arrived).content, 'while you were away');
    await emulator.waitFor(() => emulator.dispatches.some((dispatch) => dispatch.t === 'RESUMED'), 5000, 'RESUMED');
  });
});

/** Guild ids that Discord's rule, `(id >> 22) % 2`, puts on shard 0 and on shard 1 of two. */
const ON_SHARD_0 = String(1_100_000_000n << 22n);
const ON_SHARD_1 = String(1_100_000_001n << 22n);

interface RawSession {
  /** The dispatches received, in order. */
  readonly events: { readonly t: string; readonly d: Record<string, unknown> }[];
  /** The close code, once the emulator closes the socket. */
  readonly closed: Promise<number>;
}

/** A raw gateway socket that identifies with `shard` (none when undefined); closed when the test ends. */
async function identify(t: TestContext, emulator: DiscordEmulator, shard?: unknown): Promise<RawSession> {
  const socket = new WebSocket(`${emulator.gatewayUrl}?v=10&encoding=json`);
  t.after(() => socket.terminate());
  const events: RawSession['events'][number][] = [];
  socket.on('message', (raw: Buffer) => {
    const payload = JSON.parse(raw.toString('utf8')) as { op: number; t: string; d: Record<string, unknown> };
    if (payload.op === 0) events.push({ t: payload.t, d: payload.d });
  });
  const closed = once(socket, 'close').then(([code]) => code as number);
  await once(socket, 'open');
  const intents = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;
  socket.send(JSON.stringify({ op: 2, d: { token: emulator.token, intents, properties: {}, ...(shard === undefined ? {} : { shard }) } }));
  return { events, closed };
}

/** An emulator recommending two shards, with one guild on each (Anna in both). */
async function twoShards(t: TestContext): Promise<{ emulator: DiscordEmulator; anna: DiscordUser; channels: readonly [string, string] }> {
  const emulator = await DiscordEmulator.start({ shards: 2 });
  t.after(async () => {
    await emulator.close();
    assert.deepEqual(emulator.faults, []);
  });
  const anna = emulator.user('anna');
  const channels = [ON_SHARD_0, ON_SHARD_1].map((id, i) => {
    const guild = emulator.addGuild({ id, name: `Server ${i}`, ownerId: anna.id });
    emulator.addMember(id, anna);
    return guild.channels[0]!.id;
  });
  return { emulator, anna, channels: [channels[0]!, channels[1]!] };
}

const guildIdsOf = (events: RawSession['events'], t: string): unknown[] =>
  events.filter((event) => event.t === t).map((event) => event.d.guild_id ?? event.d.id);

describe('Discord emulator with two shards', () => {
  it("GIVEN a session per shard THEN GET /gateway/bot recommends two, READY lists only the shard's guilds, and each guild's events reach only its shard", async (t) => {
    const { emulator, anna, channels } = await twoShards(t);
    const gateway = (await (await fetch(`${emulator.apiRoot}/v10/gateway/bot`, { headers: { authorization: `Bot ${emulator.token}` } })).json()) as {
      shards: number;
    };
    assert.equal(gateway.shards, 2);
    const sessions = [await identify(t, emulator, [0, 2]), await identify(t, emulator, [1, 2])];
    await emulator.waitFor(() => sessions.every((s) => s.events.some((event) => event.t === 'GUILD_CREATE')), 5000, 'READY and GUILD_CREATE on both shards');
    for (const [shard, session] of sessions.entries()) {
      const ready = session.events.find((event) => event.t === 'READY')!;
      assert.deepEqual(ready.d.shard, [shard, 2]);
      assert.deepEqual(
        (ready.d.guilds as { id: string }[]).map((guild) => guild.id),
        [[ON_SHARD_0, ON_SHARD_1][shard]],
      );
    }
    await emulator.postMessage(channels[0], anna, { content: 'to shard 0' });
    await emulator.postMessage(channels[1], anna, { content: 'to shard 1' });
    await emulator.waitFor(() => sessions.every((s) => s.events.some((event) => event.t === 'MESSAGE_CREATE')), 5000, 'a message on each shard');
    assert.deepEqual(guildIdsOf(sessions[0]!.events, 'GUILD_CREATE'), [ON_SHARD_0]);
    assert.deepEqual(guildIdsOf(sessions[1]!.events, 'GUILD_CREATE'), [ON_SHARD_1]);
    // Each socket's dispatches arrive in order, so a message of the other guild would have come first.
    assert.deepEqual(guildIdsOf(sessions[0]!.events, 'MESSAGE_CREATE'), [ON_SHARD_0]);
    assert.deepEqual(guildIdsOf(sessions[1]!.events, 'MESSAGE_CREATE'), [ON_SHARD_1]);
    assert.deepEqual(emulator.identified, [
      [0, 2],
      [1, 2],
    ]);
  });

  it("GIVEN no session for shard 1 and two for shard 0 THEN shard 1's guild events go to nobody and shard 0's to both", async (t) => {
    const { emulator, anna, channels } = await twoShards(t);
    const first = await identify(t, emulator, [0, 2]);
    const second = await identify(t, emulator, [0, 2]);
    await emulator.waitFor(() => [first, second].every((s) => s.events.some((event) => event.t === 'GUILD_CREATE')), 5000, 'both sessions ready');
    await emulator.postMessage(channels[1], anna, { content: 'nobody hears this' });
    await emulator.postMessage(channels[0], anna, { content: 'both hear this' });
    await emulator.waitFor(() => [first, second].every((s) => s.events.some((event) => event.t === 'MESSAGE_CREATE')), 5000, 'the message on both sessions');
    // Dispatches are recorded as they are sent, in postMessage itself.
    const messages = emulator.dispatches.filter((dispatch) => dispatch.t === 'MESSAGE_CREATE');
    assert.deepEqual(
      messages.map((dispatch) => [(dispatch.d as { guild_id: string }).guild_id, dispatch.shard]),
      [
        [ON_SHARD_0, [0, 2]],
        [ON_SHARD_0, [0, 2]],
      ],
    );
  });

  it('GIVEN IDENTIFY with a shard id not below its count, or a malformed shard THEN the socket is closed with 4010', async (t) => {
    const emulator = await DiscordEmulator.start({ shards: 2 });
    t.after(() => emulator.close());
    for (const shard of [[2, 2], [0, 0], [-1, 2], [1.5, 2], [0], 'zero']) {
      const session = await identify(t, emulator, shard);
      assert.equal(await session.closed, 4010, JSON.stringify(shard));
    }
    assert.deepEqual(emulator.identified, []);
  });

  it("GIVEN a discord.js client running shard 1 of 2 THEN it is ready with only that shard's guild and gets only its messages", async (t) => {
    const { emulator, anna, channels } = await twoShards(t);
    const client = new Client({ intents: ALL_INTENTS, shards: [1], shardCount: 2, rest: { api: emulator.apiRoot } });
    t.after(() => client.destroy());
    const ready = once(client, Events.ClientReady);
    await client.login(emulator.token);
    await ready;
    assert.deepEqual([...client.guilds.cache.keys()], [ON_SHARD_1]);
    const seen: string[] = [];
    client.on(Events.MessageCreate, (message) => seen.push(message.content));
    await emulator.postMessage(channels[0], anna, { content: 'for shard 0' });
    await emulator.postMessage(channels[1], anna, { content: 'for shard 1' });
    await emulator.waitFor(() => seen.length > 0, 5000, 'a message');
    assert.deepEqual(seen, ['for shard 1']);
    assert.deepEqual(emulator.identified, [[1, 2]]);
  });
});
