import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLibrary, type LibraryParts } from '../../src/app/index.ts';
import type { FaceEngine } from '../../src/core/index.ts';
import { silentLog } from '../../src/core/index.ts';
import type { PhotoLibrary } from '../../src/core/library/index.ts';
import { GROUP } from './datasets.ts';

export interface TestLibrary {
  readonly library: PhotoLibrary;
  readonly dir: string;
  readonly config: Config;
  close(): Promise<void>;
}

/** The production wiring (`createLibrary`) on a fresh temporary data folder. */
export async function openTestLibrary(engine: FaceEngine, env: Record<string, string> = {}, parts: LibraryParts = {}): Promise<TestLibrary> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-library-'));
  const config = loadConfig({ DATA_DIR: dir, ...env }, { cwd: dir });
  const { library, close } = await createLibrary(config, engine, silentLog, parts);
  return {
    library,
    dir,
    config,
    close: async () => {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The reference photos of each group-photos person, as bytes. */
export async function references(): Promise<{ person: string; file: string; bytes: Buffer }[]> {
  const out: { person: string; file: string; bytes: Buffer }[] = [];
  for (const person of (await readdir(GROUP)).filter((n) => !n.startsWith('_') && !n.startsWith('.')).sort()) {
    for (const file of (await readdir(path.join(GROUP, person))).sort()) {
      out.push({ person, file, bytes: await readFile(path.join(GROUP, person, file)) });
    }
  }
  return out;
}
