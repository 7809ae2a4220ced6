import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { groupId } from '../../src/core/index.ts';
import { linkKnownFaces, runCli } from '../helpers/cli.ts';
import { NO_DATASETS, POSTS, ROOT, readLabels, type PostLabel } from '../helpers/datasets.ts';
import { assertExportFiled, sha256File, storedPhotos, type StoredPhoto } from '../helpers/stored-photos.ts';
import { writeTelegramExport, type GeneratedExport } from '../helpers/telegram-export.ts';
import { storedZip } from '../helpers/zip.ts';

const CHAT_ID = 1987654321;
/** The Bot API's id of the exported supergroup: the export's id behind -100. */
const GROUP = groupId({ platform: 'telegram', chatId: -1001987654321 });

/**
 * `facefile import telegram`: a generated Telegram Desktop export of a supergroup, imported through
 * the real CLI on the real models into the group the bot fills, after its people are enrolled.
 */
describe('facefile import telegram <export>', { skip: NO_DATASETS }, () => {
  let dir: string;
  let env: Record<string, string>;
  let exported: GeneratedExport;
  let labels: Record<string, PostLabel>;
  let enrolled: Map<string, StoredPhoto>;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-import-'));
    env = { DATA_DIR: path.join(dir, 'data') };
    labels = await readLabels();
    exported = await writeTelegramExport(path.join(dir, 'ChatExport_2021-05-03'), Object.keys(labels).sort(), { id: CHAT_ID, type: 'private_supergroup' });
    const known = path.join(dir, 'known');
    await linkKnownFaces(known);
    const enroll = await runCli(['enroll', known, '--group', GROUP], dir, env);
    assert.equal(enroll.code, 0, enroll.stderr);
    enrolled = storedPhotos(env.DATA_DIR!, GROUP);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN --dry-run THEN it names the group the chat is in the bot, counts the photos and the missing ones, and files nothing', async () => {
    const result = await runCli(['import', 'telegram', exported.folder, '--dry-run'], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `^"Old friends", a private supergroup of \\d+ messages: ${exported.posts.length} photos to file into ${GROUP}, 2 photos not in the export; 1 other file`,
        'm',
      ),
    );
    for (const message of exported.missing)
      assert.match(result.stdout, new RegExp(`^  message ${message} of .*: File (not included|exceeds maximum size)`, 'm'));
    assert.match(result.stdout, /Dry run: nothing was filed/);
    assert.equal(storedPhotos(env.DATA_DIR!, GROUP).size, enrolled.size);
  });

  it('GIVEN an import stopped by Ctrl-C and one killed in the middle WHEN it is run again THEN every photo is filed once, under the people its labels name, with its message date and poster', async () => {
    const started = enrolled.size;
    // Ctrl-C once a few photos are in: the ones under way finish, exit 130, nothing half-done.
    const interrupted = await runUntil(exported.folder, env, dir, () => storedPhotos(env.DATA_DIR!, GROUP).size >= started + 2, 'SIGINT');
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.match(interrupted.stderr, /stopped by Ctrl-C with \d+ photos? left; run the same command again to go on/);
    const afterStop = storedPhotos(env.DATA_DIR!, GROUP).size;
    assert.ok(afterStop < started + exported.posts.length, 'the import was not stopped in the middle');
    // A kill gives no chance to finish anything.
    const killed = await runUntil(exported.folder, env, dir, () => storedPhotos(env.DATA_DIR!, GROUP).size >= afterStop + 2, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    const afterKill = storedPhotos(env.DATA_DIR!, GROUP).size;
    assert.ok(afterKill < started + exported.posts.length, 'the import was not killed in the middle');

    const result = await runCli(['import', 'telegram', exported.folder], dir, env);
    assert.equal(result.code, 0, result.stderr);
    const already = afterKill - started;
    assert.match(
      result.stdout,
      new RegExp(`^Filed ${exported.posts.length - already} photos into ${GROUP}; ${already} were there already; 2 could not be filed`, 'm'),
    );
    assert.match(result.stderr, new RegExp(`^photos: ${exported.posts.length}/${exported.posts.length}, [\\d.]+ photos/s, done$`, 'm'));

    const stored = storedPhotos(env.DATA_DIR!, GROUP);
    assert.equal(stored.size, enrolled.size + exported.posts.length, 'each post filed once, the sticker and the missing ones not at all');
    assert.ok(!stored.has(await sha256File(exported.sticker)), 'the sticker was filed');
    await assertExportFiled(stored, exported, labels);
  });

  it('WHEN the same export is imported again THEN nothing is filed twice', async () => {
    const before = storedPhotos(env.DATA_DIR!, GROUP);
    const result = await runCli(['import', 'telegram', exported.folder], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Filed 0 photos into ${GROUP}; ${exported.posts.length} were there already; 2 could not be filed`, 'm'));
    assert.deepEqual(storedPhotos(env.DATA_DIR!, GROUP), before);
  });

  it('GIVEN a zip with a ../ entry, an absolute one or a link THEN it is refused whole in one line, exit 2, nothing filed', async () => {
    const result = Buffer.from(await readFile(path.join(exported.folder, 'result.json')));
    const photo = await readFile(path.join(POSTS, 'obama1.jpg'));
    const hostile = [
      { name: 'ChatExport/../../evil.jpg', bytes: photo },
      { name: '/etc/evil.jpg', bytes: photo },
      { name: 'ChatExport/photos/link.jpg', bytes: Buffer.from('/etc/passwd'), link: true },
    ];
    for (const entry of hostile) {
      const zip = path.join(dir, 'hostile.zip');
      await writeFile(zip, storedZip([{ name: 'ChatExport/result.json', bytes: result }, entry]));
      const refused = await runCli(['import', 'telegram', zip], dir, env);
      assert.equal(refused.code, 2, `${entry.name}: ${refused.stderr}`);
      assert.match(refused.stderr, /^facefile: .*hostile\.zip: refused: the zip has an entry that would land outside the export/);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    }
  });

  it('GIVEN a zip of the export THEN it is read in place like the folder', async () => {
    const zipped = storedZip([
      { name: 'ChatExport_2021-05-03/result.json', bytes: await readFile(path.join(exported.folder, 'result.json')) },
      ...(await Promise.all(
        exported.posts.map(async (post) => ({ name: `ChatExport_2021-05-03/${post.file}`, bytes: await readFile(path.join(exported.folder, post.file)) })),
      )),
    ]);
    const zip = path.join(dir, 'export.zip');
    await writeFile(zip, zipped);
    const result = await runCli(['import', 'telegram', zip], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Filed 0 photos into ${GROUP}; ${exported.posts.length} were there already`, 'm'));
  });

  it('GIVEN a truncated result.json, another JSON or a private chat THEN one clear line and exit 2', async () => {
    const cases: [string, (folder: string) => Promise<void>, RegExp][] = [
      ['truncated', (f) => truncate(path.join(f, 'result.json'), 5000), /result\.json: not complete JSON \(cut short/],
      [
        'other shape',
        (f) => writeFile(path.join(f, 'result.json'), JSON.stringify({ name: 'x', list: [1, 2] })),
        /result\.json: not a Telegram Desktop chat export/,
      ],
      [
        'private chat',
        (f) => writeFile(path.join(f, 'result.json'), JSON.stringify({ name: 'Ben', type: 'personal_chat', id: 1001, messages: [] })),
        /an export of a personal chat, not of a group or channel/,
      ],
    ];
    for (const [what, spoil, message] of cases) {
      const folder = path.join(dir, `bad-${what.replace(' ', '-')}`);
      await mkdir(folder);
      await writeFile(path.join(folder, 'result.json'), await readFile(path.join(exported.folder, 'result.json')));
      await spoil(folder);
      const refused = await runCli(['import', 'telegram', folder], dir, env);
      assert.equal(refused.code, 2, `${what}: ${refused.stderr}`);
      assert.match(refused.stderr, message, what);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.equal(refused.stdout, '', what);
    }
  });
});

/** Runs an import and sends `signal` once `ready` holds (polled; the import's own pace sets when). */
function runUntil(
  folder: string,
  env: Record<string, string>,
  cwd: string,
  ready: () => boolean,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'facefile.js'), 'import', 'telegram', folder], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd, WORKERS: '2', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const poll = setInterval(() => {
      if (child.exitCode === null && ready()) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 100);
    child.on('error', reject);
    child.on('exit', (code, killedBy) => {
      clearInterval(poll);
      resolve({ code, signal: killedBy, stderr });
    });
  });
}
