import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { faceEngineContract, type FaceEngineFixtures } from '../contracts/face-engine.contract.ts';
import { DEFAULT_THRESHOLD, HumanFaceEngine, PooledFaceEngine } from '../../src/recognition/index.ts';
import { GROUP, LFW, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { ENGINE_OPTIONS } from '../helpers/engine.ts';

/** Real photos from the shared datasets, where the contract means real faces. */
const photos: FaceEngineFixtures = {
  threshold: DEFAULT_THRESHOLD,
  sixPeople: () => readFile(path.join(POSTS, 'bbt4.jpg')),
  twoPeople: () => readFile(path.join(POSTS, 'kit_with_rose.jpg')),
  onePersonTwice: async () => [await readFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0013.jpg')), await readFile(path.join(LFW, 'Abdullah_Gul/Abdullah_Gul_0014.jpg'))],
  anotherPerson: () => readFile(path.join(LFW, 'AJ_Cook/AJ_Cook_0001.jpg')),
  tightCrop: () => readFile(path.join(GROUP, 'amy', 'amy1.png')),
};

faceEngineContract('HumanFaceEngine (in process)', () => HumanFaceEngine.create(ENGINE_OPTIONS), photos, { skip: NO_DATASETS });
faceEngineContract('PooledFaceEngine (2 worker threads)', () => PooledFaceEngine.create({ ...ENGINE_OPTIONS, workers: 2 }), photos, { skip: NO_DATASETS });
