import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { silentLog } from '../../src/core/index.ts';
import { startBots, type RunningBots } from '../../src/app/index.ts';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import { runCli } from '../helpers/cli.ts';
import { NO_DATASETS, ROOT, readLabels } from '../helpers/datasets.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';
import { dropPrefix, freshPrefix, redisUrl } from '../helpers/redis.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { writeTelegramExport, type GeneratedExport } from '../helpers/telegram-export.ts';
import { until } from '../helpers/until.ts';

const pg = await postgresUrl();
const redis = await redisUrl();
const SKIP = NO_DATASETS || (!pg && 'no PostgreSQL server') || (!redis && 'no Redis server') || false;

/** The Bot API's id of the exported supergroup. */
const CHAT = -1001987654321;
/** Photos the importer analyses before its gate holds the rest. */
const PASS = 3;

/**
 * `facefile import telegram` beside a running bot, as in a scale-out deployment (PostgreSQL and
 * Redis): the group's /stats, answered by the bot's process, shows the importer's progress read
 * from the library while it runs and after a Ctrl-C; a run to the end tells the group once, in
 * one short message, and answers nobody for the photos themselves.
 */
describe('facefile import telegram: its progress in /stats, and one note to the group at the end', { skip: SKIP }, () => {
  let dir: string;
  let env: Record<string, string>;
  let prefix: string;
  let exported: GeneratedExport;
  let emulator: BotApiEmulator;
  let ada: ReturnType<BotApiEmulator['user']>;
  let bots: RunningBots | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-import-progress-'));
    prefix = freshPrefix('import-progress');
    emulator = await BotApiEmulator.start();
    ada = emulator.user(100, 'Ada');
    emulator.addChat({ id: CHAT, type: 'supergroup', title: 'Old friends' }, { creator: ada });
    env = {
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: await freshSchemaUrl(pg!),
      REDIS_URL: redis!,
      REDIS_PREFIX: prefix,
      TELEGRAM_BOT_TOKEN: emulator.token,
      TELEGRAM_API_ROOT: emulator.apiRoot,
      TELEGRAM_GROUP_INTERVAL_MS: '0',
    };
    const posts = Object.keys(await readLabels())
      .sort()
      .slice(0, 12);
    exported = await writeTelegramExport(path.join(dir, 'ChatExport_2021-05-03'), posts, { id: 1987654321, type: 'private_supergroup' });
    // A photo the export holds that no decoder reads.
    await writeFile(path.join(exported.folder, exported.posts[5]!.file), 'not a photo');
    bots = await startBots(loadConfig({ ...env, WORKERS: '1' }, { cwd: dir }), silentLog);
  });

  after(async () => {
    await bots?.stop();
    await emulator.close();
    await dropPrefix(redis!, prefix);
    await dropSchemas();
    await rm(dir, { recursive: true, force: true });
  });

  async function stats(): Promise<string> {
    const asked = emulator.postText(CHAT, ada, '/stats');
    return textOf(await emulator.waitFor(answerTo(asked), 60_000));
  }

  /** What the bot sent the group that answers nobody's message. */
  const unprompted = () => emulator.sent.filter((s) => s.chat_id === CHAT && s.reply_to_message_id === undefined);

  it('GIVEN an import in another process held after a few photos WHEN the group asks /stats THEN it says how many of how many, how fast and how long is left; after Ctrl-C, that it stopped half way', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'helpers', 'gated-import-child.ts'), 'telegram', exported.folder], {
      // From the project's folder, where `--import tsx` is found.
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, WORKERS: '2', ...env, FACEFILE_TEST_PASS: String(PASS) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until(() => /^HELD$/m.test(stdout) || child.exitCode !== null, 'the import to reach its gate', 300_000, 100);
      assert.match(stdout, /^HELD$/m, stderr);
      const total = exported.posts.length;
      // The photos before the gate are filed (or failed) one by one; the rest wait at it.
      let running: RegExpExecArray | null = null;
      await until(
        async () => {
          running = new RegExp(`^Importing history: (\\d+) of ${total} photos \\(([\\d.,]+)/min, about (.+) left\\)$`, 'm').exec(await stats());
          return running !== null && Number(running[1]) >= PASS;
        },
        'the photos past the gate in /stats',
        120_000,
        200,
      );
      assert.ok(Number(running![1]) < total, `${running![1]} of ${total} while the rest are held`);

      child.kill('SIGINT');
      await until(() => /stopping after the photos under way/.test(stderr), 'the importer to take the Ctrl-C', 60_000, 50);
      child.stdin.write('open\n');
      assert.equal(await exited, 130, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const paused = /^Importing history: (\d+) of (\d+) photos, stopped half way; running the import again goes on from there$/m.exec(await stats());
    assert.ok(paused, 'a stopped import is in /stats');
    assert.ok(Number(paused[1]) >= PASS && Number(paused[1]) < Number(paused[2]), paused[0]);
    assert.deepEqual(unprompted(), [], 'the group is told nothing until the import is done');
  });

  it('WHEN the import is run again to its end THEN the group gets one short note with the counts and /stats no longer shows it', async () => {
    const result = await runCli(['import', 'telegram', exported.folder], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^The group was told in Telegram\.$/m);
    const notes = unprompted();
    assert.equal(notes.length, 1, notes.map(textOf).join('\n'));
    assert.equal(notes[0]!.method, 'sendMessage');
    const note =
      /^The history import is done: (\d+) photos filed(?:, (\d+) here already)?, 1 unreadable, 2 missing from the export\. The ones not filed are listed in the importer's output and its log\.$/.exec(
        textOf(notes[0]!),
      );
    assert.ok(note, textOf(notes[0]!));
    assert.equal(Number(note[1]) + Number(note[2] ?? 0), exported.posts.length - 1, 'every readable photo is in');
    assert.equal(notes[0]!.params['entities'], undefined, 'it mentions nobody');
    assert.ok(!emulator.sent.some((s) => s.method === 'setMessageReaction'), 'no photo was answered');
    assert.doesNotMatch(await stats(), /Importing history/);
  });
});
