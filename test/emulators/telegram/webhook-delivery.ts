import { Agent, request } from 'node:http';
import type { Update } from '@telegraf/types';
import { unixNow } from './protocol.ts';
import type { UpdateQueue } from './update-queue.ts';

export interface WebhookDeliveryOptions {
  /**
   * The test seam: the origin (`http://127.0.0.1:<port>`) deliveries go to instead of the webhook
   * URL's, keeping its path and query. A bot sets an https URL on its public domain, which a test
   * cannot serve; without this, deliveries go to the URL as set.
   */
  readonly target?: string;
  /** How long a delivery may take before it counts as failed ("Read timeout expired"). */
  readonly timeoutMs: number;
  /** The pause after the first failed delivery; each further failure doubles it, up to `maxRetryMs`. */
  readonly firstRetryMs: number;
  readonly maxRetryMs: number;
}

/** One POST of an update to the webhook and how it ended. */
export interface WebhookDelivery {
  readonly update_id: number;
  /** The HTTP status, or undefined when the request failed (refused connection, timeout). */
  readonly status: number | undefined;
  readonly error?: string;
  /** True for the extra copy of a redelivered update. */
  readonly redelivery: boolean;
  readonly at: number;
}

interface Hook {
  readonly url: string;
  readonly secretToken: string | undefined;
  readonly stop: AbortController;
}

/**
 * Delivers queued updates to a webhook as Telegram does: one JSON Update per POST, oldest first and
 * one at a time, with `X-Telegram-Bot-Api-Secret-Token` when a secret was set; an update stays
 * pending until a 2xx answer and is tried again after any other answer or a timeout, after a pause
 * that grows with each failure. The last failure is kept for getWebhookInfo.
 */
export class WebhookDeliverer {
  /** Every delivery attempt, in order. */
  readonly deliveries: WebhookDelivery[] = [];
  private hook: Hook | undefined;
  private loop: Promise<void> | undefined;
  private redeliveries = 0;
  private lastError: { readonly date: number; readonly message: string } | undefined;
  private readonly agent = new Agent({ keepAlive: true });

  constructor(
    private readonly updates: UpdateQueue,
    private readonly options: WebhookDeliveryOptions,
  ) {}

  /** The failure getWebhookInfo reports, if any delivery has failed. */
  get lastFailure(): { readonly last_error_date: number; readonly last_error_message: string } | undefined {
    return this.lastError && { last_error_date: this.lastError.date, last_error_message: this.lastError.message };
  }

  /** Starts (or, with a new URL or secret, restarts) delivering. */
  async start(url: string, secretToken: string | undefined): Promise<void> {
    await this.stop();
    const hook = { url, secretToken, stop: new AbortController() };
    this.hook = hook;
    this.loop = this.run(hook);
  }

  /** Stops delivering; a delivery under way is abandoned and its update stays pending. */
  async stop(): Promise<void> {
    this.hook?.stop.abort();
    this.hook = undefined;
    await this.loop;
    this.loop = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    this.agent.destroy();
  }

  /**
   * The next `times` updates are each delivered twice at once, as Telegram does when it gave up
   * waiting for the first answer and sent the update again while the bot was still handling it.
   */
  redeliverNext(times: number): void {
    this.redeliveries += times;
  }

  private async run(hook: Hook): Promise<void> {
    let failures = 0;
    const signal = hook.stop.signal;
    // A function, not the property: the stop can come during any await below.
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      const update = this.updates.oldest();
      if (!update) {
        await this.updates.nextPush(signal);
        continue;
      }
      const copies = this.redeliveries > 0 ? 2 : 1;
      if (copies === 2) this.redeliveries--;
      const results = await Promise.all(Array.from({ length: copies }, (_, i) => this.post(hook, update, i > 0)));
      if (stopped()) return;
      const failure = results.find((result) => result !== undefined);
      if (results.some((result) => result === undefined)) {
        failures = 0;
        this.updates.confirmOne(update.update_id);
      } else {
        this.lastError = { date: unixNow(), message: failure! };
        await pause(Math.min(this.options.firstRetryMs * 2 ** failures++, this.options.maxRetryMs), signal);
      }
    }
  }

  /** POSTs one update; resolves undefined for a 2xx answer, else Telegram's words for the failure. */
  private post(hook: Hook, update: Update, redelivery: boolean): Promise<string | undefined> {
    const url = new URL(hook.url);
    const to = this.options.target ? new URL(url.pathname + url.search, this.options.target) : url;
    const body = Buffer.from(JSON.stringify(update));
    return new Promise<string | undefined>((resolveOnce) => {
      let settled = false;
      // A socket error may follow the answer; only the first outcome counts.
      const record = (status: number | undefined, error?: string): void => {
        if (settled) return;
        settled = true;
        this.deliveries.push({ update_id: update.update_id, status, ...(error === undefined ? {} : { error }), redelivery, at: Date.now() });
        resolveOnce(status !== undefined && status >= 200 && status < 300 ? undefined : error);
      };
      const req = request(to, {
        method: 'POST',
        agent: this.agent,
        signal: hook.stop.signal,
        timeout: this.options.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          ...(hook.secretToken === undefined ? {} : { 'x-telegram-bot-api-secret-token': hook.secretToken }),
        },
      });
      req.on('timeout', () => {
        req.destroy(new Error('Read timeout expired'));
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          record(status, status >= 200 && status < 300 ? undefined : `Wrong response from the webhook: ${status} ${res.statusMessage ?? ''}`.trim());
        });
        res.on('error', (error) => {
          record(undefined, error.message);
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        record(undefined, error.code === 'ECONNREFUSED' ? 'Connection refused' : error.message);
      });
      req.end(body);
    });
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
