import { spawn } from 'node:child_process';
import path from 'node:path';

/** The project's root folder, where children run from. */
const ROOT = path.resolve(import.meta.dirname, '../..');

export interface ChildRun {
  readonly lines: string[];
  /** Killed before it printed DONE. */
  readonly killed: boolean;
  /** From its READY line to its end. */
  readonly ms: number;
}

/**
 * Runs a TypeScript file under test/helpers as a child process with `env`, collecting its output
 * lines; with `killAfterMs`, SIGKILLs it that long after it prints its first line starting with
 * `killFrom` (READY unless said). Counting from a line rather than from the start keeps the kill
 * inside the work however slow a loaded machine makes the start. A child that fails on its own
 * (not killed) rejects with its stderr.
 */
export function runChild(script: string, env: Record<string, string>, killAfterMs?: number, killFrom = 'READY'): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'helpers', script)], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buffer = '';
    let stderr = '';
    let ready = Date.now();
    let armed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line === 'READY') ready = Date.now();
        if (armed || !line.startsWith(killFrom)) continue;
        armed = true;
        if (killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`${script} exited ${code}: ${stderr}`));
      else resolve({ lines, killed: signal === 'SIGKILL' && !lines.includes('DONE'), ms: Date.now() - ready });
    });
  });
}
