import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PgGroupLocks } from '../../src/storage/sql/index.ts';
import { dropSchemas, freshSchemaUrl, postgresUrl } from '../helpers/postgres.ts';

const base = await postgresUrl();
const opened: PgGroupLocks[] = [];
after(async () => {
  for (const locks of opened) await locks.close().catch(() => undefined);
  await dropSchemas();
});

function locks(url: string): PgGroupLocks {
  const made = new PgGroupLocks(url);
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
});
