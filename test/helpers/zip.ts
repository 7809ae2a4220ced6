import yauzl from 'yauzl';

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
