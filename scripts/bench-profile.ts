/**
 * `npm run bench -- profile`: where one engine thread's time goes, per stage and per model, photo
 * by photo on the main thread, for each backend that loads, in the same run: onnxruntime-node (the
 * default) and tfjs on WASM (the fallback, and the runtime of the engine before issue 13).
 * The stages: decoding (sharp), BlazeFace (one pass per tile), FaceMesh (one run per face found),
 * the dlib descriptor (each chip and its mirror image), and the rest: the engine's own JavaScript
 * between the models (the copy at most 2048 pixels wide, tiles, the detector's resize and crops,
 * the merge of the detections, the chips' alignment).
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { SharpImageDecoder } from '../src/imaging/sharp-decoder.ts';
import { MeshFaceEngine, type BackendPreference } from '../src/recognition/index.ts';
import type { ChipDescriber } from '../src/recognition/model-backends.ts';
import type { FaceModels, ModelRunner } from '../src/recognition/detector/index.ts';
import { POSTS } from '../test/helpers/datasets.ts';

interface Timings {
  decodeMs: number;
  detectorMs: number;
  passes: number;
  meshMs: number;
  meshes: number;
  embedMs: number;
  totalMs: number;
  faces: number;
  chips: number;
}

/** The engine's private parts this bench times; wrapped on the instance, nothing else changes. */
interface Inside {
  detector: { models: FaceModels };
  parts: { run: ChipDescriber }[];
}

function timed(runner: ModelRunner, add: (ms: number) => void): ModelRunner {
  return {
    async run(input, shape) {
      const started = performance.now();
      try {
        return await runner.run(input, shape);
      } finally {
        add(performance.now() - started);
      }
    },
  };
}

export async function benchProfile(): Promise<string> {
  const posts = readdirSync(POSTS)
    .filter((f) => !f.endsWith('.json'))
    .sort()
    .map((f) => readFileSync(path.join(POSTS, f)));
  const large = await Promise.all(posts.slice(0, 8).map((bytes) => sharp(bytes).resize(4032, 3024, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer()));
  const sections: string[] = [];
  for (const backend of ['onnx', 'wasm'] as BackendPreference[]) {
    sections.push(await profileBackend(backend, posts, large));
  }
  return sections.join('\n');
}

async function profileBackend(backend: BackendPreference, posts: Buffer[], large: Buffer[]): Promise<string> {
  const engine = await MeshFaceEngine.create({ backend, modelsDir: undefined, minEyeDistance: 12, minFaceScore: 0.5 });
  const inside = engine as unknown as Inside;
  const decoder = new SharpImageDecoder();
  const t: Timings = { decodeMs: 0, detectorMs: 0, passes: 0, meshMs: 0, meshes: 0, embedMs: 0, totalMs: 0, faces: 0, chips: 0 };
  const models = inside.detector.models;
  Object.assign(models, {
    detector: timed(models.detector, (ms) => ((t.detectorMs += ms), t.passes++)),
    mesh: timed(models.mesh, (ms) => ((t.meshMs += ms), t.meshes++)),
  });
  for (const { run } of inside.parts) {
    const describe = run.describe.bind(run);
    run.describe = async (chips, count, size) => {
      const started = performance.now();
      try {
        return await describe(chips, count, size);
      } finally {
        t.embedMs += performance.now() - started;
        t.chips += count;
      }
    };
  }
  const rows: string[] = [];
  // One untimed photo first: the first inference prepares the kernels.
  const warm = await decoder.decode(posts[0]!);
  if (warm.ok) await engine.detect(warm.image);
  for (const [name, photos] of [
    ['group-photos/_posts: 26 photos, 0.1-3.3 MP', posts],
    ['8 posts upscaled to 12 MP (4032x3024)', large],
  ] as const) {
    Object.assign(t, { decodeMs: 0, detectorMs: 0, passes: 0, meshMs: 0, meshes: 0, embedMs: 0, totalMs: 0, faces: 0, chips: 0 });
    for (const bytes of photos) {
      const started = performance.now();
      const decoded = await decoder.decode(bytes);
      t.decodeMs += performance.now() - started;
      if (!decoded.ok) continue;
      t.faces += (await engine.detect(decoded.image)).length;
      t.totalMs += performance.now() - started;
    }
    const n = photos.length;
    const other = t.totalMs - t.decodeMs - t.detectorMs - t.meshMs - t.embedMs;
    const share = (ms: number) => `${((ms / t.totalMs) * 100).toFixed(0)}%`;
    const per = (ms: number, count: number, unit: string) => (count > 0 ? `; ${(ms / count).toFixed(1)} ms a ${unit}` : '');
    rows.push(
      `| ${engine.info.backend} | ${name} | ${(t.totalMs / n).toFixed(0)} ms | ${(t.decodeMs / n).toFixed(0)} ms (${share(t.decodeMs)}) | ` +
        `${(t.detectorMs / n).toFixed(0)} ms (${share(t.detectorMs)})${per(t.detectorMs, t.passes, 'pass')}, ${(t.passes / n).toFixed(1)} passes | ` +
        `${(t.meshMs / n).toFixed(0)} ms (${share(t.meshMs)})${per(t.meshMs, t.meshes, 'face')} | ` +
        `${(t.embedMs / n).toFixed(0)} ms (${share(t.embedMs)})${per(t.embedMs, t.chips, 'chip')} | ${(other / n).toFixed(0)} ms (${share(other)}) | ${(t.faces / n).toFixed(1)} |`,
    );
    process.stderr.write(`profile: ${engine.info.backend}, ${name} done\n`);
  }
  await engine.close();
  return [
    `facefile bench profile, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, backend ${engine.info.backend}, one engine thread, ${engine.info.embedder}`,
    '',
    '| backend | photos | per photo | decode (sharp) | BlazeFace | FaceMesh | dlib descriptor (chips incl. mirrors) | the rest | faces |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}
