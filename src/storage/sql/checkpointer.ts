import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Log } from '../../core/index.ts';

/** How often the background connection moves the write-ahead log into the database file. */
const CHECKPOINT_EVERY_MS = 1000;

/**
 * The checkpointer's thread: a connection of its own to the library's file, moving what the
 * write-ahead log holds into the database file every second (PASSIVE: it never waits for, nor
 * blocks, the process's reads and writes). It closes its connection when told, before the main one.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 10000 });
db.pragma('synchronous = FULL');
// Its own close must not checkpoint and delete the log under the main connection.
db.pragma('wal_autocheckpoint = 0');
let failed = false;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failed = false;
  } catch (error) {
    // Reported once per run of failures (a busy or full disk): the next tick tries again.
    if (!failed) parentPort.postMessage({ error: String(error && error.message || error) });
    failed = true;
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints of the SQLite library out of the commands' way. By default SQLite checkpoints
 * inside the commit that takes the log past 1,000 pages: at 100k photos an enrolment's commit
 * (about 10k pages) then also copied them into the database file and synced it, 0.35 s of its
 * answer, and the first write after a start paid the most. Here a thread with its own connection
 * does it every second; the main connection checkpoints inline only past a far larger log (should
 * the thread fall behind), and as SQLite would by default when the thread stops (`onLost`).
 * Durability is the commit's (the log is synced with it, full sync); a checkpoint only moves
 * pages. `stop` ends the thread and closes its connection.
 */
export function startCheckpointer(file: string, log: Log, onLost: () => void): { stop(): Promise<void> } {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, everyMs: CHECKPOINT_EVERY_MS } });
  let running = true;
  worker.on('message', (message: { error?: string }) => {
    if (message.error) log.warn({ file, detail: message.error }, 'a background checkpoint of the library database failed; it is tried again');
  });
  worker.on('error', (error) => log.warn({ err: error, file }, 'the library database checkpointer failed'));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      if (running) {
        running = false;
        log.warn({ file }, 'the library database checkpointer stopped; checkpoints run inline from now on');
        onLost();
      }
      resolve();
    }),
  );
  // Ends with the process: it holds nothing the main connection's close does not redo.
  worker.unref();
  return {
    stop: async () => {
      if (!running) return;
      running = false;
      // Held until it has closed: unreferenced, the process would end while waiting for it.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
