import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { FsAlbumStore } from '../../src/albums/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startBots } from '../../src/app/index.ts';
import { GROUP, NO_DATASETS } from '../helpers/datasets.ts';
import { runCommand, startDiscord, type DiscordHarness } from '../helpers/discord.ts';
import type { DiscordUser, EmulatedGuild } from '../emulators/discord/index.ts';

/**
 * A server that removes the bot has its data erased after the grace period, whether the bot saw it
 * go (GUILD_DELETE) or was offline then (the server is simply missing from READY).
 */
describe('Discord: the servers that remove the bot are erased after the grace period', { skip: NO_DATASETS }, () => {
  let h: DiscordHarness;
  let ada: DiscordUser = { id: '', username: '' };
  const guilds: Record<'kept' | 'leftLive' | 'leftOffline', EmulatedGuild> = {} as never;

  before(async () => {
    h = await startDiscord((e) => {
      ada = e.user('ada');
      guilds.kept = e.addGuild({ id: '701', name: 'Kept', ownerId: ada.id });
      guilds.leftLive = e.addGuild({ id: '702', name: 'Left while online', ownerId: ada.id });
      guilds.leftOffline = e.addGuild({ id: '703', name: 'Left while offline', ownerId: ada.id });
      for (const guild of Object.values(guilds)) e.addMember(guild.id, ada);
    });
    const file = (await readdir(path.join(GROUP, 'obama'))).sort()[0]!;
    const bytes = await readFile(path.join(GROUP, 'obama', file));
    for (const guild of Object.values(guilds))
      await h.emulator.postMessage(guild.channels[0]!.id, ada, { attachments: [{ name: file, bytes, contentType: 'image/jpeg' }] });
  });
  after(() => h.close());

  async function libraries(): Promise<string[]> {
    return new FsAlbumStore(h.dir).groups();
  }

  /** `facefile bot` started again on the same data folder, with no grace period, and stopped. */
  async function restart(): Promise<void> {
    const e = h.emulator;
    const config = loadConfig(
      { DATA_DIR: h.dir, WORKERS: '1', DISCORD_TOKEN: e.token, DISCORD_API_ROOT: e.apiRoot, GROUP_ERASE_AFTER_DAYS: '0' },
      { cwd: h.dir },
    );
    const bots = await startBots(config, createLogger('info', pino.destination({ dest: h.logFile, sync: true })));
    await bots.idle();
    await bots.stop();
  }

  it(
    'GIVEN three servers with photos WHEN one removes the bot live and one while it is offline THEN after restarts only the kept one has a library',
    { timeout: 300_000 },
    async () => {
      const e = h.emulator;
      for (let waited = 0; (await libraries()).length < 3 && waited < 60_000; waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
      await h.bots.idle();
      assert.deepEqual(await libraries(), ['dc:701', 'dc:702', 'dc:703']);
      e.removeGuild(guilds.leftLive.id);
      // The gateway delivers in order: once a command sent after the removal is answered, the bot has
      // seen the removal too, and idle() waits for what it started.
      await runCommand(h, { guild: guilds.kept.id, channel: guilds.kept.channels[0]!.id }, ada, 'help');
      await h.bots.idle();
      await h.bots.stop();
      e.removeGuild(guilds.leftOffline.id);
      // The first restart's sweep erases the server marked live; its READY lacks the other one, which
      // it marks; the second restart's sweep erases that one.
      await restart();
      assert.deepEqual(await libraries(), ['dc:701', 'dc:703']);
      await restart();
      assert.deepEqual(await libraries(), ['dc:701']);
    },
  );
});
