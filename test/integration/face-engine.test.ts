import { faceEngineContract } from '../contracts/face-engine.contract.ts';
import { HumanFaceEngine, PooledFaceEngine } from '../../src/recognition/index.ts';
import { ENGINE_OPTIONS } from '../helpers/engine.ts';

faceEngineContract('HumanFaceEngine (in process)', () => HumanFaceEngine.create(ENGINE_OPTIONS));
faceEngineContract('PooledFaceEngine (2 worker threads)', () => PooledFaceEngine.create({ ...ENGINE_OPTIONS, workers: 2 }));
