import { spawn } from 'node:child_process';
import { startLocalPage } from '../app/index.ts';
import type { CommandContext } from './archive-command.ts';
import { Command, InvalidArgumentError } from 'commander';

export interface UiOptions {
  readonly port?: number;
  /** `--no-open` sets this to false. */
  readonly open: boolean;
}

/** The `ui` sub-command; `schedule` receives what to run once the command line is parsed. */
export function uiProgram(schedule: (task: (context: CommandContext) => Promise<void>) => void): Command {
  return new Command('ui')
    .description('open the archiver as a local web page: choose folders, run, review, name unknown faces')
    .option('-p, --port <n>', 'the port on 127.0.0.1 (default: a free one)', parsePort)
    .option('--no-open', 'only print the address, do not open a browser')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .action((options: UiOptions) => {
      schedule((context) => uiCommand(options, context));
    });
}

/**
 * `facefile ui`: serves the page on 127.0.0.1 until Ctrl-C, prints its address (with the access
 * token) and opens it in a browser where there is one. The folder browser starts in the current
 * folder and may show it and the home folder, and nothing else.
 */
export async function uiCommand(options: UiOptions, { config, log, out }: CommandContext): Promise<void> {
  const server = await startLocalPage(config, log, options.port === undefined ? {} : { port: options.port });
  out.write(`facefile ui is running at\n\n  ${server.url}\n\nOpen that address in a browser on this computer (it carries the access key). Stop with Ctrl-C.\n`);
  // The opener's command line is visible to every user of the machine: it gets a one-time code.
  if (options.open) openBrowser(server.openOnce());
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info({ signal }, 'ui: stopping');
  await server.close();
  out.write('facefile ui stopped.\n');
}

/**
 * Opens the page with the desktop's opener. A machine without one (a server, a container) only
 * has the printed address: the failed spawn is ignored. The opener gets no terminal, so a text
 * browser that xdg-open might choose without a display cannot take this one over.
 */
function openBrowser(url: string): void {
  const [file, ...args] = process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  const child = spawn(file, args, { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number, 0 to 65535');
  return n;
}
