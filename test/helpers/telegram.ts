import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startBots, type RunningBots } from '../../src/main.ts';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import type { SentMessage } from '../emulators/telegram/index.ts';

export interface TelegramHarness {
  readonly emulator: BotApiEmulator;
  readonly bots: RunningBots;
  readonly dir: string;
  /** Everything the bot logged, one JSON line each (secrets must not be in it). */
  readonly logFile: string;
  close(): Promise<void>;
}

/** A Bot API emulator and `facefile bot`'s real wiring pointed at it, on a fresh data folder. */
export async function startTelegram(env: Record<string, string> = {}, emulatorOptions: Parameters<typeof BotApiEmulator.start>[0] = {}): Promise<TelegramHarness> {
  const emulator = await BotApiEmulator.start(emulatorOptions);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-telegram-'));
  const logFile = path.join(dir, 'bot.log');
  const config = loadConfig(
    { DATA_DIR: dir, TELEGRAM_BOT_TOKEN: emulator.token, TELEGRAM_API_ROOT: emulator.apiRoot, WORKERS: '2', LOG_LEVEL: 'info', ...env },
    { cwd: dir },
  );
  const log = createLogger(config.logLevel, pino.destination({ dest: logFile, sync: true }));
  const bots = await startBots(config, log);
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

/** Matches the bot's answer to one message (message ids are counted per chat). */
export function answerTo(message: { readonly chat: { readonly id: number }; readonly message_id: number }): (sent: SentMessage) => boolean {
  return (sent) => sent.chat_id === message.chat.id && sent.reply_to_message_id === message.message_id;
}

/** The text of a sent message or the caption of a sent photo/document. */
export function textOf(sent: SentMessage): string {
  return sent.text ?? sent.caption ?? '';
}
