import { startBotHarness, type BotHarness } from './bots.ts';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import type { SentMessage } from '../emulators/telegram/index.ts';
import type { StartOptions } from '../../src/app/index.ts';

export type TelegramHarness = BotHarness<BotApiEmulator>;

/** A Bot API emulator and `facefile bot`'s real wiring pointed at it, on a fresh data folder. */
export async function startTelegram(
  env: Record<string, string> = {},
  emulatorOptions: Parameters<typeof BotApiEmulator.start>[0] = {},
  startOptions: StartOptions = {},
): Promise<TelegramHarness> {
  const emulator = await BotApiEmulator.start(emulatorOptions);
  try {
    return await startBotHarness(emulator, { TELEGRAM_BOT_TOKEN: emulator.token, TELEGRAM_API_ROOT: emulator.apiRoot, ...env }, startOptions);
  } catch (error) {
    // A start that fails must not leave the emulator listening: the test process would never end.
    await emulator.close();
    throw error;
  }
}

/** Matches the bot's answer to one message (message ids are counted per chat). */
export function answerTo(message: { readonly chat: { readonly id: number }; readonly message_id: number }): (sent: SentMessage) => boolean {
  return (sent) => sent.chat_id === message.chat.id && sent.reply_to_message_id === message.message_id;
}

/** The text of a sent message or the caption of a sent photo/document. */
export function textOf(sent: SentMessage): string {
  return sent.text ?? sent.caption ?? '';
}
