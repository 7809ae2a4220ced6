import yauzl from 'yauzl';
import { crc32 } from 'node:zlib';

export interface ZipContent {
  readonly name: string;
  readonly method: number;
  readonly bytes: Buffer;
}

/** Reads every entry of a zip file back, with its compression method. */
export function readZip(file: string): Promise<ZipContent[]> {
  return entriesOf((done) => {
    yauzl.open(file, { lazyEntries: true }, done);
  });
}

/** The same for a zip held in memory (a fake store's export). */
export function readZipBytes(bytes: Buffer): Promise<ZipContent[]> {
  return entriesOf((done) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, done);
  });
}

function entriesOf(open: (done: (error: Error | null, zip: yauzl.ZipFile) => void) => void): Promise<ZipContent[]> {
  return new Promise((resolve, reject) => {
    open((error, zip) => {
      if (error) {
        reject(error);
        return;
      }
      const entries: ZipContent[] = [];
      zip.on('error', reject);
      zip.on('end', () => {
        resolve(entries);
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) {
            reject(streamError);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, method: entry.compressionMethod, bytes: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** An entry of a zip written by `storedZip`: any name, even one a careful writer would refuse. */
export interface RawZipEntry {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** A symbolic link: `bytes` is where it points. */
  readonly link?: boolean;
  /** The entry's time in MS-DOS form; 1980-01-01 00:00 when absent. */
  readonly dos?: { readonly date: number; readonly time: number };
}

/**
 * A zip of stored entries (no compression, no descriptors, no extras), written by hand so that a
 * test can make the hostile ones (`../` names, absolute paths, links) that archiver cleans up.
 */
export function storedZip(entries: readonly RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = Buffer.from(entry.bytes);
    const crc = crc32(data);
    const { date, time } = entry.dos ?? { date: (0 << 9) | (1 << 5) | 1, time: 0 };
    // Both headers carry the same run of fields: time, date, CRC, both sizes, name length.
    const fields = (header: Buffer, at: number): Buffer => {
      header.writeUInt16LE(time, at);
      header.writeUInt16LE(date, at + 2);
      header.writeUInt32LE(crc, at + 4);
      header.writeUInt32LE(data.length, at + 8);
      header.writeUInt32LE(data.length, at + 12);
      header.writeUInt16LE(name.length, at + 16);
      return header;
    };
    const local = fields(Buffer.alloc(30), 10);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names in UTF-8
    const central = fields(Buffer.alloc(46), 12);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made on Unix: the upper attributes are a mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(((entry.link ? 0o120777 : 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(ZIP_END_BYTES);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The end-of-central-directory record: a stored zip's bytes besides its entries. */
export const ZIP_END_BYTES = 22;

/**
 * The first 8 hex digits of the original's content hash that an album zip entry's name carries
 * (`<date>_<hash8>.<ext>`): the entries themselves are copies with names and dates added, so
 * their own bytes hash differently from the photo posted.
 */
export function originalHash8(entryName: string): string {
  const match = /_([0-9a-f]{8})\.[a-z0-9]+$/.exec(entryName);
  if (!match) throw new Error(`not an album entry name: ${entryName}`);
  return match[1]!;
}
