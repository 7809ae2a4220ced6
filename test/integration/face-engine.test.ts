import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { faceEngineContract, type FaceEngineFixtures } from '../contracts/face-engine.contract.ts';
import { DEFAULT_THRESHOLD, MeshFaceEngine, PooledFaceEngine } from '../../src/recognition/index.ts';
import { GROUP, LFW, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { ENGINE_OPTIONS, decodeFile } from '../helpers/engine.ts';
import { similarity } from '../../src/core/index.ts';

/** Real photos from the shared datasets, where the contract means real faces. */
const photos: FaceEngineFixtures = {
  threshold: DEFAULT_THRESHOLD,
  sixPeople: () => readFile(path.join(POSTS, 'bbt4.jpg')),
  twoPeople: () => readFile(path.join(POSTS, 'kit_with_rose.jpg')),
  onePersonTwice: async () => [await readFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0013.jpg')), await readFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0014.jpg'))],
  anotherPerson: () => readFile(path.join(LFW, 'AJ_Cook/AJ_Cook_0001.jpg')),
  tightCrop: () => readFile(path.join(GROUP, 'amy', 'amy1.png')),
};

faceEngineContract('MeshFaceEngine (in process)', () => MeshFaceEngine.create(ENGINE_OPTIONS), photos, { skip: NO_DATASETS });
faceEngineContract('PooledFaceEngine (2 worker threads)', () => PooledFaceEngine.create({ ...ENGINE_OPTIONS, workers: 2 }), photos, { skip: NO_DATASETS });
faceEngineContract('MeshFaceEngine on tfjs WASM (where onnxruntime does not load)', () => MeshFaceEngine.create({ ...ENGINE_OPTIONS, backend: 'wasm' }), photos, { skip: NO_DATASETS });

describe('MeshFaceEngine: onnxruntime and tfjs give the same faces', { skip: NO_DATASETS }, () => {
  it('GIVEN real group photos WHEN described on both backends THEN the boxes match and the embeddings agree to a cosine of 0.9999', async () => {
    const onnx = await MeshFaceEngine.create({ ...ENGINE_OPTIONS, backend: 'onnx' });
    const wasm = await MeshFaceEngine.create({ ...ENGINE_OPTIONS, backend: 'wasm' });
    try {
      assert.equal(onnx.info.embedder, wasm.info.embedder, 'one embedder id: libraries need no migration between backends');
      let faces = 0, lowest = 1;
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
