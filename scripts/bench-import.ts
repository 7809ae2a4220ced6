/**
 * `npm run bench -- import`: how fast a history import files photos, against the engine's own speed
 * on the same photos, and how long a photo posted in the group waits while an import runs.
 *
 * 1. Photos per second, at three sizes (BENCH_IMPORT_SIZES, default 100,400,1600 LFW DevTest
 *    images: real faces, 250x250): the engine alone (decode, detect, describe; a cold engine, no
 *    face cache), then `importPhotos` into a fresh SQLite library with a cold engine, as
 *    `facefile import folder` runs it. Checked before printing: every photo filed.
 * 2. A live photo's wait: a real `facefile bot` (in this process, against the Telegram emulator)
 *    is handed an import as `facefile import` hands one to a running bot; photos posted in the
 *    group meanwhile are timed from their post to their record in the library, beside the same
 *    posts to the idle bot (2 s apart; during a backlog closer, all within the first third of
 *    the time the import above would take to file it), with three backlogs
 *    (BENCH_IMPORT_BACKLOGS, default 300,1200,3000: LFW's 4,992 development images hold no 5,000
 *    distinct photos beside the three sizes' own). The bot files a handed-over photo only when
 *    no posted one waits, so the wait should not grow with the backlog: the bench shows whether
 *    it does.
 */
import { copyFile, mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { forEachConcurrent, groupId, silentLog } from '../src/core/index.ts';
import { SharpImageDecoder } from '../src/imaging/index.ts';
import { PooledFaceEngine } from '../src/recognition/index.ts';
import { openLibrary, startBots } from '../src/app/index.ts';
import { folderItems, importPhotos, writeHandoff } from '../src/importers/index.ts';
import { parsePairs } from '../src/eval/verification.ts';
import { BotApiEmulator } from '../test/emulators/telegram/index.ts';
import { LFW, POSTS } from '../test/helpers/datasets.ts';
import { storedPhotos } from '../test/helpers/stored-photos.ts';
import { until } from '../test/helpers/until.ts';
import { proof } from './bench-proof.ts';

const CHAT = -1009876543;
const GROUP = groupId({ platform: 'telegram', chatId: CHAT });
const sizes = (name: string, fallback: string): number[] => (process.env[name] ?? fallback).split(',').map(Number);

export async function benchImport(): Promise<string> {
  const workers = Number(process.env.WORKERS ?? 2);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-bench-import-'));
  try {
    const lfw = [...new Set(parsePairs(await readFile(path.join(LFW, 'pairsDevTest.txt'), 'utf8')).flatMap((p) => [p.a, p.b]))];
    const more = parsePairs(await readFile(path.join(LFW, 'pairsDevTrain.txt'), 'utf8')).flatMap((p) => [p.a, p.b]);
    const images = [...new Set([...lfw, ...more])];
    /**
     * A folder of `n` images from the `from`th on, copied: what `facefile import folder` would be
     * given. The backlogs handed to one bot take images none before them had: a photo already in
     * the library is a duplicate, not filed again, and would never be waited for.
     */
    const folder = async (n: number, name: string, from = 0): Promise<string> => {
      proof(images.length >= from + n, `${n} photos asked from the ${from}th, LFW has ${images.length}`);
      const dir = path.join(scratch, name);
      await mkdir(dir, { recursive: true });
      for (const [i, image] of images.slice(from, from + n).entries())
        await copyFile(path.join(LFW, image), path.join(dir, `${String(i).padStart(5, '0')}.jpg`));
      return dir;
    };
    const rows: string[] = [];
    let importRate = 0;
    for (const n of sizes('BENCH_IMPORT_SIZES', '100,400,1600')) {
      const dir = await folder(n, `photos-${n}`);
      const items = await folderItems(dir);
      proof(items.length === n, `${items.length} of ${n} photos listed`);
      // The engine alone.
      const engine = await PooledFaceEngine.create({ backend: 'auto', modelsDir: undefined, minEyeDistance: 12, minFaceScore: 0.5, workers });
      const decoder = new SharpImageDecoder();
      let faces = 0;
      const engineStarted = performance.now();
      await forEachConcurrent(items, workers * 2, async (item) => {
        const read = await item.read(50_000_000);
        const decoded = 'bytes' in read ? await decoder.decode(read.bytes) : undefined;
        if (!decoded?.ok) return proof(false, `${item.name} did not read or decode`);
        // Awaited first: `faces += await …` reads `faces` before the wait and loses the other photos' counts.
        const found = await engine.detect(decoded.image);
        faces += found.length;
      });
      const engineMs = performance.now() - engineStarted;
      await engine.close();
      // The import, as `facefile import folder` runs it with no bot.
      const dataDir = path.join(scratch, `data-${n}`);
      const config = loadConfig({ DATA_DIR: dataDir, WORKERS: String(workers), LOG_LEVEL: 'error' }, { cwd: scratch });
      const opened = await openLibrary(config, {
        role: 'import',
        log: silentLog,
        engine: () => PooledFaceEngine.create({ backend: 'auto', modelsDir: undefined, minEyeDistance: 12, minFaceScore: 0.5, workers }),
      });
      const importStarted = performance.now();
      let report;
      try {
        report = await importPhotos(opened.library, GROUP, items, {
          log: silentLog,
          concurrency: workers * 2,
          maxBytes: config.decoder.maxBytes,
          cursors: opened.importCursors,
        });
      } finally {
        await opened.close();
      }
      const importMs = performance.now() - importStarted;
      proof(report.filed === n, `the import filed ${report.filed} of ${n} photos: ${JSON.stringify({ ...report, people: undefined })}`);
      proof(storedPhotos(dataDir, GROUP).size === n, `the library holds ${storedPhotos(dataDir, GROUP).size} of ${n} photos`);
      const rate = (ms: number) => n / (ms / 1000);
      importRate = rate(importMs);
      rows.push(
        `| ${n.toLocaleString('en')} | ${faces.toLocaleString('en')} | ${rate(engineMs).toFixed(1)} | ${rate(importMs).toFixed(1)} | ${((rate(importMs) / rate(engineMs)) * 100).toFixed(0)}% |`,
      );
      process.stderr.write(`import: ${n} photos done\n`);
    }

    const waits = await liveWaits(scratch, folder, workers, importRate);
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    return [
      `facefile bench import, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${cpu}, Node ${process.version}, ${workers} workers, SQLite; ` +
        `LFW DevTest and DevTrain images (250x250, real faces), a cold engine each time`,
      '',
      '| photos | faces | engine alone: photos/s | import: photos/s | import / engine |',
      '|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `A photo posted in the group while the running bot files a handed-over import (${waits.posts} posts each; from the post to its record in the library):`,
      '',
      '| backlog handed over | posts apart | wait: median | wait: slowest | handed-over photos filed meanwhile |',
      '|---|---:|---:|---:|---:|',
      ...waits.rows,
      '',
    ].join('\n');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The live-photo waits: idle, then under each backlog, on one bot. */
async function liveWaits(
  scratch: string,
  folder: (n: number, name: string, from?: number) => Promise<string>,
  workers: number,
  importRate: number,
): Promise<{ rows: string[]; posts: number }> {
  const posts = 6;
  const idleApart = 2_000;
  /**
   * The posts during a backlog come within the first third of the time the import measured above
   * would take to file it (at most 2 s apart), so that they are all posted while it runs, on a
   * fast machine as on a slow one.
   */
  const apartFor = (backlog: number) => Math.round(Math.min(idleApart, Math.max(100, ((backlog / Math.max(importRate, 1)) * 1000) / (3 * posts))));
  const emulator = await BotApiEmulator.start();
  const dataDir = path.join(scratch, 'bot');
  const admin = emulator.user(100, 'Ada');
  emulator.addChat({ id: CHAT, type: 'supergroup', title: 'Bench' }, { creator: admin });
  const config = loadConfig(
    { DATA_DIR: dataDir, TELEGRAM_BOT_TOKEN: emulator.token, TELEGRAM_API_ROOT: emulator.apiRoot, WORKERS: String(workers), LOG_LEVEL: 'error' },
    { cwd: scratch },
  );
  const bots = await startBots(config, pino({ level: 'silent' }));
  const live = (await import('node:fs')).readdirSync(POSTS).filter((f) => f.endsWith('.jpg'));
  let next = 0;
  const filedMessage = (message: number): boolean =>
    [...storedPhotos(dataDir, GROUP).values()].some((p) => (JSON.parse(p.source ?? '{}') as { message?: string }).message === String(message));
  /** Posts `posts` photos `apart` ms apart and times each from its post to its record. */
  const timePosts = async (apart: number): Promise<number[]> => {
    const timings: Promise<number>[] = [];
    for (let i = 0; i < posts; i++) {
      const bytes = await readFile(path.join(POSTS, live[next++ % live.length]!));
      const started = performance.now();
      const message = await emulator.postPhoto(CHAT, admin, bytes);
      timings.push(
        (async () => {
          await until(() => filedMessage(message.message_id), `posted photo ${message.message_id} filed`, 120_000);
          return performance.now() - started;
        })(),
      );
      await new Promise((r) => setTimeout(r, apart));
    }
    return Promise.all(timings);
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows: string[] = [];
  try {
    const idle = await timePosts(idleApart);
    rows.push(`| none (idle bot) | ${fmt(idleApart)} | ${fmt(median(idle))} | ${fmt(Math.max(...idle))} | |`);
    let used = 0;
    for (const backlog of sizes('BENCH_IMPORT_BACKLOGS', '300,1200,3000')) {
      const items = await folderItems(await folder(backlog, `backlog-${backlog}`, used));
      used += backlog;
      const before = storedPhotos(dataDir, GROUP).size;
      const handed = await writeHandoff({ dataDir, group: GROUP, from: 'the bench', items, missing: [], maxBytes: config.decoder.maxBytes, log: silentLog });
      proof(handed !== undefined, 'the hand-off was written');
      // The bot is filing the hand-off before the first post.
      await until(() => storedPhotos(dataDir, GROUP).size >= before + 10, `the bot began filing the hand-off of ${backlog}`, 60_000, 100);
      const apart = apartFor(backlog);
      const during = await timePosts(apart);
      const meanwhile = storedPhotos(dataDir, GROUP).size - before - posts;
      proof(meanwhile < backlog, `the import of ${backlog} ended before the posts did (${meanwhile} filed): the wait was not measured under it`);
      rows.push(`| ${backlog.toLocaleString('en')} photos | ${fmt(apart)} | ${fmt(median(during))} | ${fmt(Math.max(...during))} | ${meanwhile} |`);
      // Until this backlog is filed, before the next.
      await bots.idle();
      // Five times what the import measured above would take, and a minute: a slow machine is not a hang.
      const filingMs = (backlog / Math.max(importRate, 1)) * 1000 * 5 + 60_000;
      await until(
        () => storedPhotos(dataDir, GROUP).size >= before + backlog + posts,
        `the bot filed every photo of the hand-off of ${backlog}`,
        filingMs,
        200,
      );
    }
  } finally {
    await bots.stop();
    await emulator.close();
  }
  return { rows, posts };
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
