/** Discord through discord.js: gateway events and interactions into the bot layer. */
export { DISCORD, DiscordBot, verifyDiscord, type DiscordBotOptions } from './discord-bot.ts';
export type { DiscordShards } from './shards.ts';
