import { ServiceUnavailableError, type Log } from '../core/index.ts';

/** The first pause between two tries; each pause doubles, up to `MAX_PAUSE_MS`. */
const FIRST_PAUSE_MS = 1_000;
const MAX_PAUSE_MS = 30_000;

/**
 * Runs a start-up check, and while it finds a service unreachable (`ServiceUnavailableError`: a
 * database, Redis or chat API that is down for a moment, as at a machine's boot), tries again with
 * growing pauses for up to `windowMs`; then the last error is thrown (exit code 1: the supervisor
 * restarts the process). Any other error, a wrong setting among them, is thrown at once.
 */
export async function untilReachable<T>(check: () => Promise<T>, options: { readonly windowMs: number; readonly log: Log }): Promise<T> {
  const deadline = Date.now() + options.windowMs;
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (error) {
      if (!(error instanceof ServiceUnavailableError) || Date.now() + pause > deadline) throw error;
      options.log.warn({ attempt, retryInMs: pause, reason: error.message }, 'a service is not reachable yet at start: trying again');
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}
