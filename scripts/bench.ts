/**
 * `npm run bench`: throughput of `facefile archive`'s pipeline (decode -> detect + embed in the
 * worker pool -> match -> file) on real photos, with the share of time the workers spend in
 * inference and the peak memory. Prints a Markdown table for the README.
 *
 *   npm run bench                 all three sets
 *   npm run bench -- posts lfw    some of them
 *   npm run bench -- album [n]    album export instead: see bench-album.ts
 *   npm run bench -- clusters     /unknown's clustering instead (scripts/bench-clusters.ts)
 *   npm run bench -- library      the library's commands at 1k, 10k, 100k photos (scripts/bench-library.ts)
 *   npm run bench -- gallery      the group gallery's pages at 1k, 10k, 100k photos (scripts/bench-gallery.ts)
 *   npm run bench -- import       a history import's photos/s against the engine's, and a live photo's wait meanwhile (scripts/bench-import.ts)
 *   npm run bench -- groups       100 groups of 10k photos on one process, PostgreSQL (scripts/bench-groups.ts)
 *   npm run bench -- scale        worker processes and fairness on PostgreSQL + Redis (scripts/bench-scale.ts)
 *   npm run bench -- profile      where the engine's time goes, per stage and model (scripts/bench-profile.ts)
 *   npm run bench -- server       the memory a small server needs: facefile bot, WORKERS=1 and default (scripts/bench-server.ts)
 */
import { mkdtemp, readFile, rm, symlink, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import pino from 'pino';
import { ArchiveJob } from '../src/archive/archive-job.ts';
import { DEFAULT_DECODER_LIMITS, ProcessImageDecoder } from '../src/imaging/index.ts';
import { DEFAULT_THRESHOLD, EMBEDDERS, PooledFaceEngine, type EmbedderName } from '../src/recognition/index.ts';
import { SqlFaceCache, openLibraryDatabase } from '../src/storage/sql/index.ts';
import { parsePairs } from '../src/eval/verification.ts';
import { DATASETS, GROUP, LFW, POSTS } from '../test/helpers/datasets.ts';
import { albumBench } from './bench-album.ts';
import { benchAlbums } from './bench-albums.ts';
import { benchClusters } from './bench-clusters.ts';
import { benchGallery } from './bench-gallery.ts';
import { benchGroups } from './bench-groups.ts';
import { benchImport } from './bench-import.ts';
import { benchLibrary } from './bench-library.ts';
import { benchProfile } from './bench-profile.ts';
import { benchScale } from './bench-scale.ts';
import { benchServer } from './bench-server.ts';
import { BenchMeasuredNothing, proof } from './bench-proof.ts';

interface Set {
  readonly name: string;
  readonly describe: string;
  readonly inputs: () => Promise<string[]>;
  readonly known: string | undefined;
}

const workers = Number(process.env.WORKERS ?? os.availableParallelism());

/** EMBEDDER=<name> measures another embedder than the shipped one. */
function embedderFromEnv(): EmbedderName | undefined {
  const name = process.env.EMBEDDER;
  if (!name) return undefined;
  if (!(EMBEDDERS as readonly string[]).includes(name)) throw new Error(`EMBEDDER must be one of ${EMBEDDERS.join(', ')}`);
  return name as EmbedderName;
}
const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-bench-'));

async function knownFolder(): Promise<string> {
  const dir = path.join(scratch, 'known');
  await mkdir(dir, { recursive: true });
  for (const person of (await import('node:fs')).readdirSync(GROUP).filter((n) => !n.startsWith('_'))) {
    await symlink(path.join(GROUP, person), path.join(dir, person)).catch(() => undefined);
  }
  return dir;
}

const sets: Set[] = [
  {
    name: 'posts',
    describe: 'group-photos/_posts: 26 photos, 0.1-3.3 MP, 1-6 faces',
    inputs: async () =>
      (await import('node:fs'))
        .readdirSync(POSTS)
        .filter((f) => !f.endsWith('.json'))
        .map((f) => path.join(POSTS, f)),
    known: 'group',
  },
  {
    name: 'lfw',
    describe: '200 LFW DevTest images, 250x250, 1 face',
    inputs: async () => {
      const pairs = parsePairs(await readFile(path.join(LFW, 'pairsDevTest.txt'), 'utf8'));
      return [...new Set(pairs.flatMap((p) => [p.a, p.b]))].slice(0, 200).map((f) => path.join(LFW, f));
    },
    known: undefined,
  },
  {
    name: 'large',
    describe: '24 photos of 12 MP (4032x3024): 8 group posts upscaled, at 3 JPEG qualities',
    inputs: async () => {
      const dir = path.join(scratch, 'large');
      await mkdir(dir, { recursive: true });
      const files = ['bbt1.jpg', 'bbt2.jpg', 'bbt3.jpg', 'bbt4.jpg', 'bbt5.jpg', 'kit_with_rose.jpg', 'obama_and_biden.jpg', 'alex_lacamoire1.jpg'];
      // Three qualities: different bytes (the face cache serves none), and enough photos that two
      // workers' start and tail do not make most of the time.
      return Promise.all(
        [88, 90, 92].flatMap((quality) =>
          files.map(async (f) => {
            const out = path.join(dir, `q${quality}-${f}`);
            await sharp(path.join(POSTS, f)).resize(4032, 3024, { fit: 'fill' }).jpeg({ quality }).toFile(out);
            return out;
          }),
        ),
      );
    },
    known: 'group',
  },
];

const chosen = process.argv.slice(2);

/** The archiver's pipeline over the chosen sets (all by default). */
async function faceBench(): Promise<void> {
  const rows: string[] = [];
  const log = pino({ level: 'silent' });
  try {
    const started = performance.now();
    const engine = await PooledFaceEngine.create({
      backend: 'auto',
      modelsDir: undefined,
      minEyeDistance: 12,
      minFaceScore: 0.5,
      workers,
      embedder: embedderFromEnv(),
    });
    const startupMs = performance.now() - started;
    const known = await knownFolder();
    const emptyKnown = path.join(scratch, 'nobody');
    await mkdir(emptyKnown, { recursive: true });
    for (const set of sets.filter((s) => chosen.length === 0 || chosen.includes(s.name))) {
      const inputs = await set.inputs();
      const dataDir = await mkdtemp(path.join(scratch, 'data-'));
      const database = await openLibraryDatabase({ dataDir });
      // The decoder the archiver and the bot run: child processes under a hard time limit.
      const decoder = new ProcessImageDecoder({ ...DEFAULT_DECODER_LIMITS, processes: Math.max(2, workers) });
      const job = new ArchiveJob({ engine, decoder, cache: new SqlFaceCache(database.db, engine.info.embedder), log });
      const plan = await ArchiveJob.plan({
        inputs,
        knownDir: set.known ? known : emptyKnown,
        outputDir: path.join(dataDir, 'out'),
        policy: { threshold: DEFAULT_THRESHOLD, margin: 0.02 },
      });
      // The known faces are learnt (and cached) by a first pass, so the timed pass measures the photos.
      await job.run({ ...plan, photos: [] });
      const before = engine.stats;
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      const t0 = performance.now();
      const report = await job.run(plan);
      const wall = performance.now() - t0;
      clearInterval(sampler);
      const inference = engine.stats.inferenceMs - before.inferenceMs;
      // Faces from the cache would time a lookup, not the pipeline.
      proof(report.faces > 0 && inference > 0, `${set.name}: ${report.faces} faces found, ${inference.toFixed(0)} ms of inference`);
      const busy = inference / (wall * workers);
      rows.push(
        `| ${set.describe} | ${report.photos} | ${report.faces} | ${(wall / 1000).toFixed(1)} s | ${(report.photos / (wall / 1000)).toFixed(2)} | ` +
          `${(report.faces / (wall / 1000)).toFixed(2)} | ${(busy * 100).toFixed(0)}% | ${((1 - busy) * 100).toFixed(0)}% | ${Math.round(peak / 2 ** 20)} MiB |`,
      );
      process.stderr.write(`${set.name}: done\n`);
      await decoder.close();
      await database.close();
    }
    await engine.close();
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    process.stdout.write(
      [
        `facefile bench, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
          `backend ${engine.info.backend}, ${workers} workers, ${engine.info.embedder}; engine start-up ${(startupMs / 1000).toFixed(1)} s; data ${DATASETS}`,
        '',
        '| set | photos | faces | wall | photos/s | faces/s | workers in inference | outside inference | peak RSS |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Benches of one part each, chosen by name instead of the archiver's photo sets. */
const parts: Record<string, () => Promise<void>> = {
  album: () => albumBench(scratch, chosen.slice(1)),
  albums: async () => void process.stdout.write(await benchAlbums(chosen.slice(1))),
  clusters: () => Promise.resolve(void process.stdout.write(benchClusters())),
  library: async () => void process.stdout.write(await benchLibrary()),
  gallery: async () => void process.stdout.write(await benchGallery()),
  groups: async () => void process.stdout.write(await benchGroups()),
  import: async () => void process.stdout.write(await benchImport()),
  scale: async () => void process.stdout.write(await benchScale()),
  profile: async () => void process.stdout.write(await benchProfile()),
  server: benchServer,
};
const part = chosen[0] === undefined ? undefined : parts[chosen[0]];
try {
  if (!part) await faceBench();
  else {
    try {
      await part();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
} catch (error) {
  // A run that measured nothing is an answer, not a bug: its reason alone, and a failing exit.
  if (!(error instanceof BenchMeasuredNothing)) throw error;
  process.stderr.write(`npm run bench: ${error.message}\n`);
  process.exitCode = 1;
}
