import { readFile } from 'node:fs/promises';
import { MeshFaceEngine, type EngineOptions } from '../../src/recognition/index.ts';
import { SharpImageDecoder } from '../../src/imaging/sharp-decoder.ts';
import type { DecodedImage } from '../../src/core/index.ts';

export const ENGINE_OPTIONS: EngineOptions = { backend: 'auto', modelsDir: undefined, minEyeDistance: 12, minFaceScore: 0.5 };

const decoder = new SharpImageDecoder();

/** Decodes a test photo, failing the test if it does not decode. */
export async function decodeFile(file: string): Promise<DecodedImage> {
  const result = await decoder.decode(await readFile(file));
  if (!result.ok) throw new Error(`${file} did not decode: ${result.failure.detail}`);
  return result.image;
}

let shared: Promise<MeshFaceEngine> | undefined;

/** One in-process engine per test file: loading the models takes a second. */
export function sharedEngine(): Promise<MeshFaceEngine> {
  shared ??= MeshFaceEngine.create(ENGINE_OPTIONS);
  return shared;
}
