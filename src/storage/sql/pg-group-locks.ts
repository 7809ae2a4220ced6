import { createHash } from 'node:crypto';
import pg from 'pg';
import type { GroupId, GroupLocks, Log } from '../../core/index.ts';
import { KeyedSerialQueue } from '../../core/concurrency.ts';
import { silentLog } from '../../core/log.ts';

/**
 * A group's changes one at a time across every process that shares a PostgreSQL library (bots and
 * workers on several machines): a session-level advisory lock per group, held on a connection of
 * its own for the length of the change. PostgreSQL releases it when that connection ends, so a
 * process that dies (SIGKILL, a lost machine) never leaves a group locked.
 *
 * Within the process, changes of a group queue in order first, so a burst in one group takes one
 * connection, not one per waiting photo. Keys are hashed from the database's schema and the group
 * id: two libraries in one database (tests, or two deployments) never wait for each other, and a
 * rare hash collision only makes two groups wait for each other, never lets a change overlap.
 */
export class PgGroupLocks implements GroupLocks {
  private readonly local = new KeyedSerialQueue();
  private readonly pool: pg.Pool;
  private readonly namespace: Promise<string>;

  constructor(
    url: string,
    private readonly log: Log = silentLog,
    /** Groups locked at once by this process; more wait for a connection. */
    connections = 16,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: connections });
    // An idle client's error (the server restarted) must not crash the process; the next use reconnects.
    this.pool.on('error', (error) => this.log.warn({ err: error }, 'a group-lock connection to PostgreSQL failed'));
    this.namespace = this.pool.query<{ ns: string }>("select current_database() || '/' || current_schema() as ns").then((r) => r.rows[0]!.ns);
    this.namespace.catch(() => undefined);
  }

  run<T>(group: GroupId, task: () => Promise<T>): Promise<T> {
    return this.local.run(group, async () => {
      const [high, low] = lockKey(await this.namespace, group);
      const client = await this.pool.connect();
      let lost: unknown;
      const onError = (error: unknown) => {
        lost = error;
        // The lock went with the connection: another process may now enter this group.
        this.log.error({ err: error, group }, 'the connection holding a group lock was lost');
      };
      client.on('error', onError);
      try {
        await client.query('select pg_advisory_lock($1, $2)', [high, low]);
        return await task();
      } finally {
        await client.query('select pg_advisory_unlock($1, $2)', [high, low]).catch((error: unknown) => (lost ??= error));
        client.off('error', onError);
        // A broken connection is closed rather than reused.
        client.release(lost === undefined ? undefined : true);
      }
    });
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Two signed 32-bit halves of a hash: pg_advisory_lock(int4, int4). */
export function lockKey(namespace: string, group: GroupId): [number, number] {
  const digest = createHash('sha256').update(namespace).update('\0').update(group).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}
