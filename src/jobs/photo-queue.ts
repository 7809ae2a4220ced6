import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GroupId, Log } from '../core/index.ts';
import { describeError } from '../core/index.ts';
import type { IngestResult, PhotoLibrary } from '../core/library/index.ts';

/** What a platform needs to find its way back to the message when the photo is done. */
export interface PhotoJobMeta {
  readonly platform: string;
  readonly group: GroupId;
  readonly postedBy?: string;
  readonly postedAt: string;
  readonly originalName?: string;
  /** Platform ids (chat, message, file, ...), for the reply or reaction and the record. */
  readonly source: Readonly<Record<string, string>>;
}

/** How a queued photo ended: the library's answer, or `failed` when filing threw. */
export type PhotoJobResult = IngestResult | { readonly kind: 'failed' };

export type PhotoJobHandler = (meta: PhotoJobMeta, result: PhotoJobResult) => Promise<void>;

/**
 * Photos waiting for the engine, kept on disk (`<dir>/<seq>.bin` + `.json`, written under temporary
 * names and renamed) so that a burst is never dropped and a shutdown or crash loses nothing: what
 * was accepted is processed on the next start. Jobs run `concurrency` at a time, oldest first; the
 * library serialises each group, and different groups share the engine's workers.
 */
export class PhotoQueue {
  private readonly handlers = new Map<string, PhotoJobHandler>();
  private readonly waiting: string[] = [];
  private running = 0;
  private sequence = 0;
  private stopping = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly dir: string,
    private readonly library: PhotoLibrary,
    private readonly log: Log,
    private readonly concurrency: number,
  ) {}

  /** Registers what to do when a platform's photo has been filed (react, reply). */
  onDone(platform: string, handler: PhotoJobHandler): void {
    this.handlers.set(platform, handler);
  }

  /** Picks up the jobs an earlier run left behind; call once, after `onDone` for every platform. */
  async start(): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    for (const name of names) if (name.endsWith('.partial')) await rm(path.join(this.dir, name), { force: true });
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
    this.sequence = ids.reduce((max, id) => Math.max(max, Number(id.split('-')[0]) || 0), Date.now());
    for (const id of ids) this.waiting.push(id);
    if (ids.length > 0) this.log.info({ jobs: ids.length }, 'resuming queued photos');
    this.pump();
    return ids.length;
  }

  /** Accepts a photo: once this resolves, it will be filed even if the process stops. */
  async add(bytes: Uint8Array, meta: PhotoJobMeta): Promise<void> {
    if (this.stopping) throw new Error('the photo queue is stopping');
    const id = `${String(++this.sequence).padStart(16, '0')}-${randomBytes(3).toString('hex')}`;
    await writeAtomically(path.join(this.dir, `${id}.bin`), bytes);
    // The meta file is what marks a job as queued: written last.
    await writeAtomically(path.join(this.dir, `${id}.json`), JSON.stringify(meta));
    this.waiting.push(id);
    this.pump();
  }

  /** Jobs accepted and not yet done. */
  get size(): number {
    return this.waiting.length + this.running;
  }

  /**
   * Stops taking new jobs and waits for the running ones (at most `timeoutMs`); whatever has not
   * started stays on disk for the next start.
   */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.stopping = true;
    if (this.running === 0) return;
    await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /** Resolves when every accepted job is done (tests, and shutdown when the caller wants all). */
  async idle(): Promise<void> {
    while (this.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private pump(): void {
    while (!this.stopping && this.running < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.running++;
      void this.run(id).finally(() => {
        this.running--;
        if (this.running === 0 && this.stopping) this.drained?.();
        this.pump();
      });
    }
  }

  private async run(id: string): Promise<void> {
    const files = { bin: path.join(this.dir, `${id}.bin`), json: path.join(this.dir, `${id}.json`) };
    let meta: PhotoJobMeta;
    let bytes: Buffer;
    try {
      meta = JSON.parse(await readFile(files.json, 'utf8')) as PhotoJobMeta;
      bytes = await readFile(files.bin);
    } catch (error) {
      this.log.error({ err: error, job: id }, 'a queued photo could not be read; dropping it');
      await rm(files.json, { force: true });
      await rm(files.bin, { force: true });
      return;
    }
    let result: IngestResult | { kind: 'failed' };
    try {
      result = await this.library.ingest(meta.group, {
        bytes,
        postedAt: new Date(meta.postedAt),
        source: meta.source,
        ...(meta.postedBy ? { postedBy: meta.postedBy } : {}),
        ...(meta.originalName ? { originalName: meta.originalName } : {}),
      });
    } catch (error) {
      // Broken infrastructure (the store, the disk): keep the job for the next start.
      this.log.error({ err: error, job: id, group: meta.group }, 'filing a photo failed; it stays queued');
      result = { kind: 'failed' };
      await this.notify(meta, result);
      return;
    }
    await rm(files.json, { force: true });
    await rm(files.bin, { force: true });
    await this.notify(meta, result);
  }

  private async notify(meta: PhotoJobMeta, result: IngestResult | { kind: 'failed' }): Promise<void> {
    try {
      await this.handlers.get(meta.platform)?.(meta, result);
    } catch (error) {
      this.log.warn({ err: error, group: meta.group, reason: describeError(error) }, 'could not answer about a filed photo');
    }
  }
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.partial`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}
