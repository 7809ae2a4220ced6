/** A real `facefile bot` process for the scripts: a checkout's bin against the Telegram emulator. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { BotApiEmulator } from '../test/emulators/telegram/index.ts';
import { until } from '../test/helpers/until.ts';

export interface BotProcess {
  readonly child: ChildProcess;
  /** SIGTERM, then the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `facefile bot` of the checkout at `root` with `data` as its DATA_DIR, home and working
 * folder, answering the emulator, and waits until it says it is running (failing if it ends first).
 */
export async function startBot(root: string, data: string, emulator: BotApiEmulator, env: Record<string, string> = {}): Promise<BotProcess> {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'facefile.js'), 'bot'], {
    cwd: data,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: data,
      DATA_DIR: data,
      LOG_LEVEL: 'warn',
      REPLY_MODE: 'summary',
      TELEGRAM_GROUP_INTERVAL_MS: '0',
      TELEGRAM_BOT_TOKEN: emulator.token,
      TELEGRAM_API_ROOT: emulator.apiRoot,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    await until(() => out.includes('is running') || child.exitCode !== null, 'the bot to start', 300_000);
  } catch (error) {
    await stop();
    throw error;
  }
  if (child.exitCode !== null) throw new Error(`the bot of ${root} ended at start (${child.exitCode})`);
  return { child, stop };
}
