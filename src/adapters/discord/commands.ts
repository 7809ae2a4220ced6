import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type ChatInputCommandInteraction,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotCommand, CommandArgs, CommandOption } from '../../bot/index.ts';

const MANAGE = PermissionFlagsBits.ManageGuild.toString();

const OPTION_TYPES = {
  string: ApplicationCommandOptionType.String,
  integer: ApplicationCommandOptionType.Integer,
  number: ApplicationCommandOptionType.Number,
  boolean: ApplicationCommandOptionType.Boolean,
  photo: ApplicationCommandOptionType.Attachment,
} as const;

/**
 * The bot's commands as Discord registers them: a slash command each (admin ones hidden from
 * members), and a message menu entry for those that act on a posted photo.
 */
export function discordCommands(commands: readonly BotCommand[]): RESTPostAPIApplicationCommandsJSONBody[] {
  const slash = commands
    .filter((c) => !c.messageMenu?.only)
    .map((c) => ({
      name: c.name,
      description: c.description,
      // A rule that depends on the arguments cannot hide the command: the bot layer checks it on use.
      ...(c.adminOnly === true ? { default_member_permissions: MANAGE } : {}),
      ...(c.options ? { options: c.options.map(toOption) } : {}),
    }));
  const menus = commands.flatMap((c) => (c.messageMenu ? [{ name: c.messageMenu.label, type: ApplicationCommandType.Message as const }] : []));
  return [...slash, ...menus];
}

function toOption(option: CommandOption): APIApplicationCommandBasicOption {
  return {
    name: option.name,
    description: option.description,
    type: OPTION_TYPES[option.type],
    ...(option.required ? { required: true } : {}),
    ...(option.min !== undefined ? { min_value: option.min } : {}),
    ...(option.choices ? { choices: option.choices.map((c) => ({ name: c, value: c })) } : {}),
  } as APIApplicationCommandBasicOption;
}

/** A slash command's options, read by the types the command declares. */
export function commandArgs(command: BotCommand | undefined, options: ChatInputCommandInteraction['options']): CommandArgs {
  const args: Record<string, string | number | boolean | undefined> = {};
  for (const option of command?.options ?? []) {
    if (option.type === 'string') args[option.name] = options.getString(option.name) ?? undefined;
    else if (option.type === 'integer') args[option.name] = options.getInteger(option.name) ?? undefined;
    else if (option.type === 'number') args[option.name] = options.getNumber(option.name) ?? undefined;
    else if (option.type === 'boolean') args[option.name] = options.getBoolean(option.name) ?? undefined;
  }
  return args;
}

/** The command behind a message menu entry, by its label. */
export function menuCommand(commands: readonly BotCommand[], label: string): BotCommand | undefined {
  return commands.find((c) => c.messageMenu?.label === label);
}
