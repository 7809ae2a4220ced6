import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError, type GroupId, type Log } from '../core/index.ts';
import { writeAtomically } from '../files/index.ts';
import type { PhotoLibrary } from '../core/library/index.ts';
import type { PhotoJobEvent, PhotoJobHandler, PhotoJobMeta, PhotoJobs, RetryPolicy } from './photo-jobs.ts';
import { GroupTurns } from './group-turns.ts';
import { PhotoProcessor, type PhotoJobStore } from './photo-processor.ts';
import { deleteSetAside } from './set-aside.ts';
import { QueueBounds, type QueueLimits } from './queue-bounds.ts';

export interface PhotoQueueOptions {
  readonly dir: string;
  /** Only `ingest` is used: where each photo is filed. */
  readonly library: Pick<PhotoLibrary, 'ingest'>;
  readonly log: Log;
  /** Jobs filed at once; the library still serialises each group, and `GroupTurns` shares them out. */
  readonly concurrency: number;
  readonly retry?: RetryPolicy;
  /** Told about every try that ends or is tried again (metrics). */
  readonly onJob?: (event: PhotoJobEvent) => void;
  /** How much may wait; unbounded when absent (tools, tests). */
  readonly limits?: QueueLimits;
}

/**
 * Photos waiting for the engine, kept on disk so that a burst is never dropped and a shutdown or
 * crash loses nothing: what was accepted is processed on the next start. A job is `<id>.bin` (the
 * photo) and `<id>.json` (where it came from), each written to a temporary name, flushed to the
 * disk and renamed, the folder flushed too; the `.json` is written last and marks the job as
 * accepted. Jobs run `concurrency` at a time, oldest first, taking turns by group (`GroupTurns`):
 * a group that is held up does not hold up the others.
 *
 * Nothing accepted is ever deleted unfiled: a job that cannot be read is moved to `quarantine/`,
 * one whose filing keeps failing is retried with growing pauses and then moved to `dead-letter/`,
 * where the owner can find it and `deadLetters` counts it.
 */
export class PhotoQueue implements PhotoJobs {
  private readonly handlers = new Map<string, PhotoJobHandler>();
  private readonly waiting = new GroupTurns();
  private readonly bounds: QueueBounds;
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Photos in `dead-letter/`, by group: counted once at the start, then kept, so `/stats` reads no folder. */
  private readonly deadByGroup = new Map<string, number>();
  /** The waiting or running jobs imported from a chat's history (`GroupTurns` serves them last). */
  private readonly imported = new Set<string>();
  /** The jobs being filed now, and their groups. */
  private readonly active = new Map<string, string>();
  private readonly processor: PhotoProcessor;
  private readonly store: PhotoJobStore;
  private sequence = 0;
  private stopping = false;
  private paused = false;
  private drained: (() => void) | undefined;

  constructor(private readonly options: PhotoQueueOptions) {
    this.bounds = new QueueBounds(options.limits);
    this.processor = new PhotoProcessor({
      library: options.library,
      log: options.log,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.onJob ? { onJob: options.onJob } : {}),
      answer: async (job, result) => {
        await this.handlers.get(job.meta.platform)?.(job.meta, result);
      },
    });
    this.store = {
      done: async ({ id }) => {
        this.bounds.remove(id);
        this.imported.delete(id);
        for (const ext of ['.json', '.bin', '.tries']) await rm(path.join(this.dir, `${id}${ext}`), { force: true });
      },
      setAside: async ({ id, meta }, folder, why) => {
        await this.setAside(id, folder, why);
        if (folder === DEAD_LETTER) this.deadByGroup.set(meta.group, (this.deadByGroup.get(meta.group) ?? 0) + 1);
      },
    };
  }

  private get dir(): string {
    return this.options.dir;
  }

  /** Registers what to do when a platform's photo has been filed (react, reply). */
  onDone(platform: string, handler: PhotoJobHandler): void {
    this.handlers.set(platform, handler);
  }

  /** Picks up the jobs an earlier run left behind; call once, after `onDone` for every platform. */
  async start(): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    for (const name of names) if (name.endsWith('.partial')) await rm(path.join(this.dir, name), { force: true });
    const ids = names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .sort();
    // A photo whose .json never landed was never acknowledged: nobody was told it is queued.
    const accepted = new Set(ids);
    for (const name of names) {
      if (name.endsWith('.bin') && !accepted.has(name.slice(0, -4))) await this.setAside(name.slice(0, -4), QUARANTINE, 'a photo without its description');
    }
    await this.countDeadLetters();
    this.sequence = ids.reduce((max, id) => Math.max(max, Number(id.split('-')[0]) || 0), Date.now());
    // A description that cannot be read is quarantined when its turn comes, whatever group it falls in.
    for (const id of ids) {
      const { group, imported } = await laneOf(path.join(this.dir, `${id}.json`));
      if (imported) this.imported.add(id);
      this.waiting.push(id, group, imported);
      // Counted, never refused: they were accepted before.
      this.bounds.add(
        id,
        group,
        await stat(path.join(this.dir, `${id}.bin`)).then(
          (info) => info.size,
          () => 0,
        ),
        false,
      );
    }
    if (ids.length > 0) this.options.log.info({ jobs: ids.length }, 'resuming queued photos');
    this.pump();
    return ids.length;
  }

  /**
   * Accepts a photo: once this resolves, it is on the disk and will be filed even if the process
   * stops. Throws `QueueFullError`, having written nothing, when it would go over the queue's limits.
   */
  async add(bytes: Uint8Array, meta: PhotoJobMeta): Promise<void> {
    if (this.stopping) throw new Error('the photo queue is stopping');
    const id = `${String(++this.sequence).padStart(16, '0')}-${randomBytes(3).toString('hex')}`;
    this.bounds.add(id, meta.group, bytes.byteLength, true);
    try {
      await writeAtomically(path.join(this.dir, `${id}.bin`), bytes, { durable: true });
      await writeAtomically(path.join(this.dir, `${id}.json`), JSON.stringify(meta), { durable: true });
    } catch (error) {
      this.bounds.remove(id);
      await rm(path.join(this.dir, `${id}.bin`), { force: true });
      throw error;
    }
    if (meta.imported === true) this.imported.add(id);
    this.waiting.push(id, meta.group, meta.imported === true);
    this.pump();
  }

  /** Jobs accepted and not yet done (waiting, running, or waiting to be tried again). */
  get size(): number {
    return this.waiting.size + this.active.size + this.retries.size;
  }

  depth(): Promise<Record<string, number>> {
    return Promise.resolve({ waiting: this.waiting.size, active: this.active.size, delayed: this.retries.size });
  }

  /** The photos of a group that could not be filed after every try, kept in `dead-letter/`. */
  deadLetters(group: string): Promise<number> {
    return Promise.resolve(this.deadByGroup.get(group) ?? 0);
  }

  private async countDeadLetters(): Promise<void> {
    const folder = path.join(this.dir, DEAD_LETTER);
    const names = await readdir(folder).catch(() => [] as string[]);
    this.deadByGroup.clear();
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const group = await groupOf(path.join(folder, name));
      if (group) this.deadByGroup.set(group, (this.deadByGroup.get(group) ?? 0) + 1);
    }
  }

  async forgetSetAside(group: GroupId, postedBy?: string): Promise<number> {
    const deleted = (await deleteSetAside(this.dir, group, postedBy)).length;
    // /stats's count of dead letters is kept in memory: count again after a change.
    if (deleted > 0) await this.countDeadLetters();
    return deleted;
  }

  pause(): void {
    this.paused = true;
  }

  /**
   * Stops taking new jobs and waits for the running ones (at most `timeoutMs`); whatever has not
   * started stays on disk for the next start.
   */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.paused = true;
    this.stopping = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    if (this.active.size === 0) return;
    await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /**
   * Resolves when the jobs accepted so far are done (filed, or set aside), whatever comes in after;
   * or after `timeoutMs`. A forgetting waits for this, so that a photo of the forgotten person
   * posted just before is filed first and then forgotten with the rest, not filed afterwards.
   */
  async settled(timeoutMs = 60_000): Promise<boolean> {
    const pending = this.openJobs();
    const until = Date.now() + timeoutMs;
    for (;;) {
      const open = this.openJobs();
      if (![...pending].some((id) => open.has(id))) return true;
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Jobs accepted and not done: waiting, being filed, or waiting to be tried again. */
  private openJobs(): Set<string> {
    return new Set([...this.waiting.ids(), ...this.active.keys(), ...this.retries.keys()]);
  }

  /** Resolves when every accepted job is done (tests, and shutdown when the caller wants all). */
  async idle(): Promise<void> {
    while (this.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private pump(): void {
    while (!this.paused) {
      const job = this.waiting.take(this.active.size, this.options.concurrency);
      if (!job) return;
      const { id, group } = job;
      this.active.set(id, group);
      void this.run(id, group)
        .catch((error: unknown) => this.options.log.error({ err: error, job: id }, 'a queued photo could not be handled'))
        .finally(() => {
          this.active.delete(id);
          this.waiting.finished(group);
          if (this.active.size === 0 && this.stopping) this.drained?.();
          this.pump();
        });
    }
  }

  private async run(id: string, group: string): Promise<void> {
    const files = { bin: path.join(this.dir, `${id}.bin`), json: path.join(this.dir, `${id}.json`), tries: path.join(this.dir, `${id}.tries`) };
    // The description's time is when the photo was accepted (or last tried).
    const acceptedAt = await stat(files.json).then(
      (info) => info.mtimeMs,
      () => Date.now(),
    );
    let meta: PhotoJobMeta;
    try {
      meta = parseMeta(await readFile(files.json, 'utf8'));
    } catch (error) {
      // Without its description nobody can be told: it is only set aside.
      this.options.log.error({ err: error, job: id }, 'a queued photo could not be read; it is set aside in quarantine/');
      await this.setAside(id, QUARANTINE, describeError(error));
      this.options.onJob?.({ outcome: 'failed', waitSeconds: 0, runSeconds: 0 });
      return;
    }
    const tries = Number(await readFile(files.tries, 'utf8').catch(() => '0')) || 0;
    const outcome = await this.processor.attempt({ id, meta, tries, acceptedAt, read: () => readFile(files.bin) }, this.store);
    if (outcome.kind !== 'retry') return;
    await writeAtomically(files.tries, String(tries + 1), { durable: true }).catch(() => undefined);
    if (this.paused) return;
    const timer = setTimeout(() => {
      this.retries.delete(id);
      this.waiting.push(id, group, this.imported.has(id));
      this.pump();
    }, outcome.delayMs);
    this.retries.set(id, timer);
  }

  /** Moves a job's files into a folder of its own, with a note of why: never deletes them. */
  private async setAside(id: string, folder: typeof QUARANTINE | typeof DEAD_LETTER, why: string): Promise<void> {
    this.bounds.remove(id);
    this.imported.delete(id);
    const target = path.join(this.dir, folder);
    await mkdir(target, { recursive: true });
    for (const ext of ['.bin', '.json', '.tries']) {
      await rename(path.join(this.dir, `${id}${ext}`), path.join(target, `${id}${ext}`)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    }
    await writeFile(path.join(target, `${id}.why.txt`), `${why}\n`);
  }
}

const QUARANTINE = 'quarantine' as const;

/** The group a job description names, or '' when it cannot be read (it is quarantined in its turn). */
async function groupOf(file: string): Promise<string> {
  return (await laneOf(file)).group;
}

/** The group a job description names and whether it was imported; '' when it cannot be read. */
async function laneOf(file: string): Promise<{ group: string; imported: boolean }> {
  try {
    const meta = parseMeta(await readFile(file, 'utf8'));
    return { group: meta.group, imported: meta.imported === true };
  } catch {
    return { group: '', imported: false };
  }
}
const DEAD_LETTER = 'dead-letter' as const;

function parseMeta(text: string): PhotoJobMeta {
  const meta = JSON.parse(text) as Partial<PhotoJobMeta> | null;
  if (!meta || typeof meta.group !== 'string' || typeof meta.platform !== 'string' || typeof meta.postedAt !== 'string' || typeof meta.source !== 'object') {
    throw new Error('the job description is incomplete');
  }
  return meta as PhotoJobMeta;
}
