/** A probe that did not answer in time: a hung Redis or database must not hang a scrape or a probe. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/**
 * Resolves or rejects as `work()` does, or rejects with `TimeoutError` after `ms`. A `work` that
 * throws synchronously rejects too. The timer is cleared as soon as the work settles, so it holds
 * the process at most `ms`; it is not unref'd, since whoever awaits the answer must get one.
 */
export async function withTimeout<T>(work: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(work), expired]);
  } finally {
    clearTimeout(timer);
  }
}
