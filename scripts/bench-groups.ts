/**
 * `npm run bench -- groups`: many groups on one process, on PostgreSQL (a fresh schema of the local
 * server): BENCH_GROUPS groups (100 by default) of BENCH_GROUP_PHOTOS photos (10,000), seeded as
 * `bench-library.ts` seeds one. Then one process, wired as app/parts.ts wires it (the native
 * kernel, the matrices' memory budget, the matrices kept in the data folder), runs an enrolment in
 * every group in turn, which loads each group's matrix: the memory the process uses then, and what
 * a command costs in a group whose matrix was evicted (the first, least recently used; it comes back
 * from its kept file) against one whose matrix is held (the last). The store says which it holds:
 * the bench fails if the first was not evicted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLog } from '../src/core/index.ts';
import { PhotoLibrary } from '../src/core/library/index.ts';
import { MatrixSnapshots, SqlAuditLog, SqlGalleryStore, SqlPhotoStore, SqlSettingsStore, openLibraryDatabase } from '../src/storage/sql/index.ts';
import { OnnxSimilarityKernel } from '../src/recognition/index.ts';
import { FakeRenderer } from '../test/fakes/fake-library.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../test/helpers/postgres.ts';
import { EMBEDDER, MEMBERS, THRESHOLD, fmt, linksOnly, people, record, seed, syntheticParts, timed, world } from './bench-library.ts';
import { proof } from './bench-proof.ts';

const GROUPS = Number(process.env['BENCH_GROUPS'] ?? 100);
const PHOTOS = Number(process.env['BENCH_GROUP_PHOTOS'] ?? 10_000);

export async function benchGroups(): Promise<string> {
  const base = await postgresUrl();
  if (!base) throw new Error('the groups bench needs PostgreSQL (set TEST_DATABASE_URL)');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-bench-groups-'));
  const url = await freshSchemaUrl(base);
  const groups = Array.from({ length: GROUPS }, (_, i) => `tg:-${1000 + i}`);
  const kernel = await OnnxSimilarityKernel.create();
  try {
    const seeding = await openLibraryDatabase({ dataDir: scratch, url });
    const seeded = await timed(async () => {
      for (const [i, group] of groups.entries()) {
        const w = world();
        const gallery = people(w, '2025-01-01T00:00:00.000Z', EMBEDDER);
        await seed(
          seeding,
          gallery,
          (function* () {
            for (let n = 0; n < PHOTOS; n++) yield record(w, n, gallery, EMBEDDER).record;
          })(),
          group,
        );
        if ((i + 1) % 10 === 0) process.stderr.write(`groups: ${i + 1} of ${GROUPS} seeded\n`);
      }
    });
    await seeding.close();
    const db = await openLibraryDatabase({ dataDir: scratch, url });
    const w = world();
    const posted = new Map<string, (number | undefined)[]>();
    const { decoder, engine } = syntheticParts(w, posted);
    // As app/parts.ts wires it: the matrices kept in the data folder, so an evicted one comes back from its file.
    const photos = new SqlPhotoStore(db.db, { kernel, snapshots: new MatrixSnapshots(path.join(scratch, 'matrices')) });
    const library = new PhotoLibrary({
      engine,
      decoder,
      gallery: new SqlGalleryStore(db.db),
      photos,
      settings: new SqlSettingsStore(db.db),
      audit: new SqlAuditLog(db.db),
      albums: linksOnly(),
      renderer: new FakeRenderer(),
      defaults: { threshold: THRESHOLD, margin: 0.02, replyMode: 'quiet', unknownRetentionDays: 90, minClusterPhotos: 3 },
      ...(kernel ? { kernel } : {}),
      log: silentLog,
    });
    let serial = 0;
    const enroll = async (group: string, i: number) => {
      const key = `posted ${serial++}`;
      posted.set(key, [MEMBERS + (i % 20)]);
      const result = await library.enroll(group, { name: `New ${i}`, photo: { bytes: Buffer.from(key) } });
      proof(
        result.kind === 'enrolled' && result.refiled > 0,
        `an enrolment in ${group} answered ${result.kind}, re-filing ${result.kind === 'enrolled' ? result.refiled : 0} photos`,
      );
    };
    const rssBefore = process.memoryUsage().rss;
    const loads: number[] = [];
    for (const [i, group] of groups.entries()) loads.push((await timed(() => enroll(group, i))).ms);
    const rss = process.memoryUsage().rss;
    const heldGroups = photos.heldMatrices();
    proof(
      heldGroups.includes(groups.at(-1)!) && !heldGroups.includes(groups[0]!),
      `the last group's matrix is held and the first's evicted (${heldGroups.length} of ${GROUPS} held)`,
    );
    const held = await timed(() => enroll(groups.at(-1)!, 1));
    const evicted = await timed(() => enroll(groups[0]!, 2));
    await db.close();
    const sorted = [...loads].sort((a, b) => a - b);
    return [
      `Many groups on one process, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; PostgreSQL; ` +
        `${GROUPS} groups of ${PHOTOS.toLocaleString('en')} photos (3 faces each); the matrices' budget 512 MB; face matrix scanned by ${kernel ? 'onnxruntime' : 'JavaScript'}`,
      '',
      '| groups x photos | seeding | first /enroll in each group (median / slowest) | RSS before / after every group loaded | matrices held | /enroll, matrix held | /enroll, matrix evicted (from its kept file) |',
      '|---|---:|---:|---:|---:|---:|---:|',
      `| ${GROUPS} x ${PHOTOS.toLocaleString('en')} | ${fmt(seeded.ms)} | ${fmt(sorted[Math.floor(sorted.length / 2)]!)} / ${fmt(sorted.at(-1)!)} | ` +
        `${(rssBefore / 2 ** 20).toFixed(0)} MB / ${(rss / 2 ** 20).toFixed(0)} MB | ${heldGroups.length} of ${GROUPS} | ${fmt(held.ms)} | ${fmt(evicted.ms)} |`,
      '',
    ].join('\n');
  } finally {
    await kernel?.close();
    await dropSchemas();
    await rm(scratch, { recursive: true, force: true });
  }
}
