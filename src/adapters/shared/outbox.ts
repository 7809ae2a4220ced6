import type { Log } from '../../core/index.ts';
import { KeyedSerialQueue } from '../../core/index.ts';

/** How long a platform says to wait, when an error is its "too many requests". */
export type RetryAfter = (error: unknown) => number | undefined;

export interface OutboxOptions {
  /** The least time between two sends to one chat (Telegram: about 20 messages a minute per group). */
  readonly intervalMs: (chat: string) => number;
  readonly retryAfter: RetryAfter;
  /** How many times one send is retried after "too many requests". */
  readonly maxRetries?: number;
  readonly log: Log;
}

/**
 * Everything the bot sends to a chat goes through here: one send at a time per chat, spaced by
 * the platform's limit, and a "too many requests" answer waited out (its retry-after) and retried.
 * Chats do not wait for each other.
 */
export class Outbox {
  private readonly queues = new KeyedSerialQueue();
  /** When each chat was last sent to; kept small by the chats that actually talk. */
  private readonly last = new Map<string, number>();

  constructor(private readonly options: OutboxOptions) {}

  send<T>(chat: string, task: () => Promise<T>): Promise<T> {
    return this.queues.run(chat, async () => {
      const gap = (this.last.get(chat) ?? 0) + this.options.intervalMs(chat) - Date.now();
      if (gap > 0) await sleep(gap);
      try {
        return await this.withRetries(chat, task);
      } finally {
        this.last.set(chat, Date.now());
      }
    });
  }

  private async withRetries<T>(chat: string, task: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await task();
      } catch (error) {
        const wait = this.options.retryAfter(error);
        if (wait === undefined || attempt >= (this.options.maxRetries ?? 5)) throw error;
        this.options.log.warn({ chat, retryAfterSeconds: wait, attempt: attempt + 1 }, 'rate limited: waiting as asked');
        await sleep(wait * 1000);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
