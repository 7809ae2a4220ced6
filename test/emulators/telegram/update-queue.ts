import type { Update } from '@telegraf/types';
import { BotApiError } from './protocol.ts';

type PollOutcome = 'update' | 'conflict' | 'timeout' | 'gone' | 'closing';

const MAX_UPDATES_PER_CALL = 100;

export interface GetUpdatesRequest {
  readonly offset: number;
  readonly limit: number | undefined;
  /** Seconds to hold the request open while nothing is queued. */
  readonly timeout: number;
}

/**
 * The updates waiting for the bot, served as getUpdates does: kept until a later offset confirms
 * them, long-polled, and one request at a time.
 */
export class UpdateQueue {
  private readonly updates: Update[] = [];
  private readonly idleWaiters = new Set<() => void>();
  private poll: { readonly wake: (outcome: PollOutcome) => void } | undefined;
  private readonly pushListeners = new Set<() => void>();
  private nextUpdateId = 100_000_001;
  private closed = false;

  /** Updates queued and not yet confirmed. */
  get size(): number {
    return this.updates.length;
  }

  push(make: (updateId: number) => Update): void {
    this.updates.push(make(this.nextUpdateId++));
    this.poll?.wake('update');
    for (const listener of [...this.pushListeners]) listener();
  }

  /** The oldest unconfirmed update: the one a webhook delivers next. */
  oldest(): Update | undefined {
    return this.updates[0];
  }

  /** Confirms one update, as a 2xx answer to its webhook delivery does. */
  confirmOne(updateId: number): void {
    const index = this.updates.findIndex((update) => update.update_id === updateId);
    if (index >= 0) this.updates.splice(index, 1);
    if (this.updates.length === 0) for (const done of [...this.idleWaiters]) done();
  }

  /** Resolves at the next push, or when `signal` aborts. */
  nextPush(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.pushListeners.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.pushListeners.add(done);
      signal.addEventListener('abort', done);
    });
  }

  async getUpdates(request: GetUpdatesRequest, signal: AbortSignal): Promise<Update[]> {
    const limit = Math.min(Math.max(request.limit ?? MAX_UPDATES_PER_CALL, 1), MAX_UPDATES_PER_CALL);
    this.confirm(request.offset);
    // Telegram serves one getUpdates per bot at a time and ends the older one.
    this.poll?.wake('conflict');
    if (this.updates.length > 0 || request.timeout <= 0 || this.closed) return this.updates.slice(0, limit);
    const outcome = await new Promise<PollOutcome>((resolve) => {
      const finish = (result: PollOutcome): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onGone);
        if (this.poll === entry) this.poll = undefined;
        resolve(result);
      };
      const onGone = (): void => {
        finish('gone');
      };
      const entry = { wake: finish };
      const timer = setTimeout(() => {
        finish('timeout');
      }, request.timeout * 1000);
      signal.addEventListener('abort', onGone);
      this.poll = entry;
    });
    if (outcome === 'conflict') {
      throw new BotApiError({
        error_code: 409,
        description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      });
    }
    return outcome === 'update' ? this.updates.slice(0, limit) : [];
  }

  /** Forgets every queued update (drop_pending_updates). */
  drop(): void {
    this.confirm(Number.MAX_SAFE_INTEGER);
  }

  /** Resolves once every queued update has been confirmed. */
  idle(timeoutMs: number): Promise<void> {
    if (this.updates.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        reject(new Error(`BotApiEmulator: ${this.updates.length} update(s) still unconfirmed after ${timeoutMs} ms`));
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  /** Ends a pending long poll with an empty answer; later ones answer at once. */
  close(): void {
    this.closed = true;
    this.poll?.wake('closing');
  }

  /** A positive offset confirms every earlier update; a negative one keeps only the last -offset. */
  private confirm(offset: number): void {
    if (offset > 0) {
      const keepFrom = this.updates.findIndex((update) => update.update_id >= offset);
      this.updates.splice(0, keepFrom < 0 ? this.updates.length : keepFrom);
    } else if (offset < 0) {
      this.updates.splice(0, Math.max(0, this.updates.length + offset));
    }
    if (this.updates.length === 0) for (const done of [...this.idleWaiters]) done();
  }
}
