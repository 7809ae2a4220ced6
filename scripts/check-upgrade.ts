/**
 * `npm run check:upgrade [-- <commit>]`: the operator's guide's upgrade path, tried for real. An
 * earlier commit of facefile (by default the one before the newcomer's-hour work) is checked out
 * into a temporary folder with `git archive` and installed with `npm ci`; its `facefile bot` runs
 * against the Telegram emulator with a fresh DATA_DIR, the group-photos people are enrolled with
 * /enroll and the group posts are posted. It is stopped (SIGTERM), and this checkout's
 * `facefile bot` starts on the same DATA_DIR: the migrations run, every /album must unzip to the
 * same photos as before, and a photo posted after the upgrade is filed. It takes a few minutes
 * (the old commit's install is most of them); nothing is kept.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { sha256Hex } from '../src/core/index.ts';
import { BotApiEmulator } from '../test/emulators/telegram/index.ts';
import { GROUP, POSTS, ROOT, readLabels } from '../test/helpers/datasets.ts';
import { until } from '../test/helpers/until.ts';
import { startBot } from './bot-process.ts';
import { readZip } from '../test/helpers/zip.ts';

const run = promisify(execFile);
/** The last commit before the work of issue 24 ("a newcomer's first hour"), which asked for this. */
const DEFAULT_FROM = '03c3df1';
const CHAT = -1001;

const from = process.argv.slice(2).find((arg) => !arg.startsWith('-')) ?? DEFAULT_FROM;
const work = await mkdtemp(path.join(os.tmpdir(), 'facefile-upgrade-'));
const emulator = await BotApiEmulator.start();
const admin = emulator.user(100, 'Ada');
emulator.addChat({ id: CHAT, type: 'supergroup', title: 'Upgrade' }, { creator: admin });
const say = (line: string) => console.log(`check:upgrade: ${line}`);
let failures = 0;
const check = (ok: boolean, what: string) => {
  say(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (!ok) failures++;
};

try {
  const old = path.join(work, 'old');
  const data = path.join(work, 'data');
  await mkdir(old);
  await mkdir(data);
  const { stdout: commit } = await run('git', ['rev-parse', '--short', `${from}^{commit}`], { cwd: ROOT });
  say(`installing facefile at ${commit.trim()} into ${old} (npm ci; a few minutes)`);
  await run('sh', ['-c', `git archive ${commit.trim()} | tar -x -C "${old}"`], { cwd: ROOT });
  await logged('npm', ['ci', '--no-audit', '--no-fund'], old, path.join(work, 'npm-ci.log'));

  const people = (await readdir(GROUP)).filter((n) => !n.startsWith('_') && !n.startsWith('.')).sort();
  const labels = await readLabels();
  const before = await withBot(old, data, async () => {
    let enrolled = 0;
    for (const person of people) {
      for (const file of (await readdir(path.join(GROUP, person))).sort()) {
        await emulator.postPhoto(CHAT, admin, await readFile(path.join(GROUP, person, file)), { caption: `/enroll ${person}` });
        enrolled++;
      }
    }
    await until(() => answers() >= enrolled, 'the enrolments answered', 600_000);
    const posts = Object.keys(labels).sort();
    for (const file of posts) await emulator.postPhoto(CHAT, admin, await readFile(path.join(POSTS, file)));
    await until(() => answers() >= enrolled + posts.length, 'every post answered', 900_000);
    say(`${commit.trim()} enrolled ${enrolled} photos of ${people.length} people and was posted ${posts.length} photos`);
    return albums(people);
  });

  await withBot(ROOT, data, async () => {
    const after = await albums(people);
    for (const person of people) {
      const same = before.get(person)!.size === after.get(person)!.size && [...before.get(person)!].every((h) => after.get(person)!.has(h));
      check(same, `/album ${person}: ${after.get(person)!.size} photos after the upgrade, ${before.get(person)!.size} before`);
    }
    // A post after the upgrade, of photos the group has not seen (a new encoding of a labelled post).
    const [file, label] = Object.entries(labels).find(([, l]) => l.people.length === 1)!;
    const fresh = await sharp(await readFile(path.join(POSTS, file)))
      .jpeg({ quality: 83 })
      .toBuffer();
    const person = label.people[0]!;
    const was = after.get(person)!;
    const count = answers();
    await emulator.postPhoto(CHAT, admin, fresh);
    await until(() => answers() > count, 'the new post answered', 300_000);
    // One photo more, and every one of before: the album's copies carry the names as XMP, so the
    // new one is not the posted bytes (sha256 of the post would never be found).
    const now = (await albums([person])).get(person)!;
    check(
      now.size === was.size + 1 && [...was].every((h) => now.has(h)),
      `a photo of ${person} posted after the upgrade is in their album (${now.size} photos, ${was.size} before it)`,
    );
  });
} finally {
  await emulator.close();
  await rm(work, { recursive: true, force: true });
}
if (failures > 0) {
  say(`${failures} checks failed`);
  process.exitCode = 1;
} else say(`an upgrade from ${from} keeps every album`);

/** The bot's answers to the group, reactions aside (REPLY_MODE=summary answers every photo). */
function answers(): number {
  return emulator.sent.filter((s) => s.chat_id === CHAT && s.method !== 'setMessageReaction').length;
}

/**
 * Each person's album, as the sha256 of every photo's decoded pixels in the zips /album sends:
 * the album's copies carry the names as XMP since a release after the default `from`, so the same
 * photo's bytes differ across the upgrade while its pixels do not.
 */
async function albums(people: readonly string[]): Promise<Map<string, Set<string>>> {
  const result = new Map<string, Set<string>>();
  for (const person of people) {
    const count = emulator.sent.length;
    emulator.postText(CHAT, admin, `/album ${person}`);
    // "Anna: 2 zip files." first (or why there are none), then the zips as documents.
    const said = await emulator.waitFor((s) => s.chat_id === CHAT && s.method === 'sendMessage' && emulator.sent.indexOf(s) >= count, 300_000);
    const planned = Number(/(\d+) zip files?/.exec(said.text ?? '')?.[1] ?? 0);
    const sentZips = () => emulator.sent.slice(count).filter((s) => s.chat_id === CHAT && s.document?.fileName.endsWith('.zip'));
    await until(() => sentZips().length >= planned, `the ${planned} zips of ${person}`, 300_000);
    const zips = sentZips();
    const hashes = new Set<string>();
    for (const [i, zip] of zips.entries()) {
      const file = path.join(work, `album-${i}.zip`);
      await writeFile(file, zip.document!.bytes);
      for (const entry of await readZip(file)) if (!entry.name.endsWith('/')) hashes.add(sha256Hex(await sharp(entry.bytes).raw().toBuffer()));
    }
    result.set(person, hashes);
  }
  return result;
}

/** Runs `facefile bot` of the checkout at `root` on `data` while `work` runs, then stops it. */
async function withBot<T>(root: string, data: string, work: () => Promise<T>): Promise<T> {
  const bot = await startBot(root, data, emulator);
  try {
    return await work();
  } finally {
    await bot.stop();
  }
}

/** Runs a command with its output in a log file, failing with the log's end. */
async function logged(command: string, args: readonly string[], cwd: string, log: string): Promise<void> {
  const out = createWriteStream(log);
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} ended with ${code}:\n${(await readFile(log, 'utf8')).slice(-2000)}`);
}
