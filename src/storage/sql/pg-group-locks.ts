import { createHash } from 'node:crypto';
import pg from 'pg';
import { StorageError, type GroupId, type GroupLocks, type Log } from '../../core/index.ts';
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
    /**
     * How long a change waits for another process to leave the group before it fails (and its photo
     * is tried again later): a stuck holder must not keep a connection, and the work queued behind
     * it, waiting for ever.
     */
    private readonly lockTimeoutMs = 5 * 60_000,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: connections });
    // An idle client's error (the server restarted) must not crash the process; the next use reconnects.
    this.pool.on('error', (error) => this.log.warn({ err: error }, 'a group-lock connection to PostgreSQL failed'));
    this.namespace = this.pool.query<{ ns: string }>("select current_database() || '/' || current_schema() as ns").then((r) => r.rows[0]!.ns);
    this.namespace.catch(() => undefined);
  }

  run<T>(group: GroupId, task: (held: AbortSignal) => Promise<T>): Promise<T> {
    return this.local.run(group, async () => {
      const [high, low] = lockKey(await this.namespace, group);
      const client = await this.pool.connect();
      let lost: unknown;
      let locked = false;
      const held = new AbortController();
      const onError = (error: unknown) => {
        lost = error;
        // The lock went with the connection: another process may now enter this group, so the
        // task must commit nothing more, and does not count as done.
        held.abort(new StorageError(`the connection holding the lock of group ${group} was lost`, 'lock', { cause: error }));
        this.log.error({ err: error, group }, 'the connection holding a group lock was lost');
      };
      client.on('error', onError);
      try {
        await client.query("select set_config('lock_timeout', $1, false)", [`${Math.max(1, Math.round(this.lockTimeoutMs))}ms`]);
        try {
          await client.query('select pg_advisory_lock($1, $2)', [high, low]);
          locked = true;
        } catch (error) {
          if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
          throw new StorageError(`the group ${group} stayed locked by another process for ${this.lockTimeoutMs / 1000} s`, 'lock', { cause: error });
        }
        const result = await task(held.signal);
        held.signal.throwIfAborted();
        return result;
      } finally {
        if (locked) await client.query('select pg_advisory_unlock($1, $2)', [high, low]).catch((error: unknown) => (lost ??= error));
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

/** PostgreSQL's SQLSTATE when lock_timeout ends a wait. */
const LOCK_NOT_AVAILABLE = '55P03';

/** Two signed 32-bit halves of a hash: pg_advisory_lock(int4, int4). */
export function lockKey(namespace: string, group: GroupId): [number, number] {
  const digest = createHash('sha256').update(namespace).update('\0').update(group).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}
