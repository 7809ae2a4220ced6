import { realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Log } from '../core/index.ts';
import { SharpRenderer } from '../imaging/index.ts';
import { DEFAULT_THRESHOLD } from '../recognition/index.ts';
import { JobArchiveRunner, Thumbnails, UiSession, startUiServer } from '../web/index.ts';
import { OWN_FILE_FORMATS, createArchiverParts, createDecoder } from './parts.ts';

export interface LocalPage {
  /** The page's address, with its access token. */
  readonly url: string;
  /** An address without the token that opens the page once: for the browser's command line. */
  openOnce(): string;
  close(): Promise<void>;
}

/**
 * `facefile ui`'s page, wired: the archive runner (its engine and face cache made at the first
 * run), thumbnails, the session and the server on 127.0.0.1. The folder browser may show the
 * current folder and the home folder, and starts with ./photos, ./known and ./archive (or their
 * settings) chosen when they exist.
 */
export async function startLocalPage(config: Config, log: Log, options: { readonly port?: number } = {}): Promise<LocalPage> {
  const roots = [...new Set(await Promise.all([process.cwd(), os.homedir()].map((p) => realpath(p).catch(() => path.resolve(p)))))];
  const renderer = new SharpRenderer();
  const runner = new JobArchiveRunner({
    parts: () => createArchiverParts(config, log),
    renderer,
    policy: { threshold: config.match.threshold ?? DEFAULT_THRESHOLD, margin: config.match.margin },
    log,
  });
  const thumbnails = new Thumbnails(createDecoder(config, OWN_FILE_FORMATS), config.decoder.maxPixels, config.decoder.maxBytes);
  const session = new UiSession({ runner, renderer, thumbnails, roots, minClusterPhotos: config.library.minClusterPhotos, log });
  const { inputDir, knownDir, outputDir } = config.archive;
  await session.choose({ photos: inputDir, known: knownDir, output: outputDir }, false);
  const server = await startUiServer({ session, thumbnails, log, ...(options.port === undefined ? {} : { port: options.port }) });
  return {
    url: server.url,
    openOnce: () => server.openOnce(),
    close: async () => {
      await server.close();
      await runner.close();
    },
  };
}
