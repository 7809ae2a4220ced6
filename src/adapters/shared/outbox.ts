import type { Log } from '../../core/index.ts';
import { SerialQueue } from '../../core/index.ts';

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
  private readonly chats = new Map<string, { queue: SerialQueue; last: number }>();

  constructor(private readonly options: OutboxOptions) {}

  send<T>(chat: string, task: () => Promise<T>): Promise<T> {
    let state = this.chats.get(chat);
    if (!state) {
      state = { queue: new SerialQueue(), last: 0 };
      this.chats.set(chat, state);
    }
    const entry = state;
    return entry.queue.run(async () => {
      const gap = entry.last + this.options.intervalMs(chat) - Date.now();
      if (gap > 0) await sleep(gap);
      try {
        return await this.withRetries(chat, task);
      } finally {
        entry.last = Date.now();
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
