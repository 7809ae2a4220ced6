/**
 * One start of the library bench in a process of its own (`bench-library.ts` runs it): opens the
 * database, reads the kept matrices as the product's start does (timed on its own), times the
 * first command (an enrolment, with its re-file), checks what it found, and ends as it was told:
 * a clean stop that keeps the matrix, or a crash after filing five photos.
 * Prints its report as one line of JSON.
 */
import path from 'node:path';
import { WorkerFaceClusterer } from '../src/clustering/index.ts';
import { OnnxSimilarityKernel } from '../src/recognition/index.ts';
import { MatrixSnapshots, openLibraryDatabase } from '../src/storage/sql/index.ts';
import { proof } from './bench-proof.ts';
import { EMBEDDER, G, cast, facesTagged, libraryOver, syntheticParts, timed, world, type StartOrder, type StartReport } from './bench-library.ts';

const order = JSON.parse(process.argv[2] ?? '') as StartOrder;
const w = world();
const posted = new Map<string, (number | undefined)[]>();
let serial = order.serial;
const post = (who: (number | undefined)[]) => {
  const key = `start-${serial++}`;
  posted.set(key, who);
  return Buffer.from(key);
};
const kernel = await OnnxSimilarityKernel.create();
const clusterer = new WorkerFaceClusterer();
const db = await openLibraryDatabase(order.location);
const snapshots = new MatrixSnapshots(path.join(order.location.dataDir, 'matrices'));
const { photos, library } = libraryOver(db, { ...syntheticParts(w, posted), clusterer, kernel, snapshots });
// As the product starts (app/parts.ts): the kept matrices are read before the chats connect.
const warmed = await timed(() => photos.warm());
proof(warmed.value.includes(G), `the start read no kept matrix for the group (held: ${warmed.value.join(', ') || 'none'})`);
const enrolled = await timed(() => library.enroll(G, { name: `After ${order.what}`, photo: { bytes: post([order.member]) } }));
const report: StartReport = {
  ms: enrolled.ms,
  startMs: warmed.ms,
  refiled: enrolled.value.kind === 'enrolled' ? enrolled.value.refiled : 0,
  held: (await photos.near(G, [w.common], -2, EMBEDDER)).length,
  stored: await facesTagged(db),
};
if (order.stopping === 'crash') {
  for (let i = 0; i < 5; i++) await library.ingest(G, { bytes: post(cast(w, serial)) });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // No stop: nothing kept, nothing closed.
  process.exit(0);
}
await photos.saveMatrices();
await db.close();
await clusterer.close();
await kernel?.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
