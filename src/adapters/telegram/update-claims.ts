import type { Redis } from 'ioredis';

/**
 * Who handles a Telegram update that is delivered more than once (a webhook retried after a slow
 * answer, two `facefile bot` processes behind one URL). An update goes through three states:
 * unseen, claimed (some delivery of it is being handled now) and done (taken: its photo queued, its
 * command answered). A delivery that finds it claimed is refused for now (503): Telegram sends it
 * again, and by then it is done (and skipped) or was released after a failure (and handled). So an
 * update is handled once, and never acknowledged unhandled.
 */
export interface UpdateClaims {
  /**
   * Claims the update for this delivery: true to handle it, false when it is done already (answer
   * 200 and skip). Throws `DeliveryInProgress` while another delivery of it is being handled.
   */
  claim(updateId: number): Promise<boolean>;
  /** The update was taken: later deliveries of it are skipped. */
  done(updateId: number): Promise<void>;
  /** The update could not be taken: unclaimed, so that Telegram's next delivery is handled. */
  release(updateId: number): Promise<void>;
}

/** A delivery of an update that another delivery is handling right now: refused, to be sent again. */
export class DeliveryInProgress extends Error {
  override name = 'DeliveryInProgress';
  constructor(updateId: number) {
    super(`update ${updateId} is being handled by another delivery`);
  }
}

export interface MemoryUpdateClaimsOptions {
  /** How many done ids are remembered at most; the oldest are forgotten first. */
  readonly max?: number;
  /** How long a done id is remembered. Telegram keeps an undelivered update for 24 hours. */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

/**
 * The claims of a single webhook process, in its memory. A claim lasts while this process handles
 * the update (if the process dies, so does its memory, and the redelivery goes to the next start);
 * done ids are bounded in count and age. It cannot see other processes: several need the Redis twin.
 */
export class MemoryUpdateClaims implements UpdateClaims {
  private readonly claimed = new Set<number>();
  /** Id -> when it was done; a Map keeps insertion order, so the oldest come first. */
  private readonly finished = new Map<number, number>();
  private readonly max: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: MemoryUpdateClaimsOptions = {}) {
    this.max = options.max ?? 100_000;
    this.maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
    if (!(this.max >= 1 && this.maxAgeMs > 0)) throw new Error('MemoryUpdateClaims needs max >= 1 and maxAgeMs > 0');
  }

  /** How many done ids are remembered now. */
  get size(): number {
    return this.finished.size;
  }

  claim(updateId: number): Promise<boolean> {
    const now = this.now();
    for (const [id, at] of this.finished) {
      if (now - at < this.maxAgeMs && this.finished.size < this.max) break;
      this.finished.delete(id);
    }
    if (this.claimed.has(updateId)) return Promise.reject(new DeliveryInProgress(updateId));
    if (this.finished.has(updateId)) return Promise.resolve(false);
    this.claimed.add(updateId);
    return Promise.resolve(true);
  }

  done(updateId: number): Promise<void> {
    this.claimed.delete(updateId);
    this.finished.set(updateId, this.now());
    return Promise.resolve();
  }

  release(updateId: number): Promise<void> {
    this.claimed.delete(updateId);
    return Promise.resolve();
  }
}

/** How long a claim holds while its process handles the update; a dead process's claim lapses then. */
const CLAIM_SECONDS = 600;
/** How long a done update is remembered: Telegram keeps an undelivered update for a day. */
const DONE_SECONDS = 86_400;

/**
 * The claims of every bot process behind one webhook URL, in Redis: a claim is `SET NX` with a
 * lease, so an update whose process died mid-way is handled after the lease, never skipped; done
 * is remembered for a day. Ids are per bot, so the key has the bot's id (the token's public part),
 * never the token.
 */
export class RedisUpdateClaims implements UpdateClaims {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly claimSeconds = CLAIM_SECONDS,
  ) {}

  /** The key prefix for one bot: `<deployment prefix>:telegram:<bot id>`. */
  static prefixFor(deploymentPrefix: string, token: string): string {
    return `${deploymentPrefix}:telegram:${token.split(':')[0]}`;
  }

  async claim(updateId: number): Promise<boolean> {
    if ((await this.redis.set(this.key(updateId), 'claimed', 'EX', this.claimSeconds, 'NX')) === 'OK') return true;
    // Claimed, or a claim that lapsed just now: either way Telegram is to ask again.
    if ((await this.redis.get(this.key(updateId))) !== 'done') throw new DeliveryInProgress(updateId);
    return false;
  }

  async done(updateId: number): Promise<void> {
    await this.redis.set(this.key(updateId), 'done', 'EX', DONE_SECONDS);
  }

  async release(updateId: number): Promise<void> {
    await this.redis.del(this.key(updateId));
  }

  private key(updateId: number): string {
    return `${this.keyPrefix}:update:${updateId}`;
  }
}
