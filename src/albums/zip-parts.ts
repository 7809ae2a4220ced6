import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ZipPart } from '../core/index.ts';
import type { ZipEntry } from './zip.ts';
import { writeZip } from './zip.ts';

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

export interface ZipPartsOptions {
  /** Where the zips are written; nothing else should write there. */
  readonly dir: string;
  readonly maxPartBytes: number;
  /** The file name of part `index` (1-based) of `count`. */
  readonly fileName: (index: number, count: number) => string;
  /** Replaceable so that tests can make the plan too optimistic and see the parts re-split. */
  readonly estimate?: EntryEstimate;
}

export interface ZipParts<T extends PartEntry> {
  readonly parts: ZipPart[];
  /** Entries that cannot fit in a zip under the limit even alone. */
  readonly tooLarge: T[];
}

/**
 * Writes `entries`, in their order, into as few zips as a greedy plan gives, each at most
 * `maxPartBytes` on disk. The plan is an estimate; each written zip is measured, and one that came
 * out too large is split in two and written again, so no part returned is ever over the limit.
 */
export async function writeZipParts<T extends PartEntry>(entries: readonly T[], options: ZipPartsOptions): Promise<ZipParts<T>> {
  const { dir, maxPartBytes, fileName, estimate = estimateEntryBytes } = options;
  if (!Number.isSafeInteger(maxPartBytes) || maxPartBytes <= 0) throw new RangeError(`maxPartBytes must be a positive integer, not ${maxPartBytes}`);
  const tooLarge: T[] = [];
  const plan: T[][] = [];
  let current: T[] = [];
  let size = ARCHIVE_OVERHEAD;
  for (const entry of entries) {
    if (smallestZipOf(entry) > maxPartBytes) {
      tooLarge.push(entry);
      continue;
    }
    const added = estimate(Buffer.byteLength(entry.name), entry.bytes);
    if (current.length > 0 && size + added > maxPartBytes) {
      plan.push(current);
      current = [];
      size = ARCHIVE_OVERHEAD;
    }
    // An entry that the estimate says is too big alone may still fit exactly: it gets its own
    // part, and the measurement below decides.
    current.push(entry);
    size += added;
  }
  if (current.length > 0) plan.push(current);

  const written: { path: string; bytes: number; entries: T[] }[] = [];
  let serial = 0;
  while (plan.length > 0) {
    const part = plan.shift()!;
    // Temporary names start with a dot; the final names come from a safe title, which never does.
    const target = path.join(dir, `.part-${++serial}.zip`);
    const { bytes } = await writeZip(part, target);
    if (bytes <= maxPartBytes) {
      written.push({ path: target, bytes, entries: part });
      continue;
    }
    await rm(target, { force: true });
    if (part.length === 1) {
      tooLarge.push(part[0]!);
      continue;
    }
    const half = Math.ceil(part.length / 2);
    plan.unshift(part.slice(0, half), part.slice(half));
  }

  // Entries found too large only when written are put back in album order.
  tooLarge.sort((a, b) => entries.indexOf(a) - entries.indexOf(b));
  const parts: ZipPart[] = [];
  for (const [index, part] of written.entries()) {
    const name = fileName(index + 1, written.length);
    const finalPath = path.join(dir, name);
    await rename(part.path, finalPath);
    parts.push({ path: finalPath, bytes: part.bytes, photos: part.entries.length, fileName: name });
  }
  return { parts, tooLarge };
}
