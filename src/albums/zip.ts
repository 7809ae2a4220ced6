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
