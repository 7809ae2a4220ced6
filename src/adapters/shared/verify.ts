import { ServiceUnavailableError, StartupError } from '../../core/index.ts';

/**
 * Runs a platform's "who am I" call at start, before the models load, so that a wrong token, an
 * unreachable API or one that accepts the connection and never answers ends the start at once with
 * one line that says which: a `StartupError` for a refused token, a `ServiceUnavailableError`
 * (worth trying again) otherwise. `call` gets a signal that aborts after `timeoutMs`.
 */
export async function verifyAtStart<T>(platform: string, where: string, timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = new Promise<never>((_, reject) =>
    signal.addEventListener(
      'abort',
      () => reject(new ServiceUnavailableError(`the ${platform} API at ${where} did not answer within ${Math.round(timeoutMs / 1000)} s`)),
      { once: true },
    ),
  );
  try {
    return await Promise.race([call(signal), timedOut]);
  } catch (error) {
    if (error instanceof StartupError) throw error;
    const status =
      (error as { code?: unknown; status?: unknown; response?: { error_code?: unknown } }).response?.error_code ??
      (error as { status?: unknown }).status ??
      (error as { code?: unknown }).code;
    if (status === 401 || status === 403 || status === 404) {
      throw new StartupError(`${platform} refused the bot token (${String(status)}): check it in .env`, { cause: error });
    }
    // Anything but a refusal of the token (no answer, a 5xx, a proxy's error page) may pass.
    throw new ServiceUnavailableError(`cannot reach the ${platform} API at ${where}: ${networkReason(error)}`, { cause: error });
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = (error as { code?: unknown }).code ?? cause?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
