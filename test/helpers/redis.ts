import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';

/** Where the tests look for Redis: TEST_REDIS_URL, else the machine's local server. */
const BASE_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let available: Promise<string | undefined> | undefined;

async function reachable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The URL of a reachable Redis, starting the machine's redis-server (keeping nothing on disk) when
 * it is installed and not running; undefined (with the reason printed once) when there is none, so
 * that tests can skip.
 */
export function redisUrl(): Promise<string | undefined> {
  available ??= (async () => {
    if (await reachable(BASE_URL)) return BASE_URL;
    if (!process.env['TEST_REDIS_URL']) {
      try {
        execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'], {
          stdio: 'ignore',
          timeout: 10_000,
        });
        for (let i = 0; i < 50 && !(await reachable(BASE_URL)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      } catch {
        // Not installed: reported below.
      }
    }
    if (await reachable(BASE_URL)) return BASE_URL;
    console.log(`# Redis tests skipped: no server answers at ${BASE_URL} and none could be started (set TEST_REDIS_URL)`);
    return undefined;
  })();
  return available;
}

/** A key prefix of its own for one test, so tests never see each other's queues. */
export function freshPrefix(name: string): string {
  return `fftest-${name}-${process.pid}-${Date.now().toString(36)}`;
}

/** Deletes every key under `prefix` (a test's queues and counters). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
