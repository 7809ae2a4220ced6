import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startBots } from '../../src/app/index.ts';
import { GROUP, NO_DATASETS } from '../helpers/datasets.ts';
import { answerTo, startTelegram, textOf, type TelegramHarness } from '../helpers/telegram.ts';

const OLD = -5001;
const NEW = -1005001;

/**
 * A Telegram group's life: upgraded to a supergroup (a new chat id), its library must follow; the
 * bot removed from it, everything of the group must be erased after the grace period.
 */
describe('Telegram: a group upgraded to a supergroup keeps its library; a group the bot left is erased', { skip: NO_DATASETS }, () => {
  let h: TelegramHarness;
  const ada = { id: 100, first: 'Ada' };

  before(async () => {
    h = await startTelegram({ TELEGRAM_GROUP_INTERVAL_MS: '50' });
    const e = h.emulator;
    e.addChat({ id: OLD, type: 'group', title: 'Family' }, { creator: e.user(ada.id, ada.first) });
    const photos = (await readdir(path.join(GROUP, 'obama'))).sort();
    await e.postPhoto(OLD, e.user(ada.id, ada.first), await readFile(path.join(GROUP, 'obama', photos[0]!)), { caption: '/enroll Obama' });
    for (const file of photos.slice(1)) await e.postPhoto(OLD, e.user(ada.id, ada.first), await readFile(path.join(GROUP, 'obama', file)));
    await e.idle();
    await h.bots.idle();
  });
  after(() => h.close());

  it('GIVEN a group with an album WHEN it is upgraded to a supergroup THEN the new chat has the same people and album, and the old id holds nothing', async () => {
    const e = h.emulator;
    e.migrateToSupergroup(OLD, NEW);
    await e.idle();
    await h.bots.idle();
    const people = e.postText(NEW, e.user(ada.id, ada.first), '/people');
    assert.match(textOf(await e.waitFor(answerTo(people))), /Obama: \d+ photos?/);
    const album = e.postText(NEW, e.user(ada.id, ada.first), '/album Obama');
    const sent = await e.waitFor((s) => s.chat_id === NEW && s.method === 'sendDocument', 60_000);
    assert.ok(sent.document && sent.document.bytes.length > 0, `a zip for ${album.message_id}`);
    const groups = await readdir(path.join(h.dir, 'groups'));
    assert.ok(!groups.some((g) => g.includes(String(-OLD)) && !g.includes(String(-NEW))), `the old group's folder is gone: ${groups.join(', ')}`);
  });

  it('GIVEN the bot removed from the group THEN /help said so, and after the grace period the next start erases all of it', async () => {
    const e = h.emulator;
    const help = e.postText(NEW, e.user(ada.id, ada.first), '/help');
    assert.match(textOf(await e.waitFor(answerTo(help))), /If I am removed from this group, everything I stored for it is erased after 30 days/);
    e.setBotMembership(NEW, 'left', e.user(ada.id, ada.first));
    await e.idle();
    await h.bots.idle();
    assert.ok((await readdir(path.join(h.dir, 'groups'))).length > 0, 'nothing is erased during the grace period');
    await h.bots.stop();
    // The grace period, shortened to nothing for the test: the start-up sweep erases the group.
    const config = loadConfig(
      { DATA_DIR: h.dir, WORKERS: '1', TELEGRAM_BOT_TOKEN: e.token, TELEGRAM_API_ROOT: e.apiRoot, GROUP_ERASE_AFTER_DAYS: '0' },
      { cwd: h.dir },
    );
    const restarted = await startBots(config, createLogger('info', pino.destination({ dest: h.logFile, sync: true })));
    try {
      assert.deepEqual(await readdir(path.join(h.dir, 'groups')), []);
    } finally {
      await restarted.stop();
      // The harness stops the first bots again on close: a second stop waits for the first.
    }
  });
});
