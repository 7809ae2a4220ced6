import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { PgGroupLocks } from '../../src/storage/sql/index.ts';
import { lockKey } from '../../src/storage/sql/pg-group-locks.ts';
import { StorageError } from '../../src/core/index.ts';
import { Gate } from '../helpers/gate.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';

const base = await postgresUrl();
const opened: PgGroupLocks[] = [];
after(async () => {
  for (const locks of opened) await locks.close().catch(() => undefined);
  await dropSchemas();
});

function locks(url: string, lockTimeoutMs?: number): PgGroupLocks {
  const made = new PgGroupLocks(url, undefined, undefined, lockTimeoutMs);
  opened.push(made);
  return made;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a task that records when it held the lock. */
function timed(log: { who: string; from: number; to: number }[], who: string, ms: number) {
  return async () => {
    const from = performance.now();
    await pause(ms);
    log.push({ who, from, to: performance.now() });
  };
}

describe('PgGroupLocks (PostgreSQL advisory locks)', { skip: base ? false : 'no PostgreSQL server' }, () => {
  it('GIVEN two processes (two pools) changing one group THEN the changes never overlap; GIVEN two groups THEN they run at once', async () => {
    const url = await freshSchemaUrl(base!);
    const [a, b] = [locks(url), locks(url)];
    const log: { who: string; from: number; to: number }[] = [];
    await Promise.all([
      a.run('telegram:1', timed(log, 'a1', 150)),
      b.run('telegram:1', timed(log, 'b1', 150)),
      a.run('telegram:1', timed(log, 'a2', 150)),
      b.run('telegram:1', timed(log, 'b2', 150)),
    ]);
    const sorted = [...log].sort((x, y) => x.from - y.from);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.from >= sorted[i - 1]!.to - 1, `${sorted[i]!.who} started before ${sorted[i - 1]!.who} ended`);

    const other: { who: string; from: number; to: number }[] = [];
    const started = performance.now();
    await Promise.all([a.run('telegram:2', timed(other, 'x', 300)), b.run('telegram:3', timed(other, 'y', 300))]);
    assert.ok(performance.now() - started < 550, 'two groups waited for each other');
  });

  it('GIVEN a task that throws THEN the lock is released and the error reaches the caller', async () => {
    const url = await freshSchemaUrl(base!);
    const [a, b] = [locks(url), locks(url)];
    await assert.rejects(
      a.run('g', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await b.run('g', () => Promise.resolve(7)), 7);
  });

  it('GIVEN the process holding a group lock is killed (SIGKILL) THEN PostgreSQL releases it and another process goes on', async (t) => {
    const url = await freshSchemaUrl(base!);
    const script = `
      import { PgGroupLocks } from ${JSON.stringify(new URL('../../src/storage/sql/index.ts', import.meta.url).href)};
      const locks = new PgGroupLocks(process.env.URL);
      await locks.run('telegram:9', async () => { console.log('holding'); await new Promise(() => setInterval(() => {}, 1000)); });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, URL: url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The child holds the lock forever: a failed assertion must not leave it (and this file) running.
    t.after(() => child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('holding') && resolve());
      child.on('exit', (code) => reject(new Error(`the child ended first (${code})`)));
    });
    const other = locks(url);
    let entered = false;
    const waiting = other.run('telegram:9', () => {
      entered = true;
      return Promise.resolve();
    });
    await pause(400);
    assert.equal(entered, false, 'entered while another process held the lock');
    child.kill('SIGKILL');
    await waiting;
    assert.equal(entered, true);
  });

  it(
    'GIVEN another process holds a group for longer than the lock timeout THEN a change of that group fails with a clear error, and other groups go on',
    { timeout: 60_000 },
    async () => {
      const url = await freshSchemaUrl(base!);
      const [holder, waiter] = [locks(url), locks(url, 500)];
      const gate = new Gate();
      let held!: () => void;
      const holding = new Promise<void>((resolve) => (held = resolve));
      const stuck = holder.run('telegram:5', async () => {
        held();
        await gate.pass();
      });
      await holding;
      try {
        await assert.rejects(
          waiter.run('telegram:5', () => Promise.resolve()),
          (error: unknown) => {
            assert.ok(error instanceof StorageError);
            assert.match(error.message, /telegram:5 stayed locked by another process for 0\.5 s/);
            return true;
          },
        );
        assert.equal(await waiter.run('telegram:6', () => Promise.resolve('other group')), 'other group');
      } finally {
        gate.open();
        await stuck;
      }
      // The failed wait left nothing behind: the group is free for the same process once released.
      assert.equal(await waiter.run('telegram:5', () => Promise.resolve('free')), 'free');
    },
  );

  it('GIVEN a task holding a group WHEN the connection holding the lock is terminated THEN the task is told to stop and its run fails, and another process may enter', async (t) => {
    const url = await freshSchemaUrl(base!);
    const [a, b] = [locks(url), locks(url)];
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(() => admin.end());
    const gate = new Gate();
    let holding!: () => void;
    const entered = new Promise<void>((resolve) => (holding = resolve));
    let aborted!: (reason: unknown) => void;
    const toldToStop = new Promise<unknown>((resolve) => (aborted = resolve));
    const running = a.run('telegram:7', async (held) => {
      held.addEventListener('abort', () => aborted(held.reason));
      holding();
      await gate.pass();
      return 'committed as if it still held the lock';
    });
    await entered;

    const ns = (await admin.query<{ ns: string }>("select current_database() || '/' || current_schema() as ns")).rows[0]!.ns;
    const [high, low] = lockKey(ns, 'telegram:7');
    const holder = await admin.query<{ pid: number }>(
      "select pid from pg_locks where locktype = 'advisory' and granted and classid = $1::bigint::oid and objid = $2::bigint::oid and objsubid = 2",
      [high >>> 0, low >>> 0],
    );
    assert.equal(holder.rows.length, 1, 'one backend holds the lock');
    await admin.query('select pg_terminate_backend($1)', [holder.rows[0]!.pid]);

    assert.match(String(await toldToStop), /connection holding the lock of group telegram:7 was lost/);
    gate.open();
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.match(error.message, /connection holding the lock of group telegram:7 was lost/);
      return true;
    });
    assert.equal(await b.run('telegram:7', () => Promise.resolve('free')), 'free');
    assert.equal(await a.run('telegram:7', () => Promise.resolve('again')), 'again', 'the process gets a new connection for its next change');
  });
});
