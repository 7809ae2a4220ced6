import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { InputError } from '../core/index.ts';
import { inspectPath, readCapped } from '../files/index.ts';

/** A file of an export as read: its bytes, or only its size when over the limit, or not there. */
export type ExportRead = { readonly bytes: Uint8Array } | { readonly tooLarge: number } | { readonly missing: true };

/**
 * The files of a chat export, whether the export is a folder or a zip of it; paths are relative to
 * the folder that holds `marker` (`result.json`), with `/` between names. Nothing outside that
 * folder can be read: a path with `..`, an absolute one, or one through a link is refused.
 */
export interface ExportFiles {
  /** Where it is, as the user named it. */
  readonly location: string;
  read(relative: string, maxBytes: number): Promise<ExportRead>;
  /** The file's own path on this disk, checked as `read` checks it; undefined inside a zip, or when it is not there. */
  locate(relative: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Opens an export folder, or a zip of one (refused whole when any entry is unsafe). */
export async function openExportFiles(location: string, marker: string): Promise<ExportFiles> {
  return (await inspectPath(location)) === 'folder' ? openFolder(location) : openZip(location, marker);
}

/** A relative path that stays inside its folder, or undefined: no `..`, not absolute, no backslashes. */
export function safeRelative(relative: string): string | undefined {
  if (relative === '' || relative.includes('\\') || relative.includes('\0') || /^[a-zA-Z]:/.test(relative) || relative.startsWith('/')) return undefined;
  const parts = relative.split('/');
  return parts.includes('..') ? undefined : parts.filter((p) => p !== '' && p !== '.').join('/');
}

async function openFolder(location: string): Promise<ExportFiles> {
  const root = await realpath(location);
  // A link could point anywhere on the disk: an export holds none, so one is not followed.
  const plainFile = async (relative: string): Promise<string | undefined> => {
    const safe = safeRelative(relative);
    if (safe === undefined) return undefined;
    const file = path.join(root, ...safe.split('/'));
    try {
      return (await lstat(file)).isFile() ? file : undefined;
    } catch (error) {
      if (isGone(error)) return undefined;
      throw error;
    }
  };
  return {
    location,
    async read(relative, maxBytes) {
      const file = await plainFile(relative);
      if (file === undefined) return { missing: true };
      try {
        return await readCapped(file, maxBytes);
      } catch (error) {
        if (isGone(error)) return { missing: true };
        throw error;
      }
    },
    locate: plainFile,
    close: () => Promise.resolve(),
  };
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * A zip is read in place, entry by entry (an export of years of photos may be many gigabytes).
 * Every entry is checked before anything is used: one with `../`, an absolute path or a link
 * refuses the whole zip, since whoever made it meant it to write somewhere else.
 */
async function openZip(location: string, marker: string): Promise<ExportFiles> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(location, { lazyEntries: true, autoClose: false, decodeStrings: true, strictFileNames: false });
  } catch (error) {
    throw new InputError(location, `not a zip file, nor a folder (${(error as Error).message})`, { cause: error });
  }
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) throw unsafe(location, `${name} is a link`);
      if (name.endsWith('/')) continue;
      entries.set(name, entry);
    }
  } catch (error) {
    zip.close();
    if (error instanceof InputError) throw error;
    // yauzl checks each name itself (absolute paths, `..`, backslashes) and stops at the first bad one.
    const message = (error as Error).message;
    if (/absolute path|invalid relative path|invalid characters in fileName/.test(message)) throw unsafe(location, message);
    throw new InputError(location, `the zip cannot be read (${message})`, { cause: error });
  }
  // The export's folder inside the zip: where the shallowest marker is (zips often hold the folder itself).
  const markers = [...entries.keys()]
    .filter((name) => name === marker || name.endsWith(`/${marker}`))
    .sort((a, b) => a.split('/').length - b.split('/').length);
  const base = markers[0]?.slice(0, -marker.length) ?? '';
  return {
    location,
    async read(relative, maxBytes) {
      const safe = safeRelative(relative);
      const entry = safe === undefined ? undefined : entries.get(base + safe);
      if (!entry) return { missing: true };
      if (entry.uncompressedSize > maxBytes) return { tooLarge: entry.uncompressedSize };
      return { bytes: await readAll(await zip.openReadStreamPromise(entry)) };
    },
    locate: () => Promise.resolve(undefined),
    close: () => Promise.resolve(zip.close()),
  };
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unsafe(location: string, why: string): InputError {
  return new InputError(
    location,
    `refused: the zip has an entry that would land outside the export (${why}); unpack it yourself and check it, or export again`,
  );
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
