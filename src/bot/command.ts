import type { Log } from '../core/index.ts';
import type { Actor, PhotoLibrary } from '../core/library/index.ts';
import type { PhotoJobs } from '../jobs/index.ts';
import type { ChatContext, Syntax } from './chat-context.ts';

export type ArgValue = string | number | boolean;
export type CommandArgs = Readonly<Record<string, ArgValue | undefined>>;

/** One argument of a command: a slash-command option on Discord, a word of the text on Telegram. */
export interface CommandOption {
  readonly name: string;
  readonly description: string;
  /** `photo` arrives through `ChatContext.photo()`, never in the arguments. */
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'photo';
  readonly required?: boolean;
  readonly choices?: readonly string[];
  readonly min?: number;
}

/** What every command may use, handed over once by the composition root. */
export interface BotDeps {
  readonly library: PhotoLibrary;
  readonly queue: PhotoJobs;
  readonly log: Log;
  /** Days after the bot is removed from a group before its data is erased (said in /help). */
  readonly eraseAfterDays: number;
}

/**
 * One command, written once for every platform: its name, its arguments (which Discord registers
 * as options and Telegram reads from the text after the command), and what it does with a
 * `ChatContext`. A new command is one such module plus one line in `commands/index.ts`.
 */
export interface BotCommand {
  readonly name: string;
  /** One line for the platform's command menu (Discord allows 100 characters). */
  readonly description: string;
  readonly options?: readonly CommandOption[];
  /**
   * For the group's admins: `true` for the whole command (hidden from members where the platform can
   * hide commands), or a rule that decides from the arguments (`/forget me` is anyone's, `/forget
   * Anna` an admin's). The bot layer checks it on every use, before `run`; commands never do.
   */
  readonly adminOnly?: boolean | ((args: CommandArgs) => boolean);
  /** What a member who may not run it can do instead, added to the refusal. */
  adminHint?(syntax: Syntax): string;
  /**
   * Also offered in the message context menu (Discord's Apps menu) of a posted photo: the menu asks
   * for `field` in a form, and the command runs with the chosen message's photo. `only`: where the
   * platform has such menus, the command is offered there alone (it is about a posted photo).
   */
  readonly messageMenu?: { readonly label: string; readonly title: string; readonly field: string; readonly prompt: string; readonly only?: boolean };
  /**
   * For commands that cost the machine seconds to hours (clustering, plots, exports, totals): in
   * each group one run at a time, and for the member who asked none for this many seconds after
   * theirs ended; the others are answered at once with when to try again, instead of queueing
   * behind it. A rule can decide from the arguments (`/threshold report` is costly, `/threshold`
   * is not).
   */
  readonly cooldownSeconds?: number | ((args: CommandArgs) => number | undefined);
  /** The arguments in a command's text (`3 Anna Smith`), or undefined when they do not parse. */
  parseText?(text: string): CommandArgs | undefined;
  /** How to write it when the text did not parse, e.g. `/name <number> <name>`. */
  usage?(syntax: Syntax): string;
  run(ctx: ChatContext, args: CommandArgs, deps: BotDeps): Promise<void>;
}

/** Who runs a command, as the library's rules and audit log need them. */
export async function actorOf(ctx: ChatContext): Promise<Actor> {
  return { ...(ctx.caller ? { userId: ctx.caller.id, name: ctx.caller.displayName } : {}), admin: await ctx.isAdmin() };
}

export function stringArg(args: CommandArgs, name: string): string | undefined {
  const value = args[name];
  return typeof value === 'string' ? value : undefined;
}

export function numberArg(args: CommandArgs, name: string): number | undefined {
  const value = args[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function flagArg(args: CommandArgs, name: string): boolean {
  return args[name] === true;
}
