/** Discord through discord.js: gateway events and interactions into the bot layer. */
export { DISCORD, DiscordBot, type DiscordBotOptions } from './discord-bot.ts';
