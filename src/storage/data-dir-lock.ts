import { readFile, writeFile, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { DataDirInUseError } from '../core/index.ts';

/**
 * Who holds a data folder: written beside the lock so that a refused process can name them. A pid
 * alone does not tell a live holder from a dead one: a restarted container is pid 1 again, on the
 * same host name. The boot and the process's start time (Linux) tell the two lives apart.
 */
interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  /** The kernel's boot id: another boot, another process. */
  readonly boot?: string;
  /** The process's start time in clock ticks since boot: a pid used again starts later. */
  readonly started?: string;
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
    if (holder && (await isAlive(holder))) {
      throw new DataDirInUseError(dataDir, `process ${holder.pid} on ${holder.host}, since ${holder.since}`);
    }
    // The last holder died without releasing: its lock goes stale within `staleMs`.
    release = await lockfile
      .lock(dataDir, { ...options, retries: { retries: Math.ceil(staleMs / 1000) + 2, factor: 1, minTimeout: 1000, maxTimeout: 1000 } })
      .catch((retryError: unknown) => {
        throw new DataDirInUseError(dataDir, undefined, { cause: retryError });
      });
  }
  const holder: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), ...(await lifeOf(process.pid)) };
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

/**
 * On this host, whether the process still runs, and is the one that wrote the lock (not another
 * process, or this one after a restart, given the same pid); on another host (a shared volume),
 * assume so.
 */
async function isAlive(holder: Holder): Promise<boolean> {
  if (holder.host !== os.hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.boot === undefined || holder.started === undefined) return true;
  const now = await lifeOf(holder.pid);
  if (now.boot === undefined || now.started === undefined) return true;
  return now.boot === holder.boot && now.started === holder.started;
}

/** The boot and the start time of process `pid`, where /proc tells them (Linux); nothing elsewhere. */
async function lifeOf(pid: number): Promise<Pick<Holder, 'boot' | 'started'>> {
  try {
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The name in brackets (field 2) may hold spaces; the start time is field 22.
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return started ? { boot, started } : {};
  } catch {
    return {};
  }
}
