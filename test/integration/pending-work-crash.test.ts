import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runChild, type ChildRun } from '../helpers/child.ts';

/** Runs the child in a mode; with `killAfterMs`, SIGKILLs it that long after it says READY. */
function run(dataDir: string, mode: string, killAfterMs?: number): Promise<ChildRun> {
  return runChild('work-crash-child.ts', { DATA_DIR: dataDir, MODE: mode }, killAfterMs);
}

function stateOf(lines: readonly string[]): unknown {
  const line = lines.find((l) => l.startsWith('STATE '));
  assert.ok(line, lines.join('\n'));
  return JSON.parse(line.slice(6));
}

describe('pending work: a /threshold or /forget killed midway is finished at the next start', () => {
  const folders: string[] = [];
  after(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });
  async function folder(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-pending-'));
    folders.push(dir);
    return dir;
  }

  for (const mode of ['threshold', 'forget']) {
    it(
      `GIVEN ${mode} killed with SIGKILL at random points THEN after a restart the library is exactly as if it had finished`,
      { timeout: 300_000 },
      async () => {
        const setUp = await folder();
        await run(setUp, 'setup');
        const reference = await folder();
        await cp(setUp, reference, { recursive: true });
        const full = await run(reference, mode);
        const expected = stateOf((await run(reference, 'verify')).lines);
        const before = stateOf((await run(setUp, 'verify')).lines);
        assert.notDeepEqual(expected, before, `${mode} changes the library`);
        let interrupted = 0;
        for (const fraction of [0.1, 0.3, 0.5, 0.7, 0.9]) {
          const dir = await folder();
          await cp(setUp, dir, { recursive: true });
          const round = await run(dir, mode, Math.round(full.ms * fraction));
          if (round.killed) interrupted++;
          assert.deepEqual(stateOf((await run(dir, 'verify')).lines), expected, `killed at ${Math.round(fraction * 100)}% of a ${full.ms} ms ${mode}`);
        }
        assert.ok(interrupted >= 2, `only ${interrupted} of 5 runs were killed before they finished`);
      },
    );
  }
});
