import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { groupId } from '../../src/core/index.ts';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import { linkKnownFaces, runCli } from '../helpers/cli.ts';
import { NO_DATASETS, POSTS, ROOT, readLabels, type PostLabel } from '../helpers/datasets.ts';
import { assertExportFiled, sha256File, storedPhotos, type StoredPhoto } from '../helpers/stored-photos.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { writeTelegramExport, type GeneratedExport } from '../helpers/telegram-export.ts';
import { until } from '../helpers/until.ts';

/** Two supergroups, as the Bot API and their exports name them. */
const CHAT = -1001987654321;
const GROUP = groupId({ platform: 'telegram', chatId: CHAT });
const LATER_CHAT = -1001987654322;
const LATER = groupId({ platform: 'telegram', chatId: LATER_CHAT });

interface BotProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

/**
 * `facefile bot` as a real child process through test/helpers/counted-bot-child.ts (the same CLI,
 * with a gate in front of the engine that lets a counted number of photos through); resolves once
 * it says it is running.
 */
function startBot(env: Record<string, string>, pass?: number): Promise<BotProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'helpers', 'counted-bot-child.ts')], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env, ...(pass !== undefined ? { FACEFILE_TEST_PASS: String(pass) } : {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('facefile bot is running')) resolve({ child, exited, stdout: () => stdout, stderr: () => stderr });
    });
    void exited.then((code) => reject(new Error(`the bot exited (${code}) before it ran: ${stderr}`)));
  });
}

/**
 * `facefile import telegram` while `facefile bot` runs on the same data folder (SQLite, one
 * process): the importer does not open the library but hands the photos to the bot through its
 * spool, and the bot files them itself, on the real models, as an import with no bot would.
 */
describe('facefile import beside a running bot: the photos are handed over', { skip: NO_DATASETS }, () => {
  let dir: string;
  let env: Record<string, string>;
  let emulator: BotApiEmulator;
  let ada: ReturnType<BotApiEmulator['user']>;
  let labels: Record<string, PostLabel>;
  let exported: GeneratedExport;
  let later: GeneratedExport;
  let posts: string[];
  let enrolled: Map<string, StoredPhoto>;
  let bot: BotProcess | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-handoff-'));
    emulator = await BotApiEmulator.start();
    ada = emulator.user(100, 'Ada');
    emulator.addChat({ id: CHAT, type: 'supergroup', title: 'Old friends' }, { creator: ada });
    emulator.addChat({ id: LATER_CHAT, type: 'supergroup', title: 'Later friends' }, { creator: ada });
    env = {
      DATA_DIR: path.join(dir, 'data'),
      TELEGRAM_BOT_TOKEN: emulator.token,
      TELEGRAM_API_ROOT: emulator.apiRoot,
      TELEGRAM_GROUP_INTERVAL_MS: '0',
      WORKERS: '2',
      LOG_LEVEL: 'info',
    };
    labels = await readLabels();
    posts = Object.keys(labels).sort();
    exported = await writeTelegramExport(path.join(dir, 'ChatExport_2021-05-03'), posts.slice(0, 8), { id: 1987654321, type: 'private_supergroup' });
    later = await writeTelegramExport(path.join(dir, 'ChatExport_2022-01-01'), posts.slice(8, 14), { id: 1987654322, type: 'private_supergroup' });
    const known = path.join(dir, 'known');
    await linkKnownFaces(known);
    // Before the bot starts: an enrolment takes the data folder as an import with no bot does.
    const enroll = await runCli(['enroll', known, '--group', GROUP], dir, env);
    assert.equal(enroll.code, 0, enroll.stderr);
    enrolled = storedPhotos(env.DATA_DIR!, GROUP);
    // The first photo the bot analyses waits at its gate until the test opens it.
    bot = await startBot(env, 0);
  });

  after(async () => {
    if (bot && bot.child.exitCode === null) {
      bot.child.kill('SIGKILL');
      await bot.exited;
    }
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function stats(): Promise<string> {
    const asked = emulator.postText(CHAT, ada, '/stats');
    return textOf(await emulator.waitFor(answerTo(asked), 60_000));
  }

  /** What the bot sent a chat that answers nobody's message: the import's notes. */
  const notes = (chat: number) => emulator.sent.filter((s) => s.chat_id === chat && s.reply_to_message_id === undefined).map(textOf);

  /** What is left in the spool: the running bot's receiver.json, a rejected/ folder, hand-offs not done. */
  const spool = async () => (await readdir(path.join(env.DATA_DIR!, 'handoff'))).sort();

  it('GIVEN a bot running on the data folder WHEN `facefile import telegram` runs THEN it hands the photos over and exits 0; the bot files each with its date and poster, /stats shows the progress, the group gets one note', async () => {
    const result = await runCli(['import', 'telegram', exported.folder], dir, env);
    assert.equal(result.code, 0, result.stderr);
    const total = exported.posts.length;
    assert.match(result.stdout, /^A facefile bot is running on .*data \(process \d+\): handing the photos over to it\.$/m);
    assert.match(
      result.stdout,
      new RegExp(`^Handed ${total} photos over to the bot for ${GROUP} \\(in .*data/handoff/\\d{8}T\\d{6}Z-[0-9a-f]{6}: ${total} linked, 0 copied\\)\\.`, 'm'),
    );
    assert.match(result.stdout, /^Not handed over \(2\):$/m);
    assert.match(result.stdout, /^Follow it with \/stats in the group .*; when it is done the group gets one short note\./m);
    assert.doesNotMatch(result.stdout, /Loading the face models/, 'the importer loads no model');

    await until(() => bot!.stdout().includes('HELD'), 'the bot to take the first handed-over photo', 300_000, 100);
    let running: RegExpExecArray | null = null;
    await until(
      async () => (running = new RegExp(`^Importing history: (\\d+) of ${total} photos`, 'm').exec(await stats())) !== null,
      'the hand-off in /stats',
      120_000,
      200,
    );
    assert.ok(Number(running![1]) < total, running![0]);
    assert.deepEqual(notes(CHAT), [], 'nothing is said before the import is done');
    bot!.child.stdin.write('open\n');

    await until(() => notes(CHAT).length > 0, 'the note', 300_000, 100);
    await until(async () => (await spool()).join() === 'receiver.json', 'the hand-off to be removed', 30_000, 100);
    assert.deepEqual(notes(CHAT), [
      `The history import is done: ${total} photos filed, 0 unreadable, 2 missing from the export. The ones not filed are listed in the bot's log.`,
    ]);
    assert.ok(!emulator.sent.some((s) => s.method === 'setMessageReaction'), 'no photo was answered');
    const stored = storedPhotos(env.DATA_DIR!, GROUP);
    assert.equal(stored.size, enrolled.size + total, 'each post filed once, the sticker and the missing ones not at all');
    await assertExportFiled(stored, exported, labels);
    assert.doesNotMatch(await stats(), /Importing history/, 'a finished import is not shown');
    assert.match(bot!.stderr(), /"msg":"a hand-off is filed"/);
  });

  it('WHEN the same export is handed over again THEN nothing is filed twice, and the note says they were here already', async () => {
    const before = storedPhotos(env.DATA_DIR!, GROUP);
    const result = await runCli(['import', 'telegram', exported.folder], dir, env);
    assert.equal(result.code, 0, result.stderr);
    await until(() => notes(CHAT).length === 2, 'the second note', 300_000, 100);
    assert.equal(
      notes(CHAT)[1],
      `The history import is done: 0 photos filed, ${exported.posts.length} here already, 0 unreadable, 2 missing from the export. The ones not filed are listed in the bot's log.`,
    );
    assert.deepEqual(storedPhotos(env.DATA_DIR!, GROUP), before);
    await until(async () => (await spool()).join() === 'receiver.json', 'the hand-off to be removed', 30_000, 100);
  });

  it('GIVEN a bot killed in the middle of a hand-off WHEN it starts again THEN it goes on by itself: every photo filed once with its date, one note', async () => {
    // Three more photos through the engine, then the gate holds.
    bot!.child.stdin.write('pass 3\n');
    const result = await runCli(['import', 'telegram', later.folder], dir, env);
    assert.equal(result.code, 0, result.stderr);
    await until(
      () =>
        bot!
          .stdout()
          .split('\n')
          .filter((l) => l === 'HELD').length === 2,
      'the bot to hold the fourth photo',
      300_000,
      100,
    );
    await until(() => storedPhotos(env.DATA_DIR!, LATER).size === 3, 'three photos filed', 60_000, 100);
    bot!.child.kill('SIGKILL');
    await bot!.exited;
    assert.deepEqual(notes(LATER_CHAT), []);
    assert.equal((await spool()).filter((name) => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(name)).length, 1, 'the hand-off is still there');

    bot = await startBot(env);
    await until(() => notes(LATER_CHAT).length > 0, 'the note after the restart', 300_000, 100);
    const total = later.posts.length;
    const note = /^The history import is done: (\d+) photos filed(?:, (\d+) here already)?, 0 unreadable, 2 missing from the export\./.exec(
      notes(LATER_CHAT)[0]!,
    );
    assert.ok(note, notes(LATER_CHAT)[0]);
    // A kill between a photo's filing and its line in the hand-off's record counts it "here already".
    assert.equal(Number(note[1]) + Number(note[2] ?? 0), total, 'the counts of both runs');
    assert.ok(Number(note[1]) >= total - 1, note[0]);
    const stored = storedPhotos(env.DATA_DIR!, LATER);
    assert.equal(stored.size, total, 'each photo filed once');
    for (const post of later.posts) {
      const photo = stored.get(await sha256File(path.join(POSTS, post.post)));
      assert.ok(photo, `${post.post} not filed`);
      assert.equal(photo.postedAt, post.date.toISOString(), `${post.post}: its message's date`);
    }
    await until(async () => (await spool()).join() === 'receiver.json', 'the hand-off to be removed', 30_000, 100);
    assert.equal(notes(LATER_CHAT).length, 1, 'one note');
  });

  it('GIVEN a malformed hand-off, one reaching out of the spool and one missing a photo THEN each bad one is logged and set aside, the missing photo is counted, and the bot goes on', async () => {
    const root = path.join(env.DATA_DIR!, 'handoff');
    const plant = async (id: string, manifest: string, photos: Record<string, string> = {}) => {
      const partial = path.join(root, `${id}.partial`);
      await mkdir(path.join(partial, 'photos'), { recursive: true });
      for (const [file, from] of Object.entries(photos)) await copyFile(from, path.join(partial, file));
      await writeFile(path.join(partial, 'manifest.json'), manifest);
      await rename(partial, path.join(root, id));
    };
    const manifest = (photos: unknown[]) =>
      JSON.stringify({ version: 1, group: LATER, from: 'a test', handedAt: new Date().toISOString(), photos, missing: [] });
    const photo = (file: string, n: number) => ({ file, name: `photo_${n}.jpg`, postedAt: `2022-02-0${n}T10:00:00.000Z`, source: { importedFrom: 'test' } });
    const extra = posts[14]!;
    await plant('20270101T000000Z-00000a', '{"version": 1, "group": ');
    await plant('20270101T000000Z-00000b', manifest([photo('../../../../etc/passwd', 1)]));
    await plant('20270101T000000Z-00000c', manifest([photo('photos/1.jpg', 1), photo('photos/2.jpg', 2)]), { 'photos/1.jpg': path.join(POSTS, extra) });

    await until(() => notes(LATER_CHAT).length === 2, 'the note of the good hand-off', 300_000, 100);
    assert.equal(notes(LATER_CHAT)[1], "The history import is done: 1 photo filed, 1 unreadable. The ones not filed are listed in the bot's log.");
    assert.deepEqual(await readdir(path.join(root, 'rejected')), ['20270101T000000Z-00000a', '20270101T000000Z-00000b']);
    const log = bot!.stderr();
    for (const id of ['20270101T000000Z-00000a', '20270101T000000Z-00000b']) {
      assert.match(log, new RegExp(`"handoff":"${id}".*"msg":"a hand-off was refused and set aside"`), id);
    }
    assert.match(await readFile(path.join(root, 'rejected', '20270101T000000Z-00000b', 'why.txt'), 'utf8'), /outside the hand-off's photos/);
    assert.match(log, /"msg":"a handed-over photo is missing from the hand-off"/);
    const filed = storedPhotos(env.DATA_DIR!, LATER).get(await sha256File(path.join(POSTS, extra)));
    assert.equal(filed?.postedAt, '2022-02-01T10:00:00.000Z');
    // Still up: it answers.
    assert.match(await stats(), /^Photos: /m);
    assert.equal(bot!.child.exitCode, null);
  });
});
