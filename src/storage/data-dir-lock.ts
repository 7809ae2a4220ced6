import { readFile, writeFile, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { StartupError } from '../core/index.ts';

/** Who holds a data folder: written beside the lock so that a refused process can name them. */
interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Makes this process the only writer of `dataDir`: two bots on one folder would file the same
 * queued photos twice and each would take the other's half-written files for leftovers. The lock
 * is proper-lockfile's (a lock folder whose time is refreshed while held, so a killed holder's lock
 * goes stale on its own). A live holder is named in a one-line `StartupError`; a dead one's lock is
 * waited out, which takes at most `staleMs`. `onLost` is told if the lock is taken away (the folder
 * vanished, the disk stalled past `staleMs`): the process should then stop writing.
 */
export async function lockDataDir(dataDir: string, onLost: (error: Error) => void, staleMs = 10_000): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const lockfilePath = path.join(dataDir, 'facefile.lock');
  const holderFile = path.join(dataDir, 'facefile.lock.owner');
  const options = { lockfilePath, stale: staleMs, update: Math.max(1000, Math.floor(staleMs / 2)), realpath: false, onCompromised: onLost };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const holder = await readHolder(holderFile);
    if (holder && isAlive(holder)) {
      throw new StartupError(
        `${dataDir} is in use by another facefile (process ${holder.pid} on ${holder.host}, since ${holder.since}); stop it first, or give this one its own DATA_DIR`,
      );
    }
    // The last holder died without releasing: its lock goes stale within `staleMs`.
    release = await lockfile
      .lock(dataDir, { ...options, retries: { retries: Math.ceil(staleMs / 1000) + 2, factor: 1, minTimeout: 1000, maxTimeout: 1000 } })
      .catch((retryError: unknown) => {
        throw new StartupError(`${dataDir} is locked by another facefile; stop it first, or give this one its own DATA_DIR`, { cause: retryError });
      });
  }
  const holder: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  await writeFile(holderFile, JSON.stringify(holder));
  return {
    async release() {
      await rm(holderFile, { force: true });
      await release();
    },
  };
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

/** On this host, whether the process still runs; on another host (a shared volume), assume so. */
function isAlive(holder: Holder): boolean {
  if (holder.host !== os.hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
