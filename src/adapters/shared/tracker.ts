import { describeError, type Log } from '../../core/index.ts';

/**
 * The work an adapter runs beside its platform's event loop (commands, downloads, answers): each
 * task's failure is logged, never thrown into telegraf or discord.js, and `idle` or a stop can wait
 * for all of them.
 */
export class Tracker {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly log: Log,
    private readonly what: string,
  ) {}

  track(work: Promise<void>): Promise<void> {
    const guarded = work.catch((error: unknown) => {
      this.log.error({ err: error, reason: describeError(error) }, `a ${this.what} task failed`);
    });
    this.running.add(guarded);
    void guarded.finally(() => this.running.delete(guarded));
    return guarded;
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves when nothing tracked is running, including what was started meanwhile. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
