import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runChild, type ChildRun } from '../helpers/child.ts';

/** Runs the child in a mode; with `killAfter`, it kills itself (SIGKILL) after that many changes to the library. */
function run(dataDir: string, mode: string, killAfter?: number): Promise<ChildRun> {
  return runChild('work-crash-child.ts', { DATA_DIR: dataDir, MODE: mode, ...(killAfter === undefined ? {} : { KILL_AFTER: String(killAfter) }) });
}

/** How many changes a finished run made (its `WRITES` line). */
function writesOf(lines: readonly string[]): number {
  const line = lines.find((l) => l.startsWith('WRITES '));
  assert.ok(line, lines.join('\n'));
  return Number(line.slice(7));
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
      `GIVEN ${mode} killed with SIGKILL at points spread over its changes THEN after a restart the library is exactly as if it had finished`,
      { timeout: 300_000 },
      async () => {
        const setUp = await folder();
        await run(setUp, 'setup');
        const reference = await folder();
        await cp(setUp, reference, { recursive: true });
        const total = writesOf((await run(reference, mode)).lines);
        const expected = stateOf((await run(reference, 'verify')).lines);
        const before = stateOf((await run(setUp, 'verify')).lines);
        assert.notDeepEqual(expected, before, `${mode} changes the library`);
        assert.ok(total >= 3, `${mode} made ${total} changes`);
        // The first change notes the work as pending: a kill after it must be finished at the restart.
        const points = [...new Set([1, 0.25, 0.5, 0.75, 1].map((f, i) => (i === 0 ? 1 : Math.max(1, Math.min(total - 1, Math.round(total * f))))))];
        for (const killAfter of points) {
          const dir = await folder();
          await cp(setUp, dir, { recursive: true });
          const round = await run(dir, mode, killAfter);
          assert.ok(round.killed, `the run was killed after change ${killAfter} of ${total}`);
          assert.deepEqual(stateOf((await run(dir, 'verify')).lines), expected, `killed after change ${killAfter} of ${total} of ${mode}`);
        }
      },
    );
  }
});
