import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Update } from '@telegraf/types';
import type { Log } from '../../core/index.ts';
import { DeliveryInProgress, type UpdateClaims } from './update-claims.ts';

/** The header Telegram sends the webhook's secret_token in. */
const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** An update is a few kilobytes; anything much bigger is not from Telegram. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookServerOptions {
  readonly port: number;
  /** Where to listen; every interface by default. */
  readonly host?: string;
  /** The path Telegram posts to (that of the webhook URL); other paths answer 404. */
  readonly path: string;
  /**
   * A request without this `X-Telegram-Bot-Api-Secret-Token` is refused with 403. Required: without
   * it, anyone who finds the URL could post updates as any user (a forged `/forget`, a migration).
   */
  readonly secretToken: string;
  /** Which delivery of an update handles it: this process's memory, or Redis shared by all. */
  readonly claims: UpdateClaims;
  /**
   * Handles one update; Telegram gets its 200 when this resolves. A rejection answers 500, so that
   * Telegram delivers the update again (the update was not taken).
   */
  readonly handle: (update: Update) => Promise<void>;
  readonly log: Log;
}

/**
 * The HTTP end of Telegram's webhook in one `facefile bot` process; several may sit behind one URL.
 * Instead of telegraf's `launch({ webhook })`, whose path depends on the Node version (so processes
 * of two versions would disagree) and whose stop neither waits for running updates nor refuses the
 * ones still arriving. Each update is answered only once handled: a photo is on the queue before its
 * 200. An update already done (a redelivery, here or in another process) is answered 200 unhandled;
 * one being handled by another delivery right now is answered 503, so that Telegram asks again.
 */
export class WebhookServer {
  private readonly server: Server;
  private readonly secret: Buffer;
  private readonly running = new Set<Promise<void>>();
  private closing = false;

  constructor(private readonly options: WebhookServerOptions) {
    if (!options.path.startsWith('/')) throw new Error(`the webhook path must start with "/": ${options.path}`);
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(options.secretToken)) throw new Error('the webhook secret must be 1-256 letters, digits, _ or -');
    this.secret = digest(options.secretToken);
    this.server = createServer((req, res) => {
      const answered = this.answer(req, res).catch((error: unknown) => {
        options.log.error({ err: error }, 'a Telegram webhook request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      this.running.add(answered);
      void answered.finally(() => this.running.delete(answered));
    });
  }

  /** Starts listening; rejects when the port is taken. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Stops taking updates: no new connection, 503 for requests on open ones (Telegram delivers them
   * again, through the load balancer to another process), waits for the updates being handled,
   * then closes the connections left.
   */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    this.server.closeAllConnections();
    await closed;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (new URL(req.url ?? '/', 'http://webhook.invalid').pathname !== this.options.path) return refuse(req, res, 404);
    if (req.method !== 'POST') return refuse(req, res, 405);
    if (!sameSecret(this.secret, req.headers[SECRET_HEADER])) {
      this.options.log.warn({ from: req.socket.remoteAddress }, 'a Telegram webhook request without the right secret token was refused');
      return refuse(req, res, 403);
    }
    if (this.closing) return refuse(req, res, 503);
    const update = await readUpdate(req);
    if (typeof update === 'number') return refuse(req, res, update);
    let first: boolean;
    try {
      first = await this.options.claims.claim(update.update_id);
    } catch (error) {
      // Handling it unchecked could answer a command twice; refused, Telegram tries again later.
      if (error instanceof DeliveryInProgress)
        this.options.log.info({ update: update.update_id }, 'a Telegram update being handled by another delivery was refused for now');
      else this.options.log.error({ err: error, update: update.update_id }, 'could not check whether a Telegram update was already handled');
      return refuse(req, res, 503);
    }
    if (first) {
      try {
        await this.options.handle(update);
      } catch (error) {
        await this.options.claims.release(update.update_id).catch((releaseError: unknown) => {
          this.options.log.error({ err: releaseError, update: update.update_id }, 'could not release a Telegram update that was not taken');
        });
        throw error;
      }
      // Taken: the 200 follows whatever happens here (a failure only lets the claim lapse).
      await this.options.claims.done(update.update_id).catch((error: unknown) => {
        this.options.log.warn({ err: error, update: update.update_id }, 'could not mark a Telegram update as handled');
      });
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }
}

/** The update in a request body, or the status to refuse it with. */
async function readUpdate(req: IncomingMessage): Promise<Update | number> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return 413;
    chunks.push(chunk);
  }
  try {
    const update = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    const id = (update as { update_id?: unknown } | null)?.update_id;
    return typeof id === 'number' && Number.isSafeInteger(id) ? (update as Update) : 400;
  } catch {
    return 400;
  }
}

function refuse(req: IncomingMessage, res: ServerResponse, status: number): void {
  req.resume();
  res.writeHead(status).end();
}

/** Secrets compared as digests: equal lengths for timingSafeEqual, and no length leaked. */
function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function sameSecret(expected: Buffer, header: string | string[] | undefined): boolean {
  return typeof header === 'string' && timingSafeEqual(expected, digest(header));
}
