/** Telegram through telegraf: updates into the bot layer. */
export { TELEGRAM, TELEGRAM_SYNTAX, TelegramBot, type TelegramBotOptions } from './telegram-bot.ts';
