import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Semaphore, SerialQueue, forEachConcurrent } from '../../src/core/concurrency.ts';

/** Watches how many tasks run at once. */
function gauge() {
  let running = 0;
  const state = {
    max: 0,
    get running() {
      return running;
    },
  };
  return {
    state,
    run: async <T>(work: () => Promise<T>): Promise<T> => {
      running++;
      state.max = Math.max(state.max, running);
      try {
        return await work();
      } finally {
        running--;
      }
    },
  };
}

/** Varied short delays, so tasks finish out of order. */
const delay = (i: number) => sleep([7, 1, 4, 0, 9, 2, 5, 3][i % 8]);

describe('forEachConcurrent', () => {
  it('GIVEN 20 items and a limit of 3 THEN all are processed, with exactly 3 in flight at the peak', async () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const { state, run } = gauge();
    const done: number[] = [];
    await forEachConcurrent(items, 3, (i) =>
      run(async () => {
        await delay(i);
        done.push(i);
      }),
    );
    assert.deepEqual(
      [...done].sort((a, b) => a - b),
      items,
    );
    assert.equal(state.max, 3);
  });

  it('GIVEN items THEN they are started in order', async () => {
    const started: number[] = [];
    await forEachConcurrent([0, 1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
      started.push(i);
      await delay(i);
    });
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('GIVEN a limit above the item count THEN each item runs once', async () => {
    const seen: string[] = [];
    await forEachConcurrent(['a', 'b'], 10, async (item) => {
      await sleep(1);
      seen.push(item);
    });
    assert.deepEqual(seen.sort(), ['a', 'b']);
  });

  it('GIVEN a limit of 0 THEN it still runs, one at a time', async () => {
    const { state, run } = gauge();
    let count = 0;
    await forEachConcurrent([1, 2, 3], 0, () =>
      run(async () => {
        await sleep(1);
        count++;
      }),
    );
    assert.equal(count, 3);
    assert.equal(state.max, 1);
  });

  it('GIVEN a generator THEN its items are drawn lazily, never more than the limit ahead', async () => {
    let drawn = 0;
    let finished = 0;
    function* items() {
      for (let i = 0; i < 10; i++) {
        drawn++;
        assert.ok(drawn - finished <= 2, `drew item ${i} with only ${finished} finished`);
        yield i;
      }
    }
    await forEachConcurrent(items(), 2, async (i) => {
      await delay(i);
      finished++;
    });
    assert.equal(finished, 10);
  });

  it('GIVEN no items THEN it resolves without calling the task', async () => {
    let calls = 0;
    await forEachConcurrent([], 4, () => {
      calls++;
      return Promise.resolve();
    });
    assert.equal(calls, 0);
  });

  it('GIVEN a task that throws THEN the run rejects with that error, starts nothing new, and waits for running tasks', async () => {
    const boom = new Error('boom');
    const { state, run } = gauge();
    const started: number[] = [];
    const items = Array.from({ length: 20 }, (_, i) => i);
    await assert.rejects(
      forEachConcurrent(items, 3, (i) =>
        run(async () => {
          started.push(i);
          if (i === 2) throw boom;
          await sleep(20);
        }),
      ),
      (error) => error === boom,
    );
    assert.equal(state.running, 0, 'the run settled while tasks were still running');
    // Items 0-2 start together; 2 fails at once and its lane stops, the other lanes stop after their item.
    assert.deepEqual(started, [0, 1, 2]);
  });
});

describe('SerialQueue', () => {
  it('GIVEN tasks queued at once THEN they run in order, one at a time, each resolving with its own value', async () => {
    const queue = new SerialQueue();
    const { state, run } = gauge();
    const order: number[] = [];
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        queue.run(() =>
          run(async () => {
            order.push(i);
            await delay(i);
            return i * 10;
          }),
        ),
      ),
    );
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.deepEqual(results, [0, 10, 20, 30, 40]);
    assert.equal(state.max, 1);
  });

  it('GIVEN a failing task THEN its own promise rejects and the next task still runs', async () => {
    const queue = new SerialQueue();
    const boom = new Error('boom');
    const order: string[] = [];
    const first = queue.run(async () => {
      order.push('first');
      await sleep(2);
      throw boom;
    });
    const second = queue.run(() => {
      order.push('second');
      return Promise.resolve('ok');
    });
    await assert.rejects(first, (error) => error === boom);
    assert.equal(await second, 'ok');
    assert.deepEqual(order, ['first', 'second']);
  });

  it('GIVEN queued tasks, one failing THEN idle resolves only after all of them settled', async () => {
    const queue = new SerialQueue();
    const settled: number[] = [];
    void queue.run(async () => {
      await sleep(5);
      settled.push(1);
    });
    queue
      .run(() => {
        settled.push(2);
        return Promise.reject(new Error('ignored'));
      })
      .catch(() => undefined);
    void queue.run(async () => {
      await sleep(5);
      settled.push(3);
    });
    await queue.idle();
    assert.deepEqual(settled, [1, 2, 3]);
  });
});

describe('Semaphore', () => {
  it('GIVEN a limit of 2 and 8 tasks THEN never more than 2 run at once, and all finish', async () => {
    const semaphore = new Semaphore(2);
    const { state, run } = gauge();
    const done = await Promise.all(Array.from({ length: 8 }, (_, i) => semaphore.run(() => run(async () => (await delay(i), i)))));
    assert.deepEqual(done, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(state.max, 2);
  });

  it('GIVEN waiters THEN places are handed out in the order asked, even to a caller arriving just as one is freed', async () => {
    const semaphore = new Semaphore(1);
    const first = await semaphore.acquire();
    const order: string[] = [];
    const queued = ['a', 'b', 'c'].map((name) => semaphore.acquire().then((release) => (order.push(name), release)));
    first();
    // Asked after the release but before the woken waiter ran: it must still wait behind b and c.
    const late = semaphore.acquire().then((release) => (order.push('late'), release));
    for (const waiter of [...queued, late]) (await waiter)();
    assert.deepEqual(order, ['a', 'b', 'c', 'late']);
  });

  it('GIVEN a release called twice or a task that fails THEN the place is given back once', async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    release();
    release();
    await assert.rejects(semaphore.run(() => Promise.reject(new Error('boom'))));
    const [a, b] = [semaphore.acquire(), semaphore.acquire()];
    let second = false;
    void b.then(() => (second = true));
    const releaseA = await a;
    await sleep(5);
    assert.equal(second, false, 'a second holder got in: a place was given back twice');
    releaseA();
    (await b)();
    assert.ok(second);
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
