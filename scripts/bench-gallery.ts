/**
 * `npm run bench -- gallery`: the group gallery's pages at 1k, 10k and 100k photos in one group,
 * on SQLite and PostgreSQL side by side. The library is seeded as `bench -- library` seeds it
 * (synthetic faces through the stores' own writes, 41 people); the real gallery server runs over
 * it, and each page is asked over HTTP with a session opened from signed Telegram launch data, as
 * a phone would. Times are the round trip on loopback: the server's time, plus well under a
 * millisecond. Before printing, each answer is checked against the database (the page holds 60
 * photos, newest first, and its total is the person's album).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sign } from '@telegram-apps/init-data-node';
import { PhotoLibrary } from '../src/core/library/index.ts';
import { silentLog, type DecodeResult } from '../src/core/index.ts';
import { SqlGalleryStore, SqlPhotoStore, SqlSettingsStore, openLibraryDatabase } from '../src/storage/sql/index.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../test/helpers/postgres.ts';
import { PreviewRenderer, Signer, startGalleryServer } from '../src/web/gallery/index.ts';
import { FakeRenderer } from '../test/fakes/fake-library.ts';
import { G, THRESHOLD, fmt, linksOnly, people, record, seed, timed, world } from './bench-library.ts';
import { proof } from './bench-proof.ts';

const SIZES = (process.env['BENCH_GALLERY_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
const DATABASES = (process.env['BENCH_GALLERY_DATABASES'] ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
const TOKEN = '123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ';
const CHAT = -100;
const RUNS = 11;

export async function benchGallery(): Promise<string> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-bench-gallery-'));
  const lines = [
    `Gallery, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; one group, synthetic faces, 3 per photo, 41 people; medians of ${RUNS} round trips on loopback`,
    '',
    "| database | photos | a person's photos (of the album) | people page (cold) | people page | a person, first page of 60 | a person, a page in the middle | with another person | a person in one year |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  try {
    for (const database of DATABASES)
      for (const size of SIZES) {
        const line = await benchSize(database, size, scratch);
        if (line) lines.push(line);
        process.stderr.write(`gallery: ${database} ${size} done\n`);
      }
  } finally {
    await dropSchemas();
    await rm(scratch, { recursive: true, force: true });
  }
  return `${lines.join('\n')}\n`;
}

interface Page {
  readonly photos: readonly { readonly hash: string; readonly postedAt: string }[];
  readonly total: number;
}
interface People {
  readonly people: readonly { readonly id: string; readonly photos: number }[];
}

async function benchSize(database: 'sqlite' | 'postgres', size: number, scratch: string): Promise<string | undefined> {
  const dataDir = await mkdtemp(path.join(scratch, `${database}-${size}-`));
  const server = database === 'postgres' ? await postgresUrl() : undefined;
  const url = server ? await freshSchemaUrl(server) : undefined;
  if (database === 'postgres' && !url) {
    process.stderr.write('gallery: no PostgreSQL server answers; its rows are left out\n');
    return undefined;
  }
  const location = url ? { dataDir, url } : { dataDir };
  const w = world();
  const everyone = people(w, '2025-01-01T00:00:00.000Z', 'synthetic');
  const seeding = await openLibraryDatabase(location);
  await seed(
    seeding,
    everyone,
    (function* () {
      for (let n = 0; n < size; n++) yield record(w, n, everyone, 'synthetic').record;
    })(),
  );
  await seeding.close();
  // A start: the database opened anew.
  const db = await openLibraryDatabase(location);
  const photos = new SqlPhotoStore(db.db);
  const decoder = {
    decode: (): Promise<DecodeResult> => Promise.resolve({ ok: false, failure: { reason: 'corrupt', detail: 'the bench stores no originals' } }),
  };
  const library = new PhotoLibrary({
    engine: {
      info: { backend: 'none', embedder: 'synthetic', dimensions: 128, workers: 1 },
      detect: () => Promise.resolve([]),
      close: () => Promise.resolve(),
    },
    decoder,
    gallery: new SqlGalleryStore(db.db),
    photos,
    settings: new SqlSettingsStore(db.db),
    albums: linksOnly(),
    renderer: new FakeRenderer(),
    defaults: { threshold: THRESHOLD, margin: 0.02, replyMode: 'quiet', unknownRetentionDays: 90, minClusterPhotos: 3 },
  });
  const served = await startGalleryServer({
    library,
    previews: new PreviewRenderer(decoder, 4096),
    signer: new Signer('b'.repeat(64)),
    log: silentLog,
    port: 0,
    host: '127.0.0.1',
    telegram: { token: TOKEN, members: () => Promise.resolve({ admin: false }) },
  });
  const base = `http://127.0.0.1:${served.port}`;
  try {
    const opened = await fetch(`${base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ initData: sign({ user: { id: 1, first_name: 'Bench' }, start_param: String(CHAT) }, TOKEN, new Date()) }),
    });
    proof(opened.status === 200, `the bench's session was refused (${opened.status})`);
    const token = ((await opened.json()) as { token: string }).token;
    const get = async (url: string): Promise<{ ms: number; value: unknown }> =>
      timed(async () => {
        const answer = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
        proof(answer.ok, `${url} answered ${answer.status}`);
        return answer.json();
      });
    /** The median of RUNS round trips, with that run's answer. */
    const median = async (url: string): Promise<{ ms: number; value: unknown }> => {
      const runs: { ms: number; value: unknown }[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await get(url));
      runs.sort((a, b) => a.ms - b.ms);
      return runs[Math.floor(RUNS / 2)]!;
    };
    const page = async (url: string) => {
      const run = await median(url);
      return { ms: run.ms, value: run.value as Page };
    };
    const coldPeople = await get('/api/people');
    const warmPeople = await median('/api/people');
    const everyoneShown = (warmPeople.value as People).people;
    // The most photographed member: the largest album a page is cut from.
    const person = [...everyoneShown].filter((p) => p.id !== 'p40').sort((a, b) => b.photos - a.photos)[0]!;
    const other = [...everyoneShown].filter((p) => p.id !== person.id && p.id !== 'p40').sort((a, b) => b.photos - a.photos)[0]!;
    const filed = (await photos.filedUnder(G, person.id)).length;
    const first = await page(`/api/photos?people=${person.id}`);
    proof(first.value.total === filed && filed === person.photos, `the page's total ${first.value.total} is not ${person.id}'s album of ${filed}`);
    proof(first.value.photos.length === Math.min(60, filed), `the first page holds ${first.value.photos.length} photos`);
    const times = first.value.photos.map((p) => p.postedAt);
    proof(
      times.every((t, i) => i === 0 || t <= times[i - 1]!),
      'the page is not newest first',
    );
    const middle = await page(`/api/photos?people=${person.id}&offset=${Math.floor(filed / 2)}`);
    proof(middle.value.photos.length > 0, 'the middle page is empty');
    const both = await page(`/api/photos?people=${person.id},${other.id}`);
    // Exactly the photos in both albums, counted here from each album on its own.
    const others = new Set(await photos.filedUnder(G, other.id));
    const shared = (await photos.filedUnder(G, person.id)).filter((hash) => others.has(hash)).length;
    proof(both.value.total === shared && shared > 0 && shared < filed, `with ${other.id}: ${both.value.total} of ${filed}, where both albums share ${shared}`);
    // Seeded photos are a minute apart from 2025-01-01: the first year holds all of the first 525,600.
    const year = await page(`/api/photos?people=${person.id}&from=2025-01-01&to=2025-12-31`);
    proof(year.value.total === filed || size > 525_600, 'the year holds the album');
    return `| ${database === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${size.toLocaleString('en')} | ${filed.toLocaleString('en')} | ${fmt(coldPeople.ms)} | ${fmt(warmPeople.ms)} | ${fmt(first.ms)} | ${fmt(middle.ms)} | ${fmt(both.ms)} | ${fmt(year.ms)} |`;
  } finally {
    await served.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
