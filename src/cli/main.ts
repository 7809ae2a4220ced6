import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, settingWarnings, type Config } from '../config.ts';
import { ConfigError, EngineError, InputError, PathError, ServiceUnavailableError, StartupError, THRESHOLD_RANGE, describeError } from '../core/index.ts';
import { createFileLogger, createLogger, redactSecrets, type Logger } from '../logger.ts';
import { startBots, startWorker, type StartOptions } from '../app/index.ts';
import { archiveCommand } from './archive-command.ts';
import { backupCommand, restoreCommand } from './backup-command.ts';
import { enrollCommand, type EnrollOptions } from './enroll-command.ts';
import { evalCommand } from './eval-command.ts';
import { importFolderCommand, importTelegramCommand, ImportStopped, type ImportHooks, type ImportOptions } from './import-command.ts';
import { uiProgram } from './ui-command.ts';
import { DEFAULT_THRESHOLD, EMBEDDERS } from '../recognition/index.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** What a caller other than bin/facefile.js may hand in: tests hold the bot's or the importer's engine with a gate. */
export interface MainOptions {
  readonly bot?: Pick<StartOptions, 'wrapEngine'>;
  readonly import?: ImportHooks;
}

/** Exit codes: 0 done, 1 failed, 2 a wrong path, argument or setting (the user's to fix). */
export async function main(argv: readonly string[], mainOptions: MainOptions = {}): Promise<number> {
  const program = new Command('facefile')
    .description('Files photos into one album per person, by face. Everything stays on this machine.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  let run: (() => Promise<void>) | undefined;
  program
    .command('archive')
    .description('sort a folder of photos into one folder per known person (and _unknown, _no_faces)')
    .option('-i, --input <paths...>', 'folders or photos to archive (default: ARCHIVE_INPUT_DIR, ./photos)')
    .option('-k, --known <dir>', 'known faces, one sub-folder of photos per person (default: ARCHIVE_KNOWN_DIR, ./known)')
    .option('-o, --output <dir>', 'where the sorted copies go (default: ARCHIVE_OUTPUT_DIR, ./archive)')
    .option('-z, --zip [dir]', 'also write one <Person Name>.zip per person (default folder: ARCHIVE_ZIP_DIR, ./zips)')
    .option(
      '-t, --threshold <n>',
      `similarity needed to name a face, ${THRESHOLD_RANGE.min} to ${THRESHOLD_RANGE.max} (default: MATCH_THRESHOLD, else ${DEFAULT_THRESHOLD}; higher: fewer, surer matches)`,
      parseThreshold,
    )
    .option('--json <file>', 'also write a machine-readable report')
    .option('-n, --dry-run', 'print what would be added and removed, and change nothing')
    .option('--link', 'hard links instead of copies: no extra space, but editing a sorted photo then edits the original too')
    .addOption(
      new Option('--xmp <where>', "the copies' face names and dates as XMP: into each copy, beside it as <name>.xmp, or off (hard links always get a sidecar)")
        .choices(['embed', 'sidecar', 'off'])
        .default('embed'),
    )
    .action((options: Parameters<typeof archiveCommand>[0]) => {
      run = () => withContext((context) => archiveCommand(options, context));
    });
  program
    .command('eval')
    .description('measure verification accuracy on face pairs in the LFW format (pairs file + image folder)')
    .requiredOption('-p, --pairs <file>', 'pairs to test, e.g. lfw-dev/pairsDevTest.txt')
    .requiredOption('--images <dir>', 'the folder holding <Name>/<Name>_<NNNN>.jpg')
    .option('--train <file>', 'pairs to choose the threshold on (e.g. pairsDevTrain.txt) instead of 10-fold cross-validation')
    .addOption(new Option('--embedder <name>', 'the descriptor to measure (default: EMBEDDER, else the shipped one)').choices(EMBEDDERS))
    .option('--json <file>', 'also write the scores and results as JSON')
    .action((options: Parameters<typeof evalCommand>[0]) => {
      run = () => withContext((context) => evalCommand(options, context));
    });

  program
    .command('backup')
    .argument('[file]', 'the backup file to write (default: facefile-backup-<date>.tar here)')
    .description('copy the library (SQLite) and its photos into one file; safe while `facefile bot` runs')
    .action((file: string | undefined) => {
      run = () => withContext((context) => backupCommand(file, context));
    });
  program
    .command('restore')
    .argument('<file>', 'a file written by facefile backup')
    .description('restore a backup into an empty DATA_DIR (stop the bot first; nothing is overwritten)')
    .action((file: string) => {
      run = () => withContext((context) => restoreCommand(file, context));
    });

  program
    .command('enroll')
    .argument('[known]', 'one sub-folder of photos per person, named as the person (default: ARCHIVE_KNOWN_DIR, ./known)')
    .option('-g, --group <id>', 'the group: tg:<chat id> or dc:<server id>[:<channel id>]; without it, the groups are listed')
    .description("enrol a group's people from a folder instead of an /enroll message per photo (as an admin would)")
    .action((known: string | undefined, options: EnrollOptions) => {
      run = () => withContext((context) => enrollCommand(known, options, context));
    });
  const importer = program.command('import').description("bring a group's earlier photos in: a Telegram Desktop export, or a folder of photos");
  importer
    .command('telegram')
    .argument('<export>', "the folder Telegram Desktop's Export chat history wrote (format JSON), or a zip of it")
    .option('-g, --group <id>', "the group to fill (default: the export's chat as the bot knows it, tg:-100<id> for a supergroup)")
    .option('-n, --dry-run', 'say which group and how many photos, and file nothing')
    .description("file a Telegram group's history, each photo with its message's date and poster (a running bot is handed the photos)")
    .action((source: string, options: ImportOptions) => {
      run = () => withContext((context) => importTelegramCommand(source, options, context, mainOptions.import));
    });
  importer
    .command('folder')
    .argument('<dir>', 'a folder of photos (sub-folders too)')
    .requiredOption('-g, --group <id>', 'the group to fill: tg:<chat id> or dc:<server id>[:<channel id>]')
    .option('-n, --dry-run', 'count the photos, and file nothing')
    .description("file a folder's photos into a group, dated by their EXIF date, else the file's time (a running bot is handed the photos)")
    .action((folder: string, options: ImportOptions & { group: string }) => {
      run = () => withContext((context) => importFolderCommand(folder, options, context, mainOptions.import));
    });
  program.addCommand(
    uiProgram((task) => {
      run = () => withContext(task);
    }),
  );
  program
    .command('bot')
    .description('run the chat bots whose tokens are configured (TELEGRAM_BOT_TOKEN, DISCORD_TOKEN) until Ctrl-C or SIGTERM')
    .action(() => {
      run = () => botCommand(mainOptions.bot ?? {});
    });
  program
    .command('worker')
    .description('scale-out: file the photos the bots queue (needs REDIS_URL, DATABASE_URL and the shared DATA_DIR); run as many as wanted')
    .action(() => {
      run = workerCommand;
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    if (run) await run();
    return 0;
  } catch (error) {
    return report(error);
  }
}

async function withContext(task: (context: Parameters<typeof archiveCommand>[1]) => Promise<void>): Promise<void> {
  const config = loadConfig();
  for (const warning of settingWarnings()) process.stderr.write(`facefile: warning: ${warning}\n`);
  const log = createFileLogger(config.logLevel, path.join(config.dataDir, 'facefile.log'));
  try {
    await task({ config, log, out: process.stdout });
  } catch (error) {
    if (!(error instanceof PathError || error instanceof ConfigError)) log.error({ err: error }, 'command failed');
    throw error;
  } finally {
    log.flush();
  }
}

/**
 * Runs the bots until SIGINT or SIGTERM, then stops them gracefully: queued photos are kept. When
 * a platform cannot go on (a second poller, a lost session, a disk that takes no photo), the
 * process ends at once with code 1, so that a supervisor restarts it and the platform delivers
 * again what was not confirmed.
 */
async function botCommand(options: Pick<StartOptions, 'wrapEngine'>): Promise<void> {
  await serve('bot', async (config, log, onFatal) => {
    const bots = await startBots(config, log, { ...options, onFatal });
    const platforms = [config.telegram && 'Telegram', config.discord && 'Discord'].filter(Boolean).join(' and ');
    process.stdout.write(
      `facefile bot is running on ${platforms}${config.redisUrl ? ', with its photos filed by `facefile worker` processes' : ''}. Stop it with Ctrl-C.\n`,
    );
    return bots;
  });
}

/** `facefile worker` until SIGINT or SIGTERM; a stop lets the running jobs end and leaves the rest queued. */
async function workerCommand(): Promise<void> {
  await serve('worker', async (config, log) => {
    const worker = await startWorker(config, log);
    process.stdout.write(`facefile worker is filing photos with ${config.workerConcurrency} jobs at once. Stop it with Ctrl-C.\n`);
    return worker;
  });
}

/**
 * Runs a service until SIGINT or SIGTERM, then stops it gracefully. It logs to stderr, where
 * systemd or Docker collect it. When it cannot go on, `onFatal` ends the process at once with
 * code 1, without the graceful stop that would confirm work it could not keep, so that a
 * supervisor restarts it.
 */
async function serve(
  role: string,
  start: (config: Config, log: Logger, onFatal: (error: unknown) => void) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  // A person at a terminal reads a sentence; systemd and Docker collect the JSON log.
  for (const warning of settingWarnings()) {
    if (process.stderr.isTTY) process.stderr.write(`facefile: warning: ${warning}\n`);
    else log.warn({}, warning);
  }
  const onFatal = (error: unknown) => {
    log.error({ err: error }, 'cannot go on: ending the process so that it is restarted');
    log.flush();
    process.stderr.write(redactSecrets(`facefile: ${describeError(error)}; stopping so that the ${role} is restarted\n`));
    process.exit(1);
  };
  // The handlers are in place before the start, so that a stop asked for while it runs (a
  // supervisor's SIGTERM while the API is still unreachable) is never the default kill: nothing is
  // confirmed yet, so it ends at once with the shell's code for that signal, saying so.
  let started = false;
  const stopAsked = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (started) return resolve(signal);
      log.info({ signal }, 'stopped while starting');
      log.flush();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const service = await start(config, log, onFatal);
  started = true;
  const signal = await stopAsked;
  log.info({ signal }, 'stopping: finishing the photos in progress');
  await service.stop();
  log.info({}, 'stopped');
  log.flush();
}

function report(error: unknown): number {
  const code = (error as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
  if (typeof code === 'string' && code.startsWith('commander.')) return 2;
  if (error instanceof ImportStopped) {
    process.stderr.write(`facefile: ${error.message}; run the same command again to go on.\n`);
    return 130;
  }
  // Unreachable at start, after the tries: maybe passing, so a supervisor restarts on 1 (not on 2).
  if (error instanceof ServiceUnavailableError) {
    process.stderr.write(redactSecrets(`facefile: ${error.message}\n`));
    return 1;
  }
  if (error instanceof PathError || error instanceof ConfigError || error instanceof StartupError || error instanceof InputError) {
    process.stderr.write(redactSecrets(`facefile: ${error.message}\n`));
    return 2;
  }
  if (error instanceof EngineError) {
    process.stderr.write(`facefile: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(redactSecrets(`facefile: unexpected error: ${describeError(error)} (details in the log)\n`));
  return 1;
}

function parseThreshold(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < THRESHOLD_RANGE.min || n > THRESHOLD_RANGE.max)
    throw new InvalidArgumentError(`must be a number from ${THRESHOLD_RANGE.min} to ${THRESHOLD_RANGE.max}`);
  return n;
}
