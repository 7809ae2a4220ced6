import type { StartOptions } from '../../src/app/index.ts';
import { startBotHarness, type BotHarness } from './bots.ts';
import {
  DiscordEmulator,
  type AttachmentInput,
  type CommandOptionInput,
  type DiscordEmulatorOptions,
  type DiscordUser,
  type InvokedInteraction,
  type SentFile,
  type WebhookMessage,
} from '../emulators/discord/index.ts';

export type DiscordHarness = BotHarness<DiscordEmulator>;

/** What the bot answered to one slash command: the reply (or the edit of a deferred one) and the follow-ups. */
export interface CommandAnswer {
  readonly text: string;
  readonly flags: number;
  readonly files: readonly SentFile[];
  readonly followUps: readonly WebhookMessage[];
}

/**
 * A Discord emulator and `facefile bot`'s real wiring pointed at it, on a fresh data folder.
 * `setup` adds guilds and members before the bot logs in, so they arrive with READY.
 */
export async function startDiscord(
  setup: (emulator: DiscordEmulator) => void,
  env: Record<string, string> = {},
  options: DiscordEmulatorOptions = {},
  start: StartOptions = {},
): Promise<DiscordHarness> {
  const emulator = await DiscordEmulator.start(options);
  try {
    setup(emulator);
    return await startBotHarness(emulator, { DISCORD_TOKEN: emulator.token, DISCORD_API_ROOT: emulator.apiRoot, ...env }, start);
  } catch (error) {
    await emulator.close();
    throw error;
  }
}

/** Runs a slash command and waits for its answer and for the bot to be idle again. */
export async function runCommand(
  h: DiscordHarness,
  where: { readonly guild: string; readonly channel: string },
  user: DiscordUser,
  name: string,
  options: readonly CommandOptionInput[] = [],
  attachments: Readonly<Record<string, AttachmentInput>> = {},
): Promise<CommandAnswer> {
  const invoked = await h.emulator.invokeCommand(where.guild, where.channel, user, name, options, attachments);
  return answerTo(h, invoked, `an answer to /${name}`);
}

/**
 * The answer to an interaction (its reply, or the edit of a deferred one, and the follow-ups), once
 * the bot is idle; `h` is a harness, or any emulator with the bots that answer it.
 */
export async function answerTo(
  h: { readonly emulator: DiscordEmulator; readonly bots: { idle(): Promise<void> } },
  invoked: InvokedInteraction,
  what: string,
): Promise<CommandAnswer> {
  const e = h.emulator;
  const answer = await e.waitFor(
    () => {
      const reply = e.callbacks.find((c) => c.interactionId === invoked.id && c.type === 4);
      if (reply) return { text: reply.content ?? '', flags: reply.flags, files: reply.files };
      const edit = e.followUps.find((f) => f.interactionId === invoked.id && f.kind === 'editOriginal');
      return edit ? { text: edit.content ?? '', flags: edit.flags, files: edit.files } : undefined;
    },
    120_000,
    what,
  );
  await h.bots.idle();
  return { ...answer, followUps: e.followUps.filter((f) => f.interactionId === invoked.id && f.kind === 'followUp') };
}
