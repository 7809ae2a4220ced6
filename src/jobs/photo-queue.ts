import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../core/index.ts';
import { describeError } from '../core/index.ts';
import { writeAtomically } from '../files/index.ts';
import type { IngestResult, PhotoLibrary } from '../core/library/index.ts';
import { incomingPhoto, type PhotoJobEvent, type PhotoJobHandler, type PhotoJobMeta, type PhotoJobResult, type PhotoJobs } from './photo-jobs.ts';

/** How often a job whose filing throws (a full disk, a broken store) is tried, and how far apart. */
export interface RetryPolicy {
  /** Tries in all, the first included; then the job goes to the dead-letter folder. */
  readonly attempts: number;
  readonly firstDelayMs: number;
  /** Each wait is this many times the one before, up to `maxDelayMs`. */
  readonly factor: number;
  readonly maxDelayMs: number;
}

/** The pause after the `tries`-th failed try: the first delay, growing by the factor, up to the cap. */
export function retryDelay(policy: RetryPolicy, tries: number): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * policy.factor ** Math.max(0, tries - 1));
}

/** About 45 minutes of tries: long enough for an operator to free a full disk. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, firstDelayMs: 2_000, factor: 3, maxDelayMs: 15 * 60_000 };

export interface PhotoQueueOptions {
  readonly dir: string;
  /** Only `ingest` is used: where each photo is filed. */
  readonly library: Pick<PhotoLibrary, 'ingest'>;
  readonly log: Log;
  /** Jobs filed at once; the library still serialises each group. */
  readonly concurrency: number;
  readonly retry?: RetryPolicy;
  /** Told about every job that ends or is tried again (metrics). */
  readonly onJob?: (event: PhotoJobEvent) => void;
}

/**
 * Photos waiting for the engine, kept on disk so that a burst is never dropped and a shutdown or
 * crash loses nothing: what was accepted is processed on the next start. A job is `<id>.bin` (the
 * photo) and `<id>.json` (where it came from), each written to a temporary name, flushed to the
 * disk and renamed, the folder flushed too; the `.json` is written last and marks the job as
 * accepted. Jobs run `concurrency` at a time, oldest first.
 *
 * Nothing accepted is ever deleted unfiled: a job that cannot be read is moved to `quarantine/`,
 * one whose filing keeps failing is retried with growing pauses and then moved to `dead-letter/`,
 * where the owner can find it and `deadLetters` counts it.
 */
export class PhotoQueue implements PhotoJobs {
  private readonly handlers = new Map<string, PhotoJobHandler>();
  private readonly waiting: string[] = [];
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** The jobs being filed now. */
  private readonly active = new Set<string>();
  private readonly retry: RetryPolicy;
  private sequence = 0;
  private stopping = false;
  private paused = false;
  private drained: (() => void) | undefined;

  constructor(private readonly options: PhotoQueueOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY;
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
    this.sequence = ids.reduce((max, id) => Math.max(max, Number(id.split('-')[0]) || 0), Date.now());
    for (const id of ids) this.waiting.push(id);
    if (ids.length > 0) this.options.log.info({ jobs: ids.length }, 'resuming queued photos');
    this.pump();
    return ids.length;
  }

  /** Accepts a photo: once this resolves, it is on the disk and will be filed even if the process stops. */
  async add(bytes: Uint8Array, meta: PhotoJobMeta): Promise<void> {
    if (this.stopping) throw new Error('the photo queue is stopping');
    const id = `${String(++this.sequence).padStart(16, '0')}-${randomBytes(3).toString('hex')}`;
    try {
      await writeAtomically(path.join(this.dir, `${id}.bin`), bytes, { durable: true });
      await writeAtomically(path.join(this.dir, `${id}.json`), JSON.stringify(meta), { durable: true });
    } catch (error) {
      await rm(path.join(this.dir, `${id}.bin`), { force: true });
      throw error;
    }
    this.waiting.push(id);
    this.pump();
  }

  /** Jobs accepted and not yet done (waiting, running, or waiting to be tried again). */
  get size(): number {
    return this.waiting.length + this.active.size + this.retries.size;
  }

  depth(): Promise<Record<string, number>> {
    return Promise.resolve({ waiting: this.waiting.length, active: this.active.size, delayed: this.retries.size });
  }

  /** The photos of a group that could not be filed after every try, kept in `dead-letter/`. */
  async deadLetters(group: string): Promise<number> {
    const folder = path.join(this.dir, DEAD_LETTER);
    const names = await readdir(folder).catch(() => [] as string[]);
    let count = 0;
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const meta = await readFile(path.join(folder, name), 'utf8').then(parseMeta, () => undefined);
      if (meta?.group === group) count++;
    }
    return count;
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
    return new Set([...this.waiting, ...this.active, ...this.retries.keys()]);
  }

  /** Resolves when every accepted job is done (tests, and shutdown when the caller wants all). */
  async idle(): Promise<void> {
    while (this.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private pump(): void {
    while (!this.paused && this.active.size < this.options.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.active.add(id);
      void this.run(id)
        .catch((error: unknown) => this.options.log.error({ err: error, job: id }, 'a queued photo could not be handled'))
        .finally(() => {
          this.active.delete(id);
          if (this.active.size === 0 && this.stopping) this.drained?.();
          this.pump();
        });
    }
  }

  private async run(id: string): Promise<void> {
    const files = { bin: path.join(this.dir, `${id}.bin`), json: path.join(this.dir, `${id}.json`), tries: path.join(this.dir, `${id}.tries`) };
    let meta: PhotoJobMeta | undefined;
    let bytes: Buffer;
    const started = Date.now();
    // The description's time is when the photo was accepted (its last try, after a retry).
    const accepted = await stat(files.json).then(
      (info) => info.mtimeMs,
      () => started,
    );
    const told = (outcome: PhotoJobEvent['outcome']) =>
      this.options.onJob?.({ outcome, waitSeconds: Math.max(0, started - accepted) / 1000, runSeconds: (Date.now() - started) / 1000 });
    try {
      meta = parseMeta(await readFile(files.json, 'utf8'));
      bytes = await readFile(files.bin);
    } catch (error) {
      this.options.log.error({ err: error, job: id }, 'a queued photo could not be read; it is set aside in quarantine/');
      await this.setAside(id, QUARANTINE, describeError(error));
      told('failed');
      return;
    }
    let result: IngestResult;
    try {
      result = await this.options.library.ingest(meta.group, incomingPhoto(bytes, meta));
    } catch (error) {
      told((await this.failed(id, meta, files.tries, error)) ? 'dead_letter' : 'retried');
      return;
    }
    told(result.kind);
    await rm(files.json, { force: true });
    await rm(files.bin, { force: true });
    await rm(files.tries, { force: true });
    await this.notify(meta, result);
  }

  /** Broken infrastructure (the store, a full disk): try again later, or give up into dead-letter/. */
  /** Returns true when the job has used its tries and is set aside. */
  private async failed(id: string, meta: PhotoJobMeta, triesFile: string, error: unknown): Promise<boolean> {
    const tries = (Number(await readFile(triesFile, 'utf8').catch(() => '0')) || 0) + 1;
    if (tries >= this.retry.attempts) {
      this.options.log.error({ err: error, job: id, group: meta.group, tries }, 'filing a photo kept failing; it is set aside in dead-letter/');
      await this.setAside(id, DEAD_LETTER, describeError(error));
      await this.notify(meta, { kind: 'failed' });
      return true;
    }
    const delay = retryDelay(this.retry, tries);
    this.options.log.warn({ err: error, job: id, group: meta.group, tries, retryInMs: delay }, 'filing a photo failed; it stays queued and is tried again');
    await writeAtomically(triesFile, String(tries), { durable: true }).catch(() => undefined);
    if (this.paused) return false;
    const timer = setTimeout(() => {
      this.retries.delete(id);
      this.waiting.push(id);
      this.pump();
    }, delay);
    this.retries.set(id, timer);
    return false;
  }

  /** Moves a job's files into a folder of its own, with a note of why: never deletes them. */
  private async setAside(id: string, folder: string, why: string): Promise<void> {
    const target = path.join(this.dir, folder);
    await mkdir(target, { recursive: true });
    for (const ext of ['.bin', '.json', '.tries']) {
      await rename(path.join(this.dir, `${id}${ext}`), path.join(target, `${id}${ext}`)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    }
    await writeFile(path.join(target, `${id}.why.txt`), `${why}\n`);
  }

  private async notify(meta: PhotoJobMeta, result: PhotoJobResult): Promise<void> {
    try {
      await this.handlers.get(meta.platform)?.(meta, result);
    } catch (error) {
      this.options.log.warn({ err: error, group: meta.group, reason: describeError(error) }, 'could not answer about a filed photo');
    }
  }
}

const QUARANTINE = 'quarantine';
const DEAD_LETTER = 'dead-letter';

function parseMeta(text: string): PhotoJobMeta {
  const meta = JSON.parse(text) as Partial<PhotoJobMeta> | null;
  if (!meta || typeof meta.group !== 'string' || typeof meta.platform !== 'string' || typeof meta.postedAt !== 'string' || typeof meta.source !== 'object') {
    throw new Error('the job description is incomplete');
  }
  return meta as PhotoJobMeta;
}
