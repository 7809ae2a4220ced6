/** The chat platforms, each turning its updates into the bot layer's ChatContexts. */
export { DISCORD, DiscordBot, verifyDiscord, type DiscordBotOptions } from './discord/index.ts';
export {
  TELEGRAM,
  TELEGRAM_SYNTAX,
  TelegramBot,
  sendTelegramNote,
  verifyTelegram,
  MemoryUpdateClaims,
  RedisUpdateClaims,
  type TelegramBotOptions,
  type UpdateClaims,
} from './telegram/index.ts';
