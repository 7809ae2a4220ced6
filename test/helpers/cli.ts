import { execFile } from 'node:child_process';
import { mkdir, readdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, GROUP } from './datasets.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `facefile` bin in `cwd`, with only the environment given (plus PATH). */
export function runCli(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'facefile.js'), ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, WORKERS: '2', ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A known-faces folder holding a link to each person's reference folder in group-photos. */
export async function linkKnownFaces(target: string): Promise<string[]> {
  await mkdir(target, { recursive: true });
  const people = (await readdir(GROUP)).filter((name) => !name.startsWith('_') && !name.startsWith('.')).sort();
  for (const person of people) await symlink(path.join(GROUP, person), path.join(target, person));
  return people;
}

/** Every file below `root`, as sorted relative paths. */
export async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(path.relative(root, full));
    }
  };
  await walk(root);
  return out.sort();
}

/** Whether anything is at `target`. */
export async function exists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch {
    return false;
  }
}
