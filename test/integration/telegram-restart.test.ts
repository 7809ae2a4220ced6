import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LFW, NO_DATASETS, ROOT } from '../helpers/datasets.ts';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import { answerTo, textOf } from '../helpers/telegram.ts';
import { until } from '../helpers/until.ts';
import { parsePairs } from '../../src/eval/verification.ts';

const CHAT = -4001;

interface BotProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

/**
 * `facefile bot` as a real child process; resolves once it says it is running. `gated` runs it
 * through test/helpers/gated-bot-child.ts: the same CLI, with a gate in front of the engine that
 * standard input closes ("hold") and opens ("open").
 */
function startBot(env: Record<string, string>, cwd: string, gated = false): Promise<BotProcess> {
  const args = gated ? ['--import', 'tsx', path.join(ROOT, 'test', 'helpers', 'gated-bot-child.ts')] : [path.join(ROOT, 'bin', 'facefile.js'), 'bot'];
  const child = spawn(process.execPath, args, {
    cwd: gated ? ROOT : cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: [gated ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('facefile bot is running')) resolve({ child, exited, stdout: () => stdout, stderr: () => stderr });
    });
    void exited.then((code) => reject(new Error(`the bot exited (${code}) before it ran: ${stderr}`)));
  });
}

describe('Telegram bot, stopped in the middle of a burst', { skip: NO_DATASETS }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('GIVEN SIGTERM while photos are queued THEN it stops cleanly, and after a restart every photo is filed once', { timeout: 600_000 }, async () => {
    const emulator = await BotApiEmulator.start();
    cleanup.push(() => emulator.close());
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-restart-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const admin = emulator.user(100, 'Ada');
    emulator.addChat({ id: CHAT, type: 'supergroup', title: 'Burst' }, { creator: admin });
    const env = {
      DATA_DIR: dir,
      TELEGRAM_BOT_TOKEN: emulator.token,
      TELEGRAM_API_ROOT: emulator.apiRoot,
      WORKERS: '2',
      TELEGRAM_GROUP_INTERVAL_MS: '200',
      LOG_LEVEL: 'info',
    };

    const first = await startBot(env, dir, true);
    cleanup.push(async () => {
      first.child.kill('SIGKILL');
      await first.exited;
    });
    const images = [...new Set(parsePairs(await readFile(path.join(LFW, 'pairsDevTest.txt'), 'utf8')).flatMap((p) => [p.a, p.b]))].slice(0, 120);
    // The person with the most photos in the burst is enrolled, so that filing into an album is checked too.
    const names = images.map((f) => f.split('/')[0]!);
    const most = names.reduce((best, n) => (names.filter((m) => m === n).length > names.filter((m) => m === best).length ? n : best));
    const him = images.filter((f) => f.startsWith(`${most}/`));
    assert.ok(him.length >= 3, `${most}: ${him.length} photos`);
    // LFW photos sometimes show a second face: enrol from the first that shows only him.
    let enrolled = false;
    for (const file of him) {
      const enrol = await emulator.postPhoto(CHAT, admin, await readFile(path.join(LFW, file)), { caption: `/enroll ${most}` });
      if (/is enrolled/.test(textOf(await emulator.waitFor(answerTo(enrol), 60_000)))) {
        enrolled = true;
        break;
      }
    }
    assert.ok(enrolled);
    // The engine holds the burst: every photo is queued on disk, none filed, when the stop comes.
    first.child.stdin!.write('hold\n');
    await until(() => first.stdout().includes('HELD'), 'the gate closed');
    for (const file of images) await emulator.postPhoto(CHAT, admin, await readFile(path.join(LFW, file)));
    const queued = async () => (await readdir(path.join(dir, 'queue'))).filter((f) => f.endsWith('.json')).length;
    await until(async () => (await queued()) === images.length, 'every photo queued', 120_000);
    first.child.kill('SIGTERM');
    // Once it says it is stopping, it starts no new photo; the few held in the engine then finish.
    await until(() => first.stderr().includes('stopping: finishing the photos in progress'), 'the stop to begin');
    first.child.stdin!.write('open\n');
    assert.equal(await first.exited, 0, first.stderr());
    assert.match(first.stderr(), /"msg":"stopped"/);
    const left = await queued();
    assert.ok(left > 0 && left < images.length, `the stop came in the middle of the burst (${left} of ${images.length} left)`);

    const second = await startBot(env, dir);
    cleanup.push(async () => {
      second.child.kill('SIGKILL');
      await second.exited;
    });
    const expected = new Set(images).size;
    let stats = '';
    for (let attempt = 0; attempt < 120 && !stats.includes(`Photos: ${expected}\n`); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const ask = emulator.postText(CHAT, admin, '/stats');
      stats = textOf(await emulator.waitFor(answerTo(ask), 30_000));
    }
    assert.match(stats, new RegExp(`Photos: ${expected}\\n`), 'every photo is filed after the restart');
    assert.deepEqual(
      (await readdir(path.join(dir, 'queue'))).filter((f) => !f.startsWith('.')),
      [],
      'the queue is empty',
    );
    const album = emulator.postText(CHAT, admin, '/people');
    assert.match(textOf(await emulator.waitFor(answerTo(album))), new RegExp(`${most}: ${new Set(him).size} photos`), 'each of his photos once in his album');
    assert.equal(second.stderr().includes(emulator.token), false, 'no token in the log');
  });
});
