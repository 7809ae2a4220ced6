/**
 * `npm run bench -- server`: the memory a small server needs. A real `facefile bot` process (the
 * bin, SQLite, the real models) against the Telegram emulator: the group-photos people enrolled
 * by /enroll, then N photos posted (the group posts and LFW images), with WORKERS=1 and with the
 * default (one per core). The peak resident memory of the process (VmHWM: the main thread, the
 * recognition workers and native memory together) is what a VPS must hold; the time is until the
 * last photo was answered. Three sizes show what grows with the number of photos.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BotApiEmulator } from '../test/emulators/telegram/index.ts';
import { GROUP, LFW, POSTS, ROOT } from '../test/helpers/datasets.ts';
import { until } from '../test/helpers/until.ts';
import { startBot } from './bot-process.ts';
import { proof } from './bench-proof.ts';

const SIZES = [30, 100, 300];

export async function benchServer(): Promise<void> {
  const posts = await photoFiles();
  const rows: string[] = [];
  for (const workers of ['1', String(os.availableParallelism())]) {
    for (const size of SIZES) {
      const run = await measure(workers, posts.slice(0, size));
      rows.push(`| ${workers} | ${size} | ${run.enrolled} | ${run.seconds.toFixed(1)} | ${run.peakMiB} | ${run.afterMiB} |`);
      console.error(rows.at(-1));
    }
  }
  console.log(
    `\n\`npm run bench -- server\`, ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? 'cpu'} x ${os.availableParallelism()}, Node ${process.version}`,
  );
  console.log('\n| WORKERS | photos posted | samples enrolled | seconds to file them | peak RSS (MiB) | RSS after (MiB) |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

/** The group posts first, then LFW images, as many as the largest size needs. */
async function photoFiles(): Promise<string[]> {
  const posts = (await readdir(POSTS)).filter((n) => /\.(jpe?g|png)$/i.test(n)).map((n) => path.join(POSTS, n));
  const lfw: string[] = [];
  for (const person of (await readdir(LFW, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name)) {
    for (const file of await readdir(path.join(LFW, person))) lfw.push(path.join(LFW, person, file));
    if (lfw.length > Math.max(...SIZES)) break;
  }
  return [...posts, ...lfw];
}

async function measure(workers: string, photos: readonly string[]): Promise<{ enrolled: number; seconds: number; peakMiB: number; afterMiB: number }> {
  const emulator = await BotApiEmulator.start();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-bench-server-'));
  const bot = await startBot(ROOT, dir, emulator, { WORKERS: workers });
  const { child } = bot;
  try {
    const admin = emulator.user(100, 'Ada');
    const chat = -1001;
    emulator.addChat({ id: chat, type: 'supergroup', title: 'Bench' }, { creator: admin });
    let enrolled = 0;
    for (const person of (await readdir(GROUP)).filter((n) => !n.startsWith('_') && !n.startsWith('.'))) {
      for (const file of await readdir(path.join(GROUP, person))) {
        await emulator.postPhoto(chat, admin, await readFile(path.join(GROUP, person, file)), { caption: `/enroll ${person}` });
        enrolled++;
      }
    }
    const replies = () => emulator.sent.filter((s) => s.chat_id === chat && s.method !== 'setMessageReaction').length;
    await until(() => replies() >= enrolled, 'the enrolments', 600_000);
    const started = performance.now();
    for (const photo of photos) await emulator.postPhoto(chat, admin, await readFile(photo));
    await until(() => replies() >= enrolled + photos.length, 'every photo answered', 1_800_000);
    const seconds = (performance.now() - started) / 1000;
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const filed = emulator.sent.filter((s) => s.chat_id === chat && /Filed under|faces? I don't know|No faces/.test(s.text ?? '')).length;
    proof(filed >= photos.length * 0.9, `${filed} of ${photos.length} photos were answered with a filing`);
    proof(Number.isFinite(kib('VmHWM')), `no peak memory in /proc/${child.pid}/status`);
    return { enrolled, seconds, peakMiB: Math.round(kib('VmHWM') / 1024), afterMiB: Math.round(kib('VmRSS') / 1024) };
  } finally {
    await bot.stop();
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
