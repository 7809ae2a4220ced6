import { Redis } from 'ioredis';
import { describeError, ServiceUnavailableError, StartupError, withoutPassword } from '../../core/index.ts';

/** Where BullMQ and facefile's own keys live: the server, and the prefix of every key. */
export interface RedisPlace {
  readonly url: string;
  readonly prefix: string;
}

/**
 * A connection for BullMQ. Workers block on Redis, so commands never give up
 * (`maxRetriesPerRequest: null`, as BullMQ requires for workers); a lost server is reconnected to
 * with growing pauses, and the caller's readiness check reports it meanwhile.
 */
export function redisConnection(place: RedisPlace, name: string): Redis {
  return new Redis(place.url, {
    maxRetriesPerRequest: null,
    connectionName: `facefile-${name}`,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
}

/**
 * Checks at start that Redis answers, and is one BullMQ can rely on: a short one-line
 * `StartupError` rather than a worker that waits forever on a wrong address.
 */
export async function verifyRedis(place: RedisPlace, timeoutMs = 5_000): Promise<{ version: string; persistence: string }> {
  const client = new Redis(place.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  // The connection's own error says why (ECONNREFUSED, ENOTFOUND, a refused password); the
  // command's is only "Connection is closed".
  let cause: unknown;
  client.on('error', (error) => (cause ??= error));
  const where = withoutPassword(place.url);
  try {
    await client.connect();
    const info = await client.info();
    const field = (key: string) => new RegExp(`^${key}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    // Managed servers may refuse CONFIG: then only the append-only flag is known.
    const save = await client.config('GET', 'save').then(
      (answer) => (answer as string[])[1] ?? '',
      () => '',
    );
    const persistence = field('aof_enabled') === '1' ? 'append-only file' : save.trim() !== '' ? 'snapshots' : 'none';
    return { version: field('redis_version') ?? 'unknown', persistence };
  } catch (error) {
    const why = cause ?? error;
    const code = (why as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : describeError(why);
    // A refused password is a wrong setting; anything else (nothing listening, a timeout, a server
    // still loading its data) may pass.
    if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(reason))
      throw new StartupError(`Redis at ${where} refused the connection: ${reason}; check REDIS_URL`, { cause: error });
    throw new ServiceUnavailableError(`cannot reach Redis at ${where}: ${reason}`, { cause: error });
  } finally {
    client.disconnect();
  }
}
