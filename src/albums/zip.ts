import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { ZipArchive } from 'archiver';

export interface ZipEntry {
  /** The file on disk to store. */
  readonly source: string;
  /** The entry's name inside the zip. */
  readonly name: string;
  readonly date?: Date;
}

/**
 * Writes a zip of `entries` to `destination`, streamed from disk, with the store method (photos are
 * already compressed: deflate would cost CPU for nothing). Written to a temporary name first and
 * renamed, so a crash never leaves a half zip under the real name.
 */
export async function writeZip(entries: readonly ZipEntry[], destination: string): Promise<{ bytes: number }> {
  const temporary = `${destination}.${randomBytes(4).toString('hex')}.partial`;
  // One file stat at a time keeps the entries in the order given.
  const zip = new ZipArchive({ store: true, statConcurrency: 1 });
  for (const entry of entries) zip.file(entry.source, { name: entry.name, ...(entry.date ? { date: entry.date } : {}) });
  // archiver reports a source file that vanished (or is not a regular file) as a mere warning and
  // leaves it out; an album missing a photo is a failure here.
  const warned = new Promise<never>((_, reject) => zip.on('warning', reject));
  try {
    await Promise.race([Promise.all([pipeline(zip, createWriteStream(temporary, { flags: 'wx' })), zip.finalize()]), warned]);
    await rename(temporary, destination);
    return { bytes: zip.pointer() };
  } catch (error) {
    zip.abort();
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Files to zip next, and how to release them once they are in the zip (tagged copies, say). */
export interface ZipBatch {
  readonly files: readonly ZipEntry[];
  done(): Promise<void>;
}

/**
 * Streams one zip to `out` as its batches come (store method), never holding more than one batch
 * staged: the next is asked for once archiver has read every file of the one before, which it
 * does only as fast as `out` takes the bytes. Ends `out`. Rejects when `out` fails or closes first
 * (a download cancelled) or a file cannot be read, with the batch in hand released.
 */
export async function streamZip(batches: AsyncIterable<ZipBatch>, out: NodeJS.WritableStream): Promise<{ bytes: number; files: number }> {
  const zip = new ZipArchive({ store: true, statConcurrency: 1 });
  let read = 0;
  let wake = (): void => undefined;
  zip.on('entry', () => {
    read++;
    wake();
  });
  const allRead = (count: number) =>
    new Promise<void>((resolve) => {
      wake = () => (read >= count ? resolve() : undefined);
      wake();
    });
  // A file archiver could not read, or `out` failing or closing first (the pipeline rejects):
  // raced at every wait, never left unhandled.
  const failed = new Promise<never>((_, reject) => {
    zip.on('warning', reject);
    zip.on('error', reject);
  });
  const sent = pipeline(zip, out);
  failed.catch(() => undefined);
  sent.catch(() => undefined);
  let appended = 0;
  try {
    for await (const batch of batches) {
      try {
        for (const file of batch.files) zip.file(file.source, { name: file.name, ...(file.date ? { date: file.date } : {}) });
        appended += batch.files.length;
        await Promise.race([allRead(appended), failed, sent]);
      } finally {
        await batch.done();
      }
    }
    await Promise.race([Promise.all([sent, zip.finalize()]), failed]);
    return { bytes: zip.pointer(), files: appended };
  } catch (error) {
    zip.abort();
    throw error;
  }
}
