import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import yauzl from 'yauzl';
import { writeZip } from '../../src/albums/zip.ts';

interface ReadEntry {
  readonly name: string;
  readonly compressionMethod: number;
  readonly compressedSize: number;
  readonly date: Date;
  readonly content: Buffer;
}

/** Every entry of a zip, read back with an independent reader. */
async function readZip(file: string): Promise<ReadEntry[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  try {
    return await new Promise<ReadEntry[]>((resolve, reject) => {
      const entries: ReadEntry[] = [];
      zip.on('error', reject);
      zip.on('end', () => {
        resolve(entries);
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (error, stream) => {
          if (error) {
            reject(error);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({
              name: entry.fileName,
              compressionMethod: entry.compressionMethod,
              compressedSize: entry.compressedSize,
              date: entry.getLastModDate(),
              content: Buffer.concat(chunks),
            });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

async function jpeg(file: string, colour: { r: number; g: number; b: number }): Promise<string> {
  await sharp({ create: { width: 64, height: 48, channels: 3, background: colour } })
    .jpeg()
    .toFile(file);
  return file;
}

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-zip-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeZip', () => {
  it('GIVEN photos THEN the zip holds them under their entry names, byte for byte, stored uncompressed', async () => {
    const red = await jpeg(path.join(dir, 'red.jpg'), { r: 255, g: 0, b: 0 });
    const blue = await jpeg(path.join(dir, 'blue.jpg'), { r: 0, g: 0, b: 255 });
    // Highly compressible bytes: deflate would shrink them, so equal sizes prove the store method.
    const text = path.join(dir, 'notes.jpg');
    await writeFile(text, 'a'.repeat(10_000));
    const destination = path.join(dir, 'Anna.zip');

    const { bytes } = await writeZip(
      [
        { source: red, name: 'Anna/2024-06-01 red.jpg' },
        { source: blue, name: 'Anna/blue.jpg' },
        { source: text, name: 'notes.jpg' },
      ],
      destination,
    );

    assert.equal(bytes, (await stat(destination)).size);
    // archiver stats files concurrently, so entries may be stored in any order.
    const entries = await readZip(destination);
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.equal(entries.length, 3);
    assert.deepEqual(byName.get('Anna/2024-06-01 red.jpg')?.content, await readFile(red));
    assert.deepEqual(byName.get('Anna/blue.jpg')?.content, await readFile(blue));
    assert.deepEqual(byName.get('notes.jpg')?.content, await readFile(text));
    for (const entry of entries) {
      assert.equal(entry.compressionMethod, 0, `${entry.name} is not stored`);
      assert.equal(entry.compressedSize, entry.content.length);
    }
  });

  it('GIVEN an entry date THEN the zip records it', async () => {
    const red = await jpeg(path.join(dir, 'red.jpg'), { r: 255, g: 0, b: 0 });
    const destination = path.join(dir, 'dated.zip');
    // DOS dates have 2-second resolution and no zone: an even second, read back in local time.
    const date = new Date(2021, 4, 17, 10, 30, 42);
    await writeZip([{ source: red, name: 'red.jpg', date }], destination);
    const [entry] = await readZip(destination);
    assert.equal(entry?.date.getTime(), date.getTime());
  });

  it('GIVEN a finished zip THEN no .partial file is left beside it', async () => {
    const red = await jpeg(path.join(dir, 'red.jpg'), { r: 255, g: 0, b: 0 });
    await writeZip([{ source: red, name: 'red.jpg' }], path.join(dir, 'Anna.zip'));
    assert.deepEqual((await readdir(dir)).sort(), ['Anna.zip', 'red.jpg']);
  });

  it('GIVEN no entries THEN it writes a valid empty zip', async () => {
    const destination = path.join(dir, 'empty.zip');
    await writeZip([], destination);
    assert.deepEqual(await readZip(destination), []);
  });

  it('GIVEN an existing zip of the same name THEN it is replaced by the new one', async () => {
    const red = await jpeg(path.join(dir, 'red.jpg'), { r: 255, g: 0, b: 0 });
    const blue = await jpeg(path.join(dir, 'blue.jpg'), { r: 0, g: 0, b: 255 });
    const destination = path.join(dir, 'Anna.zip');
    await writeZip([{ source: red, name: 'red.jpg' }], destination);
    await writeZip(
      [
        { source: red, name: 'red.jpg' },
        { source: blue, name: 'blue.jpg' },
      ],
      destination,
    );
    assert.deepEqual((await readZip(destination)).map((e) => e.name).sort(), ['blue.jpg', 'red.jpg']);
  });

  it('GIVEN a source file that is missing THEN writeZip rejects and leaves neither the zip nor a partial file', async () => {
    const red = await jpeg(path.join(dir, 'red.jpg'), { r: 255, g: 0, b: 0 });
    const destination = path.join(dir, 'Anna.zip');
    await assert.rejects(
      writeZip(
        [
          { source: red, name: 'red.jpg' },
          { source: path.join(dir, 'gone.jpg'), name: 'gone.jpg' },
        ],
        destination,
      ),
      { code: 'ENOENT' },
    );
    assert.deepEqual(await readdir(dir), ['red.jpg']);
  });

  it('GIVEN a destination that is a folder THEN writeZip rejects after writing and removes its partial file', async () => {
    const red = await jpeg(path.join(dir, 'red.jpg'), { r: 255, g: 0, b: 0 });
    const destination = path.join(dir, 'Anna.zip');
    await mkdir(destination);
    await assert.rejects(writeZip([{ source: red, name: 'red.jpg' }], destination), { code: 'EISDIR' });
    assert.deepEqual((await readdir(dir)).sort(), ['Anna.zip', 'red.jpg']);
    assert.deepEqual(await readdir(destination), []);
  });

  it('GIVEN a destination folder that does not exist THEN writeZip rejects and leaves nothing behind', async () => {
    const red = await jpeg(path.join(dir, 'red.jpg'), { r: 255, g: 0, b: 0 });
    await assert.rejects(writeZip([{ source: red, name: 'red.jpg' }], path.join(dir, 'no-such-folder', 'Anna.zip')), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), ['red.jpg']);
  });
});
