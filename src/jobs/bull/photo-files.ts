import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomically } from '../../files/index.ts';
import type { PhotoJobMeta, PhotoJobResult } from '../photo-jobs.ts';

/** The names of the BullMQ queues, under the deployment's Redis prefix. */
export const PHOTOS_QUEUE = 'photos';
export const ANSWERS_QUEUE = 'answers';

/** What a photo job carries; the photo itself waits on the shared volume. */
export interface PhotoJobData {
  readonly meta: PhotoJobMeta;
  /** Tells this add from an earlier one of the same job (a redelivered update). */
  readonly token: string;
}

export interface AnswerJobData {
  readonly meta: PhotoJobMeta;
  readonly result: PhotoJobResult;
}

/**
 * A photo job's id: the group, the photo's content and the message it came in. The same update
 * delivered twice (a webhook retried, two bot processes behind one URL) is one job, so it is filed
 * and answered once; the same photo posted again in another message is a job of its own, which the
 * library answers as a duplicate.
 */
export function photoJobId(meta: PhotoJobMeta, contentHash: string): string {
  const source = Object.entries(meta.source)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `p-${createHash('sha256').update(`${meta.platform}\n${meta.group}\n${contentHash}\n${source}`).digest('hex').slice(0, 40)}`;
}

/**
 * Photos that are accepted and not yet filed, on the volume every process mounts:
 * `DATA_DIR/incoming/<job>.bin` and `<job>.json`, each written durably, the description last. They
 * are the truth of what was acknowledged: a Redis that lost its data (no append-only file, a
 * failover) is given their jobs again at the next start of a bot. A photo that cannot be filed is
 * moved to `incoming/dead-letter/` with the reason, never deleted.
 */
export class IncomingPhotos {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'incoming');
  }

  private paths(id: string) {
    if (!/^p-[0-9a-f]{40}$/.test(id)) throw new Error(`not a photo job id: ${id}`);
    return { bin: path.join(this.dir, `${id}.bin`), json: path.join(this.dir, `${id}.json`) };
  }

  async put(id: string, bytes: Uint8Array, meta: PhotoJobMeta): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const files = this.paths(id);
    await writeAtomically(files.bin, bytes, { durable: true });
    await writeAtomically(files.json, JSON.stringify(meta), { durable: true });
  }

  read(id: string): Promise<Buffer> {
    return readFile(this.paths(id).bin);
  }

  async remove(id: string): Promise<void> {
    const files = this.paths(id);
    await rm(files.json, { force: true });
    await rm(files.bin, { force: true });
  }

  /** Moves a job's files aside with a note of why, into `dead-letter/` (or `quarantine/`) for the owner to look into. */
  async setAside(id: string, why: string, folder: 'dead-letter' | 'quarantine' = 'dead-letter'): Promise<void> {
    const target = path.join(this.dir, folder);
    await mkdir(target, { recursive: true });
    for (const file of Object.values(this.paths(id))) {
      await rename(file, path.join(target, path.basename(file))).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    }
    await writeFile(path.join(target, `${id}.why.txt`), `${why}\n`);
  }

  /** Accepted photos older than `minAgeMs`, with their descriptions: the ones to check against Redis. */
  async older(minAgeMs: number): Promise<{ id: string; meta: PhotoJobMeta }[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const found: { id: string; meta: PhotoJobMeta }[] = [];
    for (const name of names.filter((n) => /^p-[0-9a-f]{40}\.json$/.test(n))) {
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info || Date.now() - info.mtimeMs < minAgeMs) continue;
      const meta = await readFile(file, 'utf8').then(
        (text) => JSON.parse(text) as PhotoJobMeta,
        () => undefined,
      );
      if (meta) found.push({ id: name.slice(0, -5), meta });
    }
    return found;
  }
}
