/**
 * `npm run bench -- clusters`: `/unknown`'s clustering on synthetic faces (test/helpers/synthetic-faces.ts:
 * people 0.9-0.97 alike, strangers about 0.85, as measured on LFW; 30% seen once), the dense
 * average linkage it replaced against the scalable one, in process and in worker threads. Each case
 * runs in a child process of its own, so that its peak RSS is its own.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { clusterFaces } from '../src/core/index.ts';
import { WorkerFaceClusterer } from '../src/clustering/index.ts';
import { denseClusterFaces } from '../test/helpers/dense-clustering.ts';
import { pairwiseScore, syntheticFaces } from '../test/helpers/synthetic-faces.ts';
import { proof } from './bench-proof.ts';

const THRESHOLD = 0.93;
const MIN_PHOTOS = 3;

type Way = 'dense' | 'in-process' | 'worker';

interface Outcome {
  readonly ms: number;
  readonly peakRss: number;
  readonly maxDelayMs: number;
  readonly clusters: number;
  readonly precision: number;
  readonly recall: number;
}

/** The dense algorithm is cubic: 3,000 faces take a minute; 20,000 would take hours and 3.2 GB. */
const CASES: readonly (readonly [Way, number])[] = [
  ['dense', 1500],
  ['in-process', 1500],
  ['worker', 1500],
  ['dense', 3000],
  ['in-process', 3000],
  ['worker', 3000],
  ['in-process', 5000],
  ['worker', 5000],
  ['worker', 20000],
];

async function runCase(way: Way, count: number): Promise<Outcome> {
  const faces = syntheticFaces({ faces: count, identities: Math.round(count / 25), singletons: 0.3, seed: count });
  const clusterer = way === 'worker' ? new WorkerFaceClusterer() : undefined;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // The monitor's timer must be running before the loop is blocked, or the block goes unrecorded.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = performance.now();
  const clusters =
    way === 'dense'
      ? denseClusterFaces(faces, THRESHOLD, MIN_PHOTOS)
      : way === 'in-process'
        ? clusterFaces(faces, THRESHOLD, MIN_PHOTOS)
        : await clusterer!.cluster(faces, THRESHOLD, MIN_PHOTOS);
  const ms = performance.now() - started;
  // One more turn of the loop, so that a run that blocked it is recorded as the delay it caused.
  await new Promise((resolve) => setTimeout(resolve, 20));
  delay.disable();
  await clusterer?.close();
  proof(clusters.length > 0, `clustering ${count} faces (${way}) found no cluster`);
  return { ms, peakRss: process.resourceUsage().maxRSS * 1024, maxDelayMs: delay.max / 1e6, clusters: clusters.length, ...pairwiseScore(faces, clusters) };
}

/** Runs every case in a child process and answers the Markdown table. */
export function benchClusters(): string {
  const rows = CASES.map(([way, count]) => {
    const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), way, String(count)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const o = JSON.parse(out) as Outcome;
    process.stderr.write(`clusters: ${way} ${count} done\n`);
    const where =
      way === 'dense'
        ? 'dense average linkage (before), main thread'
        : way === 'in-process'
          ? 'sparse average linkage, main thread'
          : 'sparse average linkage, 2 worker threads';
    return `| ${where} | ${count} | ${(o.ms / 1000).toFixed(2)} s | ${Math.round(o.peakRss / 2 ** 20)} MiB | ${Math.round(o.maxDelayMs)} ms | ${o.clusters} | ${o.precision.toFixed(4)} | ${o.recall.toFixed(4)} |`;
  });
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `facefile bench clusters, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${cpu}, Node ${process.version}; threshold ${THRESHOLD}, min photos ${MIN_PHOTOS}; ` +
      'synthetic faces, one identity per 25 faces (long-tailed sizes), 30% strangers seen once',
    '',
    '| algorithm, where | faces | wall | peak RSS | max event-loop delay | clusters | pair precision | pair recall |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [way, count] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(await runCase(way as Way, Number(count))));
}
