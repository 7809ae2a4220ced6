import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { forEachConcurrent, similarity } from '../core/index.ts';
import { createDecoder, createEngine } from '../app/index.ts';
import { accuracyAt, bestThreshold, centralFace, crossValidate, parsePairs, tarAtFar, type Pair, type ScoredPair } from '../eval/verification.ts';
import { inspectPath } from '../files/index.ts';
import { PathError } from '../core/index.ts';
import type { CommandContext } from './archive-command.ts';
import { createProgress } from './progress.ts';
import type { EmbedderName } from '../recognition/index.ts';

export interface EvalOptions {
  readonly pairs: string;
  readonly images: string;
  readonly train?: string;
  readonly json?: string;
  readonly embedder?: EmbedderName;
}

/** `facefile eval`: LFW-protocol verification accuracy of the shipped recognition core. */
export async function evalCommand(options: EvalOptions, { config, log, out }: CommandContext): Promise<void> {
  for (const file of [options.pairs, ...(options.train ? [options.train] : [])]) {
    if ((await inspectPath(file)) !== 'file') throw new PathError(file, 'not-a-file');
  }
  if ((await inspectPath(options.images)) !== 'folder') throw new PathError(options.images, 'not-a-folder');
  const test = parsePairs(await readFile(options.pairs, 'utf8'));
  const train = options.train ? parsePairs(await readFile(options.train, 'utf8')) : [];
  if (test.length === 0) throw new PathError(options.pairs, 'not-a-file');

  const engine = await createEngine(config, options.embedder);
  const decoder = createDecoder(config);
  const images = [...new Set([...test, ...train].flatMap((p) => [p.a, p.b]))];
  const embeddings = new Map<string, Float32Array>();
  const progress = createProgress();
  const started = performance.now();
  progress.begin('photos', images.length);
  try {
    await forEachConcurrent(images, engine.info.workers * 2, async (image) => {
      try {
        const decoded = await decoder.decode(await readFile(path.join(options.images, image)));
        if (!decoded.ok) {
          log.warn({ image, failure: decoded.failure }, 'eval image not decodable');
          return;
        }
        const face = centralFace(await engine.detect(decoded.image), decoded.image.width, decoded.image.height);
        if (face?.embedding) embeddings.set(image, face.embedding);
      } catch (error) {
        log.warn({ err: error, image }, 'eval image failed');
      } finally {
        progress.advance(image);
      }
    });
  } finally {
    progress.end();
    await engine.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const score = (pairs: readonly Pair[]): ScoredPair[] =>
    pairs.map((p) => {
      const a = embeddings.get(p.a),
        b = embeddings.get(p.b);
      return { ...p, score: a && b ? similarity(a, b) : undefined };
    });
  const scoredTest = score(test);
  const scoredTrain = score(train);
  const cv = crossValidate(scoredTest);
  const lines = [
    `Embedder ${engine.info.embedder} on ${engine.info.backend}; ${images.length} images in ${seconds.toFixed(0)} s (${(images.length / seconds).toFixed(1)} images/s)`,
    `Test pairs: ${test.length} (${test.filter((p) => p.same).length} same, ${test.filter((p) => !p.same).length} different); ` +
      `no usable face in ${images.length - embeddings.size} images, ${scoredTest.filter((p) => p.score === undefined).length} pairs counted as "different"`,
    `10-fold accuracy on the test pairs: ${pct(cv.mean)} ± ${pct(cv.std)} (thresholds ${Math.min(...cv.thresholds).toFixed(3)}..${Math.max(...cv.thresholds).toFixed(3)})`,
  ];
  const result: Record<string, unknown> = { embedder: engine.info.embedder, backend: engine.info.backend, crossValidation: cv };
  if (scoredTrain.length > 0) {
    const chosen = bestThreshold(scoredTrain);
    const trainFar = tarAtFar(scoredTrain, 0.001);
    const testAcc = accuracyAt(scoredTest, chosen.threshold);
    lines.push(
      `Threshold chosen on the training pairs (best accuracy): ${chosen.threshold.toFixed(3)} (train ${pct(chosen.accuracy)}) -> test accuracy ${pct(testAcc)}`,
      `Threshold at 0.1% false accepts on the training pairs: ${trainFar.threshold.toFixed(3)} (train TAR ${pct(trainFar.tar)}) -> test accuracy ${pct(accuracyAt(scoredTest, trainFar.threshold))}`,
    );
    Object.assign(result, { trainThreshold: chosen, testAccuracy: testAcc, trainThresholdFar001: trainFar });
  }
  for (const far of [0.01, 0.001]) {
    const { tar, threshold } = tarAtFar(scoredTest, far);
    lines.push(`TAR at FAR ${pct(far)} on the test pairs: ${pct(tar)} (threshold ${threshold.toFixed(3)})`);
  }
  out.write(lines.join('\n') + '\n');
  if (options.json) await writeFile(options.json, JSON.stringify({ ...result, test: scoredTest, train: scoredTrain }, null, 2) + '\n');
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
