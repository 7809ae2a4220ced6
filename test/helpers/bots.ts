import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startBots, type RunningBots, type StartOptions } from '../../src/app/index.ts';

export interface BotHarness<E extends { close(): Promise<void> }> {
  readonly emulator: E;
  readonly bots: RunningBots;
  readonly dir: string;
  /** Everything the bot logged, one JSON line each (secrets must not be in it). */
  readonly logFile: string;
  close(): Promise<void>;
}

/**
 * `facefile bot`'s real wiring (`startBots`) pointed at a platform emulator, on a fresh data folder
 * with two workers and its log in a file; `env` carries the platform's token and API root.
 */
export async function startBotHarness<E extends { close(): Promise<void> }>(
  emulator: E,
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<BotHarness<E>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-bot-'));
  const logFile = path.join(dir, 'bot.log');
  const config = loadConfig({ DATA_DIR: dir, WORKERS: '2', LOG_LEVEL: 'info', ...env }, { cwd: dir });
  const log = createLogger(config.logLevel, pino.destination({ dest: logFile, sync: true }));
  let bots: RunningBots;
  try {
    bots = await startBots(config, log, options);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    emulator,
    bots,
    dir,
    logFile,
    async close() {
      await bots.stop();
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
