/**
 * Resolves true the first time an update id is seen, false for every later delivery of it. Behind a
 * load balancer every `facefile bot` process must share one implementation (Redis `SET key NX EX`),
 * since a platform's redelivery may reach another process than the first delivery did.
 */
export type FirstDelivery = (updateId: number) => Promise<boolean>;

/**
 * Gives an update id back after its update could not be taken (a photo the queue refused), so that
 * the platform's redelivery is handled instead of skipped as a duplicate.
 */
export type ForgetDelivery = (updateId: number) => Promise<void>;

/**
 * Marks an update as handled for good, once it has been taken: a store with leases (Redis) keeps
 * an update only claimed until then, so that one whose process died is handled on redelivery.
 */
export type DoneDelivery = (updateId: number) => Promise<void>;

/**
 * Thrown by a `FirstDelivery` when another process is handling the update right now: the delivery
 * is refused (503) and the platform sends it again later, when it is either done (and skipped) or
 * its claim has lapsed because that process died (and handled here).
 */
export class DeliveryInProgress extends Error {
  override name = 'DeliveryInProgress';
  constructor(updateId: number) {
    super(`update ${updateId} is being handled by another process`);
  }
}

export interface RecentUpdateIdsOptions {
  /** How many ids are remembered at most; the oldest are forgotten first. */
  readonly max?: number;
  /** How long an id is remembered. Telegram keeps an undelivered update for 24 hours. */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

/**
 * The update ids one process has seen lately, bounded in count and age: the dedup store of a single
 * webhook process. It cannot see what other processes received; several need a shared store.
 */
export class RecentUpdateIds {
  /** Id -> when first seen; a Map keeps insertion order, so the oldest come first. */
  private readonly seen = new Map<number, number>();
  private readonly max: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: RecentUpdateIdsOptions = {}) {
    this.max = options.max ?? 100_000;
    this.maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
    if (!(this.max >= 1 && this.maxAgeMs > 0)) throw new Error('RecentUpdateIds needs max >= 1 and maxAgeMs > 0');
  }

  /** How many ids are remembered now. */
  get size(): number {
    return this.seen.size;
  }

  readonly firstDelivery: FirstDelivery = (updateId) => {
    const now = this.now();
    for (const [id, at] of this.seen) {
      if (now - at < this.maxAgeMs && this.seen.size < this.max) break;
      this.seen.delete(id);
    }
    if (this.seen.has(updateId)) return Promise.resolve(false);
    this.seen.set(updateId, now);
    return Promise.resolve(true);
  };

  readonly forget: ForgetDelivery = (updateId) => {
    this.seen.delete(updateId);
    return Promise.resolve();
  };
}
