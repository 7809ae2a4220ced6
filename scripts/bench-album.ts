/**
 * `npm run bench -- album [photos]`: exporting one large album through the real `FsAlbumStore`,
 * as `/album` does with Telegram's 50 MB limit, the way it works now (each zip part built when the
 * previous one has been sent, then deleted) next to the way it worked before (every part written
 * to `DATA_DIR/tmp` first, then sent). Each way runs in a fresh process, so its peak RSS is its
 * own; the parent watches `DATA_DIR/tmp` meanwhile for the most bytes it held. "Sending" streams
 * the part's file into a sink, as an upload reads it. Prints a Markdown table.
 *
 * The photos are random-noise JPEGs of about 300 KB from sharp (16 distinct images, each copy made
 * unique by a JPEG comment), not 2-3 MB phone photos: 5,000 of those would need 10-15 GB of disk
 * twice over.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { FsAlbumStore, planZipParts, writeZip } from '../src/albums/index.ts';
import { sha256Hex } from '../src/core/index.ts';

const GROUP = 'bench:album';
const FOLDER = 'Anna';
const LIMIT = 50 * 1000 * 1000;
const MODES = { before: 'all parts up front (before)', now: 'one part at a time (now)' } as const;
type Mode = keyof typeof MODES;

interface ChildReport {
  readonly wallMs: number;
  readonly maxRssKiB: number;
  readonly parts: number;
  readonly photos: number;
  readonly zipBytes: number;
}

/** Reads the part as an upload would, and throws the bytes away. */
async function send(file: string): Promise<void> {
  await pipeline(createReadStream(file), new Writable({ write: (_chunk, _encoding, done) => done() }));
}

/** One export, in this (fresh) process; prints what it measured as JSON. */
async function exportOnce(mode: Mode, dataDir: string): Promise<void> {
  const store = new FsAlbumStore(dataDir);
  const started = performance.now();
  let parts = 0;
  let photos = 0;
  let zipBytes = 0;
  if (mode === 'now') {
    const result = await store.export(GROUP, FOLDER, FOLDER, LIMIT);
    try {
      for await (const part of result.parts) {
        await send(part.path);
        parts++;
        photos += part.photos;
        zipBytes += part.bytes;
      }
    } finally {
      await result.dispose();
    }
  } else {
    // What FsAlbumStore.export did before: every part written under tmp/ before the first is sent.
    const entries = (await store.list(GROUP, FOLDER)).map((e) => ({ ...e, source: e.path }));
    const dir = await mkdtemp(path.join(dataDir, 'tmp', 'export-'));
    try {
      const written = [];
      for (const [i, part] of planZipParts(entries, LIMIT).parts.entries()) {
        const file = path.join(dir, `Anna (part ${i + 1}).zip`);
        written.push({ file, photos: part.length, ...(await writeZip(part, file)) });
      }
      for (const part of written) {
        await send(part.file);
        parts++;
        photos += part.photos;
        zipBytes += part.bytes;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const report: ChildReport = { wallMs: performance.now() - started, maxRssKiB: process.resourceUsage().maxRSS, parts, photos, zipBytes };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** Bytes of the files below `dir` now (0 when it does not exist). */
async function bytesBelow(dir: string): Promise<number> {
  let total = 0;
  let found;
  try {
    found = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of found) {
    if (!entry.isFile()) continue;
    total += await stat(path.join(entry.parentPath, entry.name)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

/** A JPEG with a comment segment right after its start marker: same picture, its own hash. */
function withComment(jpeg: Buffer, text: string): Buffer {
  const comment = Buffer.from(text);
  const header = Buffer.from([0xff, 0xfe, 0, 0]);
  header.writeUInt16BE(comment.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, comment, jpeg.subarray(2)]);
}

async function createAlbum(dataDir: string, count: number): Promise<number> {
  const store = new FsAlbumStore(dataDir);
  const bases = await Promise.all(
    Array.from({ length: 16 }, () =>
      sharp(randomBytes(800 * 600 * 3), { raw: { width: 800, height: 600, channels: 3 } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    ),
  );
  let bytes = 0;
  const day = Date.UTC(2024, 0, 1);
  for (let i = 0; i < count; i++) {
    const photo = withComment(bases[i % bases.length]!, `facefile bench photo ${i}`);
    const ref = { hash: sha256Hex(photo), ext: 'jpg', date: new Date(day + i * 3_600_000).toISOString() };
    await store.storeOriginal(GROUP, ref, photo);
    await store.link(GROUP, FOLDER, ref);
    bytes += photo.length;
  }
  return bytes;
}

/** Runs one export in a child process while watching tmp/; its report and the peak bytes seen there. */
async function measure(mode: Mode, dataDir: string): Promise<ChildReport & { peakTmpBytes: number }> {
  // Where allowed (root, outside a container), the page cache is dropped so each run reads from disk.
  try {
    execFileSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
  } catch {
    // Not allowed here: both runs read the photos from a warm cache alike.
  }
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--export-child', mode, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let peakTmpBytes = 0;
  const done = new AbortController();
  void exited.then(() => done.abort());
  while (!done.signal.aborted) {
    peakTmpBytes = Math.max(peakTmpBytes, await bytesBelow(path.join(dataDir, 'tmp')));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const code = await exited;
  if (code !== 0) throw new Error(`the ${mode} export exited with ${code}`);
  return { ...(JSON.parse(output) as ChildReport), peakTmpBytes };
}

/** The album bench, in `scratch` (the caller removes it); `args` may give the number of photos (5,000 by default). */
export async function albumBench(scratch: string, args: readonly string[]): Promise<void> {
  const count = Number(args[0] ?? 5000);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`not a number of photos: ${args[0]}`);
  const dataDir = path.join(scratch, 'data');
  await mkdir(path.join(dataDir, 'tmp'), { recursive: true });
  const t0 = performance.now();
  const albumBytes = await createAlbum(dataDir, count);
  process.stderr.write(`album: ${count} photos, ${(albumBytes / 1e9).toFixed(2)} GB, made in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  const rows: string[] = [];
  // Each way twice, taking turns, so that neither gains from the disk state the other leaves.
  for (const [run, mode] of (['before', 'now', 'before', 'now'] as const).entries()) {
    const r = await measure(mode, dataDir);
    if (r.photos !== count) throw new Error(`the ${mode} export sent ${r.photos} of ${count} photos`);
    rows.push(
      `| ${run + 1} | ${MODES[mode]} | ${r.parts} | ${(r.zipBytes / 1e9).toFixed(2)} GB | ${(r.wallMs / 1000).toFixed(1)} s | ${Math.round(r.maxRssKiB / 1024)} MiB | ${(r.peakTmpBytes / 1e6).toFixed(0)} MB |`,
    );
    process.stderr.write(`${mode}: done\n`);
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    [
      `facefile album export bench, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${cpu}, Node ${process.version}; ` +
        `${count} photos of about ${Math.round(albumBytes / count / 1000)} KB (random-noise JPEGs), part limit ${LIMIT / 1e6} MB`,
      '',
      '| run | export | parts | zipped | wall | peak RSS | peak DATA_DIR/tmp |',
      '|---:|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n'),
  );
}

if (process.argv[2] === '--export-child') await exportOnce(process.argv[3] as Mode, process.argv[4]!);
