/**
 * `npm run bench -- library`: the group library's commands on the relational store (SQLite in a
 * temporary data folder) at 1k, 10k and 100k photos, with synthetic 128-d faces (3 per photo: 40
 * enrolled members, people not enrolled, strangers) seeded straight into the tables, and the
 * commands timed through `PhotoLibrary`. Album files are kept in memory (the fake album store):
 * what is measured is the store and the library's work, not the file system. Beside it, in the
 * same run, the keyv layout of the earlier release on the two operations it had: filing a photo's
 * record and listing the group (at 1k and 10k; at 100k it takes minutes to seed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { sql } from 'kysely';
import os from 'node:os';
import path from 'node:path';
import type { AlbumStore, DecodeResult, FaceEngine, ImageDecoder, Person, PhotoRecord, StoredFace } from '../src/core/index.ts';
import { matchFaces, silentLog } from '../src/core/index.ts';
import { PhotoLibrary } from '../src/core/library/index.ts';
import { KeyvPhotoStore, closeKeyv, openKeyv } from '../src/storage/legacy/index.ts';
import { SqlAuditLog, SqlGalleryStore, SqlPhotoStore, SqlSettingsStore, openLibraryDatabase, type LibraryDatabase } from '../src/storage/sql/index.ts';
import { WorkerFaceClusterer } from '../src/clustering/index.ts';
import { MemoryAlbumStore } from '../test/fakes/memory-album-store.ts';
import { FakeRenderer } from '../test/fakes/fake-library.ts';
import { around, random } from '../test/helpers/synthetic-faces.ts';

const G = 'tg:-100';
const THRESHOLD = 0.93;
/** BENCH_LIBRARY_SIZES=1000,5000 for a quick look; the README's figures are the default three. */
const SIZES = (process.env['BENCH_LIBRARY_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
const MEMBERS = 40;

interface World {
  readonly next: () => number;
  readonly common: Float32Array;
  readonly centres: Float32Array[];
  readonly noise: number;
}

function world(): World {
  const next = random(11);
  const common = around(new Float32Array(128), 1, next);
  // 40 members, 20 people who are never enrolled until the bench enrols one, and "Big", in 5% of photos.
  const centres = Array.from({ length: MEMBERS + 21 }, () => around(common, 0.033, next));
  return { next, common, centres, noise: Math.sqrt((1 / 0.95 - 1) / 128) };
}

const BIG = MEMBERS + 20;

function face(w: World, identity: number | undefined): Float32Array {
  return identity === undefined ? around(w.common, 0.033, w.next) : around(w.centres[identity]!, w.noise, w.next);
}

/** Who is in a photo: Big in one photo of 20, members often, the not-yet-enrolled sometimes, strangers. */
function cast(w: World, n: number): (number | undefined)[] {
  const who: (number | undefined)[] = [];
  if (n % 20 === 0) who.push(BIG);
  while (who.length < 3) {
    const r = w.next();
    const id = r < 0.55 ? Math.floor(w.next() * MEMBERS) : r < 0.7 ? MEMBERS + Math.floor(w.next() * 20) : undefined;
    if (id === undefined || !who.includes(id)) who.push(id);
  }
  return who;
}

function people(w: World, at: string): Person[] {
  return [...Array.from({ length: MEMBERS }, (_, i) => i), BIG].map((i) => ({
    id: `p${i}`,
    name: i === BIG ? 'Big' : `Member ${i}`,
    folder: i === BIG ? 'Big' : `Member_${i}`,
    samples: [0, 1, 2].map(() => ({ embedding: face(w, i), addedAt: at })),
    rejected: [],
    createdAt: at,
  }));
}

const hashOf = (n: number) => n.toString(16).padStart(64, 'a');

function record(w: World, n: number, gallery: Person[]): PhotoRecord {
  const seenAt = new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString();
  const faces: StoredFace[] = cast(w, n).map((id, i) => ({
    box: { x: i * 100, y: 0, width: 80, height: 80 },
    score: 0.99,
    eyeDistance: 30,
    seenAt,
    embedding: face(w, id),
  }));
  const matched = matchFaces(
    faces,
    gallery.map((p) => ({ id: p.id, name: p.name, samples: p.samples.map((s) => s.embedding) })),
    { threshold: THRESHOLD, margin: 0.02 },
  );
  return {
    hash: hashOf(n),
    ext: 'jpg',
    bytes: 2_000_000,
    postedAt: seenAt,
    faces: faces.map((f, i) => {
      const m = matched[i]!;
      return m.kind === 'person' ? { ...f, personId: m.personId } : f;
    }),
  };
}

/** Through the stores, with SQLite's sync off while seeding (it is seeding, not what is measured). */
async function seed(db: LibraryDatabase, gallery: Person[], records: PhotoRecord[]): Promise<void> {
  await sql`PRAGMA synchronous = OFF`.execute(db.db);
  const store = new SqlGalleryStore(db.db);
  for (const person of gallery) await store.save(G, person);
  const photos = new SqlPhotoStore(db.db);
  for (const r of records) await photos.save(G, r);
  await sql`PRAGMA synchronous = FULL`.execute(db.db);
}

/** The fake album store, minus the originals of seeded photos: links and deletions only count. */
function linksOnly(): AlbumStore {
  const store = new MemoryAlbumStore();
  return Object.assign(Object.create(store) as AlbumStore, {
    link: () => Promise.resolve(),
    unlink: () => Promise.resolve(),
    deleteOriginal: () => Promise.resolve(),
    removeAlbum: () => Promise.resolve(),
  });
}

/** A decoder and engine that turn a photo's bytes (its number) into the next synthetic faces. */
function syntheticParts(w: World, faces: Map<string, (number | undefined)[]>): { decoder: ImageDecoder; engine: FaceEngine } {
  const decoder: ImageDecoder = {
    decode: (bytes): Promise<DecodeResult> => Promise.resolve({ ok: true, image: { width: 800, height: 600, pixels: bytes, format: 'jpeg' } }),
  };
  const engine: FaceEngine = {
    info: { backend: 'synthetic', embedder: 'synthetic', dimensions: 128, workers: 1 },
    detect: (image) => {
      const who = faces.get(Buffer.from(image.pixels).toString()) ?? [undefined];
      return Promise.resolve(who.map((id, i) => ({ box: { x: i * 100, y: 0, width: 80, height: 80 }, score: 0.99, eyeDistance: 30, embedding: face(w, id) })));
    },
    close: () => Promise.resolve(),
  };
  return { decoder, engine };
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
}

async function repeat(times: number, run: () => Promise<number>): Promise<number[]> {
  const values: number[] = [];
  for (let i = 0; i < times; i++) values.push(await run());
  return values;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);

async function benchSize(size: number, scratch: string): Promise<string[]> {
  const w = world();
  const at = '2025-01-01T00:00:00.000Z';
  const gallery = people(w, at);
  const records = Array.from({ length: size }, (_, n) => record(w, n, gallery));
  const dataDir = await mkdtemp(path.join(scratch, `library-${size}-`));
  const db = await openLibraryDatabase({ dataDir });
  const seeded = await timed(() => seed(db, gallery, records));
  const bigPhotos = records.filter((r) => r.faces.some((f) => f.personId === `p${BIG}`)).length;
  records.length = 0;
  const posted = new Map<string, (number | undefined)[]>();
  const { decoder, engine } = syntheticParts(w, posted);
  const clusterer = new WorkerFaceClusterer();
  const library = new PhotoLibrary({
    engine,
    decoder,
    gallery: new SqlGalleryStore(db.db),
    photos: new SqlPhotoStore(db.db),
    settings: new SqlSettingsStore(db.db),
    audit: new SqlAuditLog(db.db),
    albums: linksOnly(),
    renderer: new FakeRenderer(),
    clusterer,
    defaults: { threshold: THRESHOLD, margin: 0.02, replyMode: 'quiet', unknownRetentionDays: 90, minClusterPhotos: 3 },
    compact: () => db.compact(),
    log: silentLog,
  });
  let serial = size;
  const post = (who: (number | undefined)[]) => {
    const key = String(serial++);
    posted.set(key, who);
    return Buffer.from(key);
  };
  // The first command loads the group's embeddings into memory: timed on its own.
  const warm = await timed(() => library.enroll(G, { name: 'Warm Up', photo: { bytes: post([MEMBERS + 19]) } }));
  const ingest: number[] = [];
  for (let i = 0; i < 21; i++) ingest.push((await timed(() => library.ingest(G, { bytes: post(cast(w, serial)) }))).ms);
  const enroll: number[] = [];
  for (let i = 0; i < 3; i++) enroll.push((await timed(() => library.enroll(G, { name: `New ${i}`, photo: { bytes: post([MEMBERS + i]) } }))).ms);
  // One after another: run together, each would wait behind the others on the one connection.
  const peopleMs = median(await repeat(5, async () => (await timed(() => library.people(G))).ms));
  const statsMs = median(await repeat(5, async () => (await timed(() => library.stats(G))).ms));
  const threshold = await timed(() => library.setThreshold(G, 0.91));
  const forget = await timed(() => library.forget(G, { name: 'Big' }));
  const rss = process.memoryUsage().rss;
  await clusterer.close();
  await db.close();
  await rm(dataDir, { recursive: true, force: true });
  const moved = threshold.value.kind === 'set' ? threshold.value.photosChanged : 0;
  return [
    `| ${size.toLocaleString('en')} | ${fmt(seeded.ms)} | ${fmt(median(ingest))} | ${fmt(warm.ms)} | ${fmt(median(enroll))} | ${fmt(peopleMs)} / ${fmt(statsMs)} | ${fmt(threshold.ms)} (${moved} photos moved) | ${fmt(forget.ms)} (${bigPhotos} photos) | ${(rss / 2 ** 20).toFixed(0)} MB |`,
  ];
}

/** The earlier release's keyv layout, on what it could do: file a record, list the group. */
async function benchKeyv(size: number, scratch: string): Promise<string> {
  const w = world();
  const gallery = people(w, '2025-01-01T00:00:00.000Z');
  const dataDir = await mkdtemp(path.join(scratch, `keyv-${size}-`));
  const keyv = openKeyv<unknown>(dataDir, 'library');
  const photos = new KeyvPhotoStore(keyv);
  for (let n = 0; n < size; n++) await photos.save(G, record(w, n, gallery));
  const writes: number[] = [];
  for (let i = 0; i < 21; i++) {
    const r = record(w, size + i, gallery);
    writes.push((await timed(() => photos.save(G, r))).ms);
  }
  const list = await timed(() => photos.list(G));
  await closeKeyv(keyv);
  const db = await openLibraryDatabase({ dataDir });
  const sql = new SqlPhotoStore(db.db);
  const again = world();
  await seed(
    db,
    [],
    Array.from({ length: size }, (_, n) => record(again, n, gallery)),
  );
  const sqlWrites: number[] = [];
  for (let i = 0; i < 21; i++) {
    const r = record(w, size + i, gallery);
    sqlWrites.push((await timed(() => sql.save(G, r))).ms);
  }
  const counts = await timed(() => sql.counts(G));
  await db.close();
  await rm(dataDir, { recursive: true, force: true });
  return `| ${size.toLocaleString('en')} | ${fmt(median(writes))} | ${fmt(list.ms)} (every record, to count) | ${fmt(median(sqlWrites))} | ${fmt(counts.ms)} (counts) |`;
}

export async function benchLibrary(): Promise<string> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-bench-library-'));
  const lines = [
    `Library on SQLite (better-sqlite3, WAL, full sync), ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, synthetic 128-d faces, 3 per photo, 41 people enrolled`,
    '',
    '| photos | seeding | file a photo (median of 21) | first command (loads embeddings) | /enroll + re-file (median of 3) | /people / /stats | /threshold 0.93 -> 0.91 | /forget of Big | RSS after |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  try {
    for (const size of SIZES) {
      lines.push(...(await benchSize(size, scratch)));
      process.stderr.write(`library: ${size} done\n`);
    }
    lines.push(
      '',
      'Earlier keyv layout against the tables, same run:',
      '',
      '| photos | keyv: write a photo record | keyv: list the group | tables: write a photo record | tables: the totals |',
      '|---:|---:|---:|---:|---:|',
    );
    for (const size of SIZES.filter((n) => n <= 10_000)) lines.push(await benchKeyv(size, scratch));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return `${lines.join('\n')}\n`;
}
