import type { GroupId } from './group-id.ts';
import type { GroupLocks } from './ports.ts';
/**
 * Runs `task` over `items` with at most `limit` in flight, in order of start, and resolves when all
 * have settled. A task's rejection is the caller's to catch inside `task`; one that escapes stops
 * new starts and rejects the whole run after the running ones settle.
 */
export async function forEachConcurrent<T>(items: Iterable<T>, limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done && !failure; next = iterator.next()) {
      try {
        await task(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane));
  if (failure) throw failure.error;
}

/** Runs the tasks given to it one at a time, in order; one task's failure does not stop the next. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when everything queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}

/**
 * One `SerialQueue` per key: tasks under one key run one at a time, in order; tasks under different
 * keys run freely. A key with nothing queued is forgotten, so keys may come and go without a leak.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once everything queued before it under `key` has settled; resolves as it does. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves when everything queued so far, under every key, has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

/** Each group's changes one at a time within one process: nothing can take the lock away, so `held` never aborts. */
export class InProcessGroupLocks implements GroupLocks {
  private readonly queue = new KeyedSerialQueue();

  run<T>(group: GroupId, task: (held: AbortSignal) => Promise<T>): Promise<T> {
    return this.queue.run(group, () => task(new AbortController().signal));
  }
}

/**
 * At most `limit` holders at once; the rest wait in the order they asked (FIFO), so a steady
 * stream of requests never starves an early one.
 */
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`a semaphore needs a limit of 1 or more, not ${limit}`);
  }

  /** Resolves once a place is free, with the function that gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.held < this.limit && this.waiting.length === 0) this.held++;
    // The place is handed over by `release`: `held` does not drop in between, so no late caller jumps the queue.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.held--;
    };
  }

  /** Runs `task` once a place is free, and frees it when the task settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }
}
