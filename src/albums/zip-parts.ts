import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ZipPart } from '../core/index.ts';
import type { ZipEntry } from './zip.ts';
import { writeZip } from './zip.ts';
import { errorCode, isFile } from './fs.ts';

/** A file to put into one of several zips: its size decides which. */
export interface PartEntry extends ZipEntry {
  readonly bytes: number;
}

/** Estimates the bytes one entry adds to a zip, from its name's and data's length in bytes. */
export type EntryEstimate = (nameBytes: number, dataBytes: number) => number;

/** Bytes of a zip besides its entries: the end record, and room for ZIP64's end records. */
export const ARCHIVE_OVERHEAD = 22 + 56 + 20;

/**
 * Local header (30) + data descriptor (16, 24 with ZIP64) + central header (46, +28 for a ZIP64
 * extra), the name twice and the data. Counting ZIP64's extras keeps the estimate above what
 * archiver writes whichever it chooses.
 */
export const estimateEntryBytes: EntryEstimate = (nameBytes, dataBytes) => dataBytes + 2 * nameBytes + 30 + 24 + 46 + 28;

/** No store-method zip holding just this entry can be smaller: no descriptor, no extras. */
function smallestZipOf(entry: PartEntry): number {
  return 22 + 30 + 46 + 2 * Buffer.byteLength(entry.name) + entry.bytes;
}

/** Which entries go into which zip, from their sizes alone. */
export interface PartPlan<T extends PartEntry> {
  readonly parts: T[][];
  /** Entries that cannot fit in a zip under the limit even alone. */
  readonly tooLarge: T[];
}

/** Groups `entries`, in their order, into as few zips of at most `maxPartBytes` as a greedy pass gives. */
export function planZipParts<T extends PartEntry>(entries: readonly T[], maxPartBytes: number, estimate: EntryEstimate = estimateEntryBytes): PartPlan<T> {
  if (!Number.isSafeInteger(maxPartBytes) || maxPartBytes <= 0) throw new RangeError(`maxPartBytes must be a positive integer, not ${maxPartBytes}`);
  const tooLarge: T[] = [];
  const parts: T[][] = [];
  let current: T[] = [];
  let size = ARCHIVE_OVERHEAD;
  for (const entry of entries) {
    if (smallestZipOf(entry) > maxPartBytes) {
      tooLarge.push(entry);
      continue;
    }
    const added = estimate(Buffer.byteLength(entry.name), entry.bytes);
    if (current.length > 0 && size + added > maxPartBytes) {
      parts.push(current);
      current = [];
      size = ARCHIVE_OVERHEAD;
    }
    // An entry that the estimate says is too big alone may still fit exactly: it gets its own
    // part, and the measurement decides.
    current.push(entry);
    size += added;
  }
  if (current.length > 0) parts.push(current);
  return { parts, tooLarge };
}

export interface ZipPartsOptions<T extends PartEntry = PartEntry> {
  /** Where the zips are written; nothing else should write there. */
  readonly dir: string;
  readonly maxPartBytes: number;
  /** The file name of part `index` (1-based) of `count`. */
  readonly fileName: (index: number, count: number) => string;
  /** Replaceable so that tests can make the plan too optimistic and see the parts re-split. */
  readonly estimate?: EntryEstimate;
  /**
   * Gives the files to zip for a part's entries, one per entry in order (tagged copies, say), and
   * how to remove them once the part is written. Without it the entries' own files are zipped.
   */
  readonly stage?: PartStage<T>;
}

/** See `ZipPartsOptions.stage`. A file gone before it could be staged is an ENOENT error. */
export type PartStage<T extends PartEntry> = (entries: readonly T[]) => Promise<{ readonly files: readonly ZipEntry[]; done(): Promise<void> }>;

/** Zip parts planned up front and written one at a time, as they are asked for. */
export interface ZipParts<T extends PartEntry> {
  /** How many parts the plan gives before any is written. */
  readonly planned: number;
  /** Iterate once: see `zipParts`. */
  readonly parts: AsyncIterable<ZipPart>;
  /** Entries too large even alone: from the plan, then those found so when written. Album order once `parts` is done. */
  readonly tooLarge: readonly T[];
  /** Entries whose file was gone when their part was written. */
  readonly missing: readonly T[];
}

/**
 * Plans `entries` into zips of at most `maxPartBytes` (see `planZipParts`), then writes each only
 * when the consumer asks for it, after deleting the one before: one part on disk at a time, however
 * large the album. The plan is an estimate; each written zip is measured, and one that came out too
 * large is split in two and written again, so no part yielded is ever over the limit.
 *
 * A part's name counts the parts known when it is written: a split adds one to the parts after
 * it, and a part whose files are all gone drops out. Entries whose file is gone (taken out of the
 * album since the list was made) are skipped and listed in `missing`.
 */
export function zipParts<T extends PartEntry>(entries: readonly T[], options: ZipPartsOptions<T>): ZipParts<T> {
  const { dir, maxPartBytes, fileName, estimate = estimateEntryBytes, stage } = options;
  const { parts: plan, tooLarge } = planZipParts(entries, maxPartBytes, estimate);
  const missing: T[] = [];
  const planned = plan.length;
  const order = new Map(entries.map((entry, i) => [entry, i]));

  /** The entries whose file is still there; the others go to `missing`. */
  const present = async (part: readonly T[]): Promise<T[]> => {
    const kept: T[] = [];
    for (const entry of part) {
      if (await isFile(entry.source)) kept.push(entry);
      else missing.push(entry);
    }
    return kept;
  };

  /** Writes the part's entries still present; undefined when none is left. */
  const write = async (part: readonly T[], target: string): Promise<{ bytes: number; entries: T[] } | undefined> => {
    let current = await present(part);
    while (current.length > 0) {
      try {
        if (!stage) return { ...(await writeZip(current, target)), entries: current };
        const staged = await stage(current);
        try {
          return { ...(await writeZip(staged.files, target)), entries: current };
        } finally {
          await staged.done();
        }
      } catch (error) {
        // A file unlinked between the check and archiver's read: check again and write the rest.
        if (errorCode(error) !== 'ENOENT') throw error;
        const still = await present(current);
        if (still.length === current.length) throw error;
        current = still;
      }
    }
    return undefined;
  };

  async function* build(): AsyncGenerator<ZipPart> {
    let sent = 0;
    let serial = 0;
    let previous: string | undefined;
    try {
      while (plan.length > 0) {
        const part = plan.shift()!;
        if (previous !== undefined) await rm(previous, { force: true });
        previous = undefined;
        // Temporary names start with a dot; the final names come from a safe title, which never does.
        const target = path.join(dir, `.part-${++serial}.zip`);
        const written = await write(part, target);
        if (!written) continue;
        if (written.bytes > maxPartBytes) {
          await rm(target, { force: true });
          if (written.entries.length === 1) tooLarge.push(written.entries[0]!);
          else {
            const half = Math.ceil(written.entries.length / 2);
            plan.unshift(written.entries.slice(0, half), written.entries.slice(half));
          }
          continue;
        }
        const name = fileName(sent + 1, sent + 1 + plan.length);
        previous = path.join(dir, name);
        await rename(target, previous);
        sent++;
        yield { path: previous, bytes: written.bytes, photos: written.entries.length, fileName: name };
      }
    } finally {
      if (previous !== undefined) await rm(previous, { force: true });
      // Entries found too large only when written are put back in album order.
      tooLarge.sort((a, b) => order.get(a)! - order.get(b)!);
    }
  }

  return { planned, parts: build(), tooLarge, missing };
}
