import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { EngineError, describeError, sha256Hex } from '../../core/index.ts';
import { writeAtomically } from '../../files/index.ts';
import { buildDlibResnet } from './dlib-resnet.ts';
import { convertGraphModel, type ConvertOptions, type GraphModelJson } from './tfjs-graph.ts';
import { decodeWeights, type WeightGroup } from './weights.ts';

export type OrtModule = typeof Ort;
export type OnnxSession = Ort.InferenceSession;
export type OnnxModelName = 'face_recognition' | 'mobilefacenet' | 'blazeface' | 'facemesh';

/** Reads a source model file (as named in the model's manifest) from wherever models live. */
export type ModelReader = (file: string) => Promise<Buffer>;

/**
 * Bumped whenever the conversion changes its output, so that cached .onnx files from an older
 * converter are not used (it is part of each cache file's name).
 */
export const CONVERTER_VERSION = 2;

export interface OnnxModelSpec {
  readonly input: string;
  readonly size: number;
  readonly pixels: string;
  readonly outputs: readonly string[];
  /** Repairs applied while converting (part of the cache key). */
  readonly convert?: ConvertOptions;
}

/**
 * What each converted model takes and gives. The layout is tfjs's (NHWC float32), and the input
 * scaling is what the model's own caller (face-api, Human) feeds it, except for mobilefacenet,
 * whose repaired graph wants what it was trained on; the conversion adds no scaling.
 */
export const ONNX_MODELS: Readonly<Record<OnnxModelName, OnnxModelSpec>> = {
  face_recognition: { input: 'input', size: 150, pixels: 'RGB 0..255 (the graph subtracts the mean and divides by 255)', outputs: ['descriptor'] },
  // Chips aligned like ArcFace's 112x112 (5 points). Measured on 200 LFW pairs: RGB (x - 127.5) / 128
  // 0.990, BGR 0.965, RGB 0..1 0.975; without the repair every face gets nearly the same embedding.
  mobilefacenet: { input: 'img_inputs', size: 112, pixels: 'RGB (x - 127.5) / 128', outputs: ['embeddings'], convert: { repairPrelu: true } },
  blazeface: { input: 'input', size: 256, pixels: 'RGB -1..1 (x / 127.5 - 1), batch of 1', outputs: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'] },
  facemesh: { input: 'input_1', size: 192, pixels: 'RGB 0..1', outputs: ['Identity', 'Identity_1', 'Identity_2'] },
};

/** How a model's .onnx file was obtained. */
export type CacheOutcome = 'cached' | 'converted' | 'reconverted-corrupt';

export interface LoadedModel {
  readonly session: OnnxSession;
  readonly file: string;
  readonly cache: CacheOutcome;
}

/**
 * Loads onnxruntime-node, an optional dependency with native binaries for a few platforms only.
 * Not loading is an expected outcome (the caller falls back to tfjs), so it is a value.
 */
export async function loadOrt(): Promise<{ ort: OrtModule } | { reason: string }> {
  try {
    return { ort: await import('onnxruntime-node') };
  } catch (error) {
    return { reason: `onnxruntime-node does not load on this machine (${process.platform}-${process.arch}): ${describeError(error)}` };
  }
}

/**
 * ONNX Runtime sessions for the face models, converted from the tfjs files the npm packages ship
 * on first use and cached as `<cacheDir>/<name>-<key>.onnx`, where the key hashes the source files
 * and CONVERTER_VERSION. A `.sha256` file beside each is checked on every load; a damaged file is
 * converted again. Files are written under a temporary name and renamed, and the conversion is
 * deterministic, so processes converting the same model at once write identical bytes.
 */
export class OnnxModels {
  private readonly sessions = new Map<OnnxModelName, Promise<OnnxSession>>();

  constructor(
    private readonly ort: OrtModule,
    private readonly read: ModelReader,
    private readonly cacheDir: string,
  ) {}

  /** The session of `name`, created once per instance. */
  session(name: OnnxModelName): Promise<OnnxSession> {
    let session = this.sessions.get(name);
    if (!session) {
      session = this.load(name).then((loaded) => loaded.session);
      // A failed load is not remembered, so that a later call tries again.
      session.catch(() => this.sessions.delete(name));
      this.sessions.set(name, session);
    }
    return session;
  }

  /** A new session of `name`, saying whether the cache served it. */
  async load(name: OnnxModelName): Promise<LoadedModel> {
    const { bytes, file, cache } = await this.prepare(name);
    try {
      const session = await this.ort.InferenceSession.create(bytes, {
        // One engine per worker thread: parallelism comes from the pool, not from inside a model.
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      return { session, file, cache };
    } catch (cause) {
      throw new EngineError(`onnxruntime cannot load the converted ${name} model (${file}): ${describeError(cause)}`, { cause });
    }
  }

  /**
   * The converted model's bytes, from the cache or converted now and cached (the install does this
   * ahead, scripts/fetch-models.ts). A cache folder that cannot be written (a read-only install)
   * costs a conversion at each start, not the start: it is warned about and the bytes are used.
   */
  async prepare(name: OnnxModelName): Promise<{ bytes: Uint8Array; file: string; cache: CacheOutcome }> {
    const sources = await this.readSources(name);
    const key = sourceKey(name, sources);
    const file = path.join(this.cacheDir, `${name}-${key}.onnx`);
    const cached = await readVerified(file);
    if (cached.bytes) return { bytes: cached.bytes, file, cache: 'cached' };
    const bytes = convert(name, sources);
    try {
      await this.store(file, bytes);
    } catch (error) {
      process.emitWarning(`${describeError(error)}; the model is converted again at each start`);
    }
    return { bytes, file, cache: cached.corrupt ? 'reconverted-corrupt' : 'converted' };
  }

  /** Releases every session created by `session()`. */
  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of await Promise.allSettled(sessions)) {
      if (session.status === 'fulfilled') await session.value.release();
    }
  }

  /** The model's manifest first, then its weight files in manifest order. */
  private async readSources(name: OnnxModelName): Promise<Source[]> {
    const manifestFile = name === 'face_recognition' ? 'face_recognition_model-weights_manifest.json' : `${name}.json`;
    const manifest = await this.read(manifestFile);
    const sources: Source[] = [{ file: manifestFile, bytes: manifest }];
    for (const file of weightFiles(name, manifest)) sources.push({ file, bytes: await this.read(file) });
    return sources;
  }

  private async store(file: string, bytes: Uint8Array): Promise<void> {
    try {
      await mkdir(this.cacheDir, { recursive: true });
      await writeAtomically(file, bytes);
      await writeAtomically(`${file}.sha256`, `${sha256Hex(bytes)}  ${path.basename(file)}\n`);
    } catch (cause) {
      throw new EngineError(`cannot write the converted model to ${file}: ${describeError(cause)}`, { cause });
    }
  }
}

interface Source {
  readonly file: string;
  readonly bytes: Buffer;
}

function weightFiles(name: OnnxModelName, manifest: Buffer): string[] {
  const parsed = parseJson(name, manifest);
  const groups: readonly WeightGroup[] = name === 'face_recognition' ? (parsed as WeightGroup[]) : (parsed as GraphModelJson).weightsManifest;
  return groups.flatMap((group) => group.paths);
}

function convert(name: OnnxModelName, sources: readonly Source[]): Uint8Array {
  const [manifest, ...weights] = sources;
  if (!manifest) throw new EngineError(`model ${name} has no manifest`);
  const weightBytes = Buffer.concat(weights.map((source) => source.bytes));
  const parsed = parseJson(name, manifest.bytes);
  return name === 'face_recognition'
    ? buildDlibResnet(decodeWeights(parsed as readonly WeightGroup[], weightBytes))
    : convertGraphModel(parsed as GraphModelJson, weightBytes, ONNX_MODELS[name].convert);
}

function parseJson(name: OnnxModelName, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new EngineError(`the manifest of model ${name} is not JSON`, { cause });
  }
}

function sourceKey(name: OnnxModelName, sources: readonly Source[]): string {
  const options = JSON.stringify(ONNX_MODELS[name].convert ?? {});
  const hash = createHash('sha256').update(`facefile-onnx/${CONVERTER_VERSION}/${name}/${options}\n`);
  for (const { file, bytes } of sources) hash.update(`${file}\n${bytes.length}\n`).update(bytes);
  return hash.digest('hex');
}

/** The cached file's bytes if its checksum file vouches for them; `corrupt` if it exists but does not. */
async function readVerified(file: string): Promise<{ bytes?: Uint8Array; corrupt: boolean }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return { corrupt: false };
  }
  const expected = await readFile(`${file}.sha256`, 'utf8').then(
    (text) => text.split(/\s/)[0],
    () => undefined,
  );
  return expected === sha256Hex(bytes) ? { bytes, corrupt: false } : { corrupt: true };
}
