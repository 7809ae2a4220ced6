import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExifTool, type WriteTags } from 'exiftool-vendored';
import type { PhotoTagger, PhotoTags } from '../core/index.ts';
import { mwgRegionInfo, type StoredGeometry } from './mwg-regions.ts';

export interface ExifToolTaggerOptions {
  /** The decoder's largest side: face boxes are in pixels of the photo scaled to fit it. */
  readonly decodedMaxSide: number;
  /** exiftool processes kept running; each is a Perl interpreter of some 30 MB. */
  readonly processes?: number;
}

/**
 * What exiftool says when it reads a file but will not write it: a format it cannot write (BMP,
 * some RAW files, ...), or a name that says another format than the bytes (a PNG saved as .jpg,
 * as web downloads often are: "Not a valid JPG (looks more like a PNG)"). Such a copy keeps its
 * bytes and gets a sidecar.
 */
const CANNOT_WRITE = /not yet supported|can't currently write|isn't currently supported|not supported for|writing of .* is not supported|looks more like an? /i;
/** Formats whose EXIF block exiftool writes; elsewhere (GIF) the date goes into XMP only. */
const EXIF_FORMATS = new Set(['JPEG', 'TIFF', 'PNG', 'WEBP', 'HEIC', 'HEIF', 'AVIF']);

interface PhotoFacts {
  readonly geometry?: StoredGeometry;
  readonly fileType: string;
  readonly hasDate: boolean;
}

/**
 * `PhotoTagger` on exiftool (through exiftool-vendored), which knows every format's rules for where
 * XMP and EXIF go; a home-made writer would not. exiftool runs as a long-lived Perl process started
 * at the first photo (a run that hands out nothing starts none); `close` ends it, and a process that
 * forgets to leaves Node waiting on its pipes.
 */
export class ExifToolTagger implements PhotoTagger {
  private exiftool: ExifTool | undefined;
  private closed = false;

  constructor(private readonly options: ExifToolTaggerOptions) {
    if (!(options.decodedMaxSide > 0)) throw new RangeError(`decodedMaxSide must be positive, not ${options.decodedMaxSide}`);
  }

  async embed(file: string, tags: PhotoTags): Promise<boolean> {
    const facts = await this.facts(file);
    const written = this.tagsFor(tags, facts, EXIF_FORMATS.has(facts.fileType));
    if (Object.keys(written).length === 0) return true;
    try {
      await this.tool().write(file, written, { writeArgs: ['-overwrite_original'] });
      return true;
    } catch (error) {
      if (error instanceof Error && CANNOT_WRITE.test(error.message)) return false;
      throw error;
    }
  }

  async sidecar(photo: string, target: string, tags: PhotoTags): Promise<boolean> {
    const written = this.tagsFor(tags, await this.facts(photo), false);
    if (Object.keys(written).length === 0) return false;
    // exiftool makes a new XMP file from the name's extension; written beside and renamed, so a
    // crash never leaves half a sidecar under the real name.
    const temporary = path.join(path.dirname(target), `.${randomBytes(6).toString('hex')}.xmp`);
    try {
      await this.tool().write(temporary, written, { writeArgs: ['-overwrite_original'] });
      await rename(temporary, target);
      return true;
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const exiftool = this.exiftool;
    this.exiftool = undefined;
    await exiftool?.end();
  }

  private tool(): ExifTool {
    if (this.closed) throw new Error('the photo tagger is closed');
    // One process by default: writing is short work beside decoding and recognition, and the
    // machine's cores are the engine's.
    this.exiftool ??= new ExifTool({ maxProcs: this.options.processes ?? 1, taskTimeoutMillis: 60_000 });
    return this.exiftool;
  }

  /** The stored pixel size and orientation, the format, and whether the photo has a capture date of its own. */
  private async facts(file: string): Promise<PhotoFacts> {
    const raw = await this.tool().readRaw<Record<string, unknown>>(file, {
      readArgs: ['-fast', '-n', '-FileType', '-ImageWidth', '-ImageHeight', '-Orientation', '-DateTimeOriginal', '-CreateDate', '-DateCreated'],
    });
    const width = Number(raw.ImageWidth);
    const height = Number(raw.ImageHeight);
    const orientation = Number(raw.Orientation ?? 1);
    const geometry =
      Number.isFinite(width) && width > 0 && Number.isFinite(height) && height > 0
        ? { width, height, orientation: Number.isInteger(orientation) && orientation >= 1 && orientation <= 8 ? orientation : 1 }
        : undefined;
    const hasDate = [raw.DateTimeOriginal, raw.CreateDate, raw.DateCreated].some((d) => typeof d === 'string' && /^\d{4}/.test(d) && !d.startsWith('0000'));
    return { ...(geometry ? { geometry } : {}), fileType: typeof raw.FileType === 'string' ? raw.FileType.toUpperCase() : '', hasDate };
  }

  /** The tags to write: the named faces' regions, and the fallback date unless the photo has its own. */
  private tagsFor(tags: PhotoTags, facts: PhotoFacts, exif: boolean): WriteTags {
    const written: Record<string, unknown> = {};
    if (tags.faces.length > 0 && facts.geometry) written.RegionInfo = mwgRegionInfo(tags.faces, facts.geometry, this.options.decodedMaxSide);
    const date = !facts.hasDate && tags.fallbackDate !== undefined ? exifDate(tags.fallbackDate) : undefined;
    if (date) {
      written['XMP-exif:DateTimeOriginal'] = `${date}+00:00`;
      written['XMP-photoshop:DateCreated'] = `${date}+00:00`;
      if (exif) {
        written['EXIF:DateTimeOriginal'] = date;
        written['EXIF:OffsetTimeOriginal'] = '+00:00';
      }
    }
    return written;
  }
}

/** An ISO date as EXIF writes it, in UTC: `YYYY:MM:DD HH:MM:SS`; undefined for a date that is not one. */
function exifDate(iso: string): string | undefined {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  const text = date.toISOString(); // 2024-01-02T03:04:05.000Z
  return `${text.slice(0, 4)}:${text.slice(5, 7)}:${text.slice(8, 10)} ${text.slice(11, 19)}`;
}
