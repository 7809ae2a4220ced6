import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StartupError } from '../../src/core/index.ts';
import { lockDataDir } from '../../src/storage/index.ts';

const LOCK_MODULE = path.resolve(import.meta.dirname, '../../src/storage/index.ts');

/** A lock and its owner file as a process that died without releasing them leaves them behind. */
async function leftBehind(dataDir: string, owner: Record<string, unknown>): Promise<void> {
  await mkdir(path.join(dataDir, 'facefile.lock'), { recursive: true });
  await writeFile(path.join(dataDir, 'facefile.lock.owner'), JSON.stringify({ host: os.hostname(), since: '2026-01-01T00:00:00.000Z', ...owner }));
  // Still fresh (a container restarts within the stale time of 10 s), and stale two seconds on.
  const old = new Date(Date.now() - 8_000);
  await utimes(path.join(dataDir, 'facefile.lock'), old, old);
}

/**
 * A restarted container gets its old pid back (pid 1, every time, on the same host name): the lock
 * it left must not be taken for a live one (issue 20, finding 12c).
 */
describe('the data-folder lock', () => {
  it('GIVEN a lock left by this very pid in an earlier life (another start time) THEN it is taken over', async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-lock-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    await leftBehind(dataDir, { pid: process.pid, boot, started: '1' });
    const lock = await lockDataDir(dataDir, () => undefined);
    const owner = JSON.parse(await readFile(path.join(dataDir, 'facefile.lock.owner'), 'utf8')) as { pid: number; started: string };
    assert.equal(owner.pid, process.pid);
    assert.notEqual(owner.started, '1', 'the owner file now tells this life');
    await lock.release();
  });

  it('GIVEN a lock left by this very pid before a reboot THEN it is taken over', async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-lock-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const stat = await readFile('/proc/self/stat', 'utf8');
    await leftBehind(dataDir, { pid: process.pid, boot: 'another-boot', started: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] });
    const lock = await lockDataDir(dataDir, () => undefined);
    await lock.release();
  });

  it('GIVEN a second live process holding the folder THEN this one is refused, naming it', async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'facefile-lock-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)}); await lockDataDir(${JSON.stringify(dataDir)}, () => undefined); console.log('READY'); setInterval(() => undefined, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => holder.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('READY') && resolve());
      holder.on('exit', (code) => reject(new Error(`the holder exited ${code}`)));
    });
    await assert.rejects(
      lockDataDir(dataDir, () => undefined),
      (error: unknown) => {
        assert.ok(error instanceof StartupError, String(error));
        assert.match(error.message, new RegExp(`in use by another facefile \\(process ${holder.pid} on `));
        return true;
      },
    );
  });
});
