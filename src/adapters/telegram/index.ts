/** Telegram through telegraf: updates into the bot layer. */
export { TELEGRAM, TELEGRAM_SYNTAX, TelegramBot, verifyTelegram, type TelegramBotOptions } from './telegram-bot.ts';
