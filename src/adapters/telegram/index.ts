/** Telegram through telegraf: updates into the bot layer, by long polling or a webhook. */
export { TELEGRAM, TELEGRAM_SYNTAX, TelegramBot, verifyTelegram, type TelegramBotOptions, type TelegramWebhookOptions } from './telegram-bot.ts';
/** For the importer, which tells a group from outside the bot that its history is in. */
export { sendTelegramNote } from './telegram-bot.ts';
export { derivedWebhookSecret } from './webhook-secret.ts';
export { DeliveryInProgress, MemoryUpdateClaims, RedisUpdateClaims, type UpdateClaims } from './update-claims.ts';
