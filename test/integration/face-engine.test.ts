import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { faceEngineContract, type FaceEngineFixtures } from '../contracts/face-engine.contract.ts';
import { DEFAULT_THRESHOLD, MeshFaceEngine, PooledFaceEngine } from '../../src/recognition/index.ts';
import { DATASETS, GROUP, LFW, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { ENGINE_OPTIONS, decodeFile } from '../helpers/engine.ts';
import { similarity } from '../../src/core/index.ts';

/** Real photos from the shared datasets, where the contract means real faces. */
const photos: FaceEngineFixtures = {
  threshold: DEFAULT_THRESHOLD,
  sixPeople: () => readFile(path.join(POSTS, 'bbt4.jpg')),
  twoPeople: () => readFile(path.join(POSTS, 'kit_with_rose.jpg')),
  onePersonTwice: async () => [
    await readFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0013.jpg')),
    await readFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0014.jpg')),
  ],
  anotherPerson: () => readFile(path.join(LFW, 'AJ_Cook/AJ_Cook_0001.jpg')),
  tightCrop: () => readFile(path.join(GROUP, 'amy', 'amy1.png')),
};

faceEngineContract('MeshFaceEngine (in process)', () => MeshFaceEngine.create(ENGINE_OPTIONS), photos, { skip: NO_DATASETS });
faceEngineContract('PooledFaceEngine (2 worker threads)', () => PooledFaceEngine.create({ ...ENGINE_OPTIONS, workers: 2 }), photos, { skip: NO_DATASETS });
faceEngineContract(
  'MeshFaceEngine on tfjs WASM (where onnxruntime does not load)',
  () => MeshFaceEngine.create({ ...ENGINE_OPTIONS, backend: 'wasm' }),
  photos,
  { skip: NO_DATASETS },
);

describe('MeshFaceEngine: onnxruntime and tfjs give the same faces', { skip: NO_DATASETS }, () => {
  it('GIVEN real group photos WHEN described on both backends THEN the boxes match and the embeddings agree to a cosine of 0.9999', async () => {
    // dlib is the one descriptor both backends run; MobileFaceNet runs only on onnxruntime.
    const onnx = await MeshFaceEngine.create({ ...ENGINE_OPTIONS, backend: 'onnx', embedder: 'dlib-7-flip' });
    const wasm = await MeshFaceEngine.create({ ...ENGINE_OPTIONS, backend: 'wasm' });
    try {
      assert.equal(wasm.info.embedder, 'dlib-7-flip@1', 'without onnxruntime, the dlib embedder');
      assert.equal(onnx.info.embedder, wasm.info.embedder, 'one embedder id: a library moved between backends needs no migration');
      let faces = 0,
        lowest = 1;
      for (const name of ['bbt4.jpg', 'kit_with_rose.jpg', 'obama_and_biden.jpg']) {
        const image = await decodeFile(path.join(POSTS, name));
        const [a, b] = [await onnx.detect(image), await wasm.detect(image)];
        assert.equal(a.length, b.length, `${name}: face count`);
        a.forEach((face, i) => {
          const other = b[i]!;
          assert.ok(Math.abs(face.box.x - other.box.x) <= 2 && Math.abs(face.box.width - other.box.width) <= 2, `${name}: box ${i}`);
          if (face.embedding && other.embedding) {
            lowest = Math.min(lowest, similarity(face.embedding, other.embedding));
            faces++;
          }
        });
      }
      assert.ok(faces >= 8, `described ${faces} faces`);
      assert.ok(lowest > 0.9999, `lowest cosine between backends ${lowest}`);
    } finally {
      await Promise.all([onnx.close(), wasm.close()]);
    }
  });
});

describe('MeshFaceEngine: the shipped embedder fuses MobileFaceNet and dlib on one similarity scale', { skip: NO_DATASETS }, () => {
  it("GIVEN two faces WHEN described by fused-flip and by each part THEN its similarity is 1 - b (1 - the mean of the parts' cosines)", async (t) => {
    const engines = await Promise.all(
      (['fused-flip', 'dlib-7-flip', 'mobilefacenet-flip'] as const).map((embedder) =>
        MeshFaceEngine.create({ ...ENGINE_OPTIONS, embedder }).catch(() => undefined),
      ),
    );
    const [fused, dlib, mfn] = engines;
    try {
      if (!fused || !dlib || !mfn) return t.skip('onnxruntime-node does not load here');
      const faces = async (engine: MeshFaceEngine) => {
        const [a] = await engine.detect(await decodeFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0013.jpg')));
        const [b] = await engine.detect(await decodeFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0014.jpg')));
        const [c] = await engine.detect(await decodeFile(path.join(LFW, 'AJ_Cook/AJ_Cook_0001.jpg')));
        return [a!.embedding!, b!.embedding!, c!.embedding!] as const;
      };
      const [f, d, m] = [await faces(fused), await faces(dlib), await faces(mfn)];
      // b from the fused vector itself: its last component is sqrt(1 - b).
      const b = 1 - f[0][f[0].length - 1]! ** 2;
      assert.ok(b > 0.1 && b < 0.5, `calibration ${b}`);
      // mobilefacenet-flip carries its own calibration: undo it to get the raw cosine.
      const bm = 1 - m[0][m[0].length - 1]! ** 2;
      const raw = (x: Float32Array, y: Float32Array, scale: number) => 1 - (1 - similarity(x, y)) / scale;
      for (const [i, j] of [
        [0, 1],
        [0, 2],
        [1, 2],
      ] as const) {
        const expected = 1 - b * (1 - (raw(d[i], d[j], 1) + raw(m[i], m[j], bm)) / 2);
        assert.ok(Math.abs(similarity(f[i], f[j]) - expected) < 1e-4, `pair ${i},${j}: ${similarity(f[i], f[j])} vs ${expected}`);
      }
      assert.ok(similarity(f[0], f[1]) >= DEFAULT_THRESHOLD, `same person ${similarity(f[0], f[1])}`);
      assert.ok(similarity(f[0], f[2]) < DEFAULT_THRESHOLD, `different people ${similarity(f[0], f[2])}`);
    } finally {
      await Promise.all(engines.map((engine) => engine?.close() ?? Promise.resolve()));
    }
  });
});

describe('MeshFaceEngine without MobileFaceNet (an install that could not reach the registry)', { skip: NO_DATASETS }, () => {
  it('GIVEN unreadable MobileFaceNet files THEN the default engine falls back to dlib with a warning, and an explicit EMBEDDER=fused refuses to start with the reason', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-no-mfn-'));
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      // A file in MODELS_DIR replaces the packaged one: this one is not a model at all.
      await writeFile(path.join(dir, 'mobilefacenet.json'), 'not json');
      const engine = await MeshFaceEngine.create({ ...ENGINE_OPTIONS, modelsDir: dir });
      try {
        if (engine.info.backend !== 'onnx') return t.skip('onnxruntime-node does not load here');
        assert.equal(engine.info.embedder, 'dlib-7-flip@1');
        const faces = await engine.detect(await decodeFile(path.join(POSTS, 'kit_with_rose.jpg')));
        assert.equal(faces.filter((f) => f.embedding?.length === 128).length, 2);
      } finally {
        await engine.close();
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(
        warnings.some((w) => w.includes('falls back to dlib-7-flip') && w.includes('mobilefacenet')),
        warnings.join('\n'),
      );
      await assert.rejects(
        MeshFaceEngine.create({ ...ENGINE_OPTIONS, modelsDir: dir, embedder: 'fused' }),
        /EMBEDDER=fused cannot run here \(.*mobilefacenet.*\); use EMBEDDER=dlib-7-flip/,
      );
    } finally {
      process.off('warning', onWarning);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('MeshFaceEngine on small photos where the detector finds nothing at first', { skip: NO_DATASETS }, () => {
  it('GIVEN a 220x165 photo that a face with dark glasses fills THEN the face is found (a border or an enlarged view), and a photo of no face stays empty', async () => {
    const engine = await MeshFaceEngine.create(ENGINE_OPTIONS);
    try {
      const elton = await decodeFile(
        path.join(DATASETS, 'five-celebs', 'elton_john', 'httpsuploadwikimediaorgwikipediacommonsthumbEltonJohninsjpgpxEltonJohninsjpg.jpg'),
      );
      assert.deepEqual([elton.width, elton.height], [220, 165]);
      const faces = (await engine.detect(elton)).filter((face) => face.embedding);
      assert.equal(faces.length, 1, 'his face');
      assert.ok(
        faces[0]!.box.x >= 0 && faces[0]!.box.x + faces[0]!.box.width <= 220 + 10,
        `the box is in the photo's pixels: ${JSON.stringify(faces[0]!.box)}`,
      );
      const plain = { width: 220, height: 165, pixels: new Uint8Array(220 * 165 * 3).fill(90), format: 'raw' };
      assert.deepEqual(await engine.detect(plain), []);
    } finally {
      await engine.close();
    }
  });
});
