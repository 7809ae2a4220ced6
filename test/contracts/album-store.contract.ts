import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { AlbumExport, AlbumStore, PhotoRecord, PhotoRef, RepairReport, ZipPart } from '../../src/core/index.ts';
import { POSTS, NO_DATASETS } from '../helpers/datasets.ts';
import { readZipBytes } from '../helpers/zip.ts';

const A = 'tg:-1001234567';
const B = 'dc:8765';

interface Photo {
  readonly ref: PhotoRef;
  readonly bytes: Buffer;
}

function photo(bytes: Buffer, date: string, ext = 'jpg'): Photo {
  return { ref: { hash: createHash('sha256').update(bytes).digest('hex'), ext, date }, bytes };
}

/** A made-up photo: random bytes, so every one has its own hash. */
function fake(date = '2024-06-01T12:00:00Z', size = 1000, ext = 'jpg'): Photo {
  return photo(randomBytes(size), date, ext);
}

function record(p: Photo, extra: Partial<PhotoRecord> = {}): PhotoRecord {
  return { hash: p.ref.hash, ext: p.ref.ext, bytes: p.bytes.length, postedAt: p.ref.date, faces: [], ...extra };
}

async function stored(store: AlbumStore, group: string, ...photos: Photo[]): Promise<void> {
  for (const p of photos) await store.storeOriginal(group, p.ref, p.bytes);
}

/** Six photos of 20 KB on six days in Anna's album of group A: three parts of two under a 50 KB limit. */
async function sixPhotosOfAnna(store: AlbumStore): Promise<Photo[]> {
  const photos = Array.from({ length: 6 }, (_, i) => fake(`2024-01-0${i + 1}T00:00:00Z`, 20_000));
  await stored(store, A, ...photos);
  for (const p of photos) await store.link(A, 'Anna', p.ref);
  return photos;
}

const ZERO = { temporaryFilesRemoved: 0, orphanOriginalsRemoved: 0, albumLinksRestored: 0, strayAlbumFilesRemoved: 0 };

/** The report without its list, to compare with ZERO. */
function counts(report: RepairReport): typeof ZERO {
  const { temporaryFilesRemoved, orphanOriginalsRemoved, albumLinksRestored, strayAlbumFilesRemoved } = report;
  return { temporaryFilesRemoved, orphanOriginalsRemoved, albumLinksRestored, strayAlbumFilesRemoved };
}

/** A store under test, and how to read the files it names by path (album entries, zip parts). */
export interface AlbumStoreFixture {
  readonly store: AlbumStore;
  /** The file's bytes; rejects with code ENOENT when there is none. */
  readonly read: (path: string) => Promise<Buffer>;
  /** The paths of the export files that exist now (zips and their half-written forms), sorted. */
  readonly exports: () => Promise<string[]>;
}

interface Sent {
  readonly part: ZipPart;
  readonly bytes: Buffer;
}

/**
 * Takes the parts one by one as the bot does, reading each as it comes: each must then be the only
 * export file there is, and none may be left after the last.
 */
async function collect(fixture: AlbumStoreFixture, result: AlbumExport): Promise<Sent[]> {
  const sent: Sent[] = [];
  for await (const part of result.parts) {
    assert.deepEqual(await fixture.exports(), [part.path], `${part.fileName}: one part at a time`);
    sent.push({ part, bytes: await fixture.read(part.path) });
  }
  assert.deepEqual(await fixture.exports(), [], 'the last part is deleted when the iteration ends');
  return sent;
}

/** A download as a server sees it: takes the bytes; with `closeAfter`, the client goes away once that many came. */
class Collect extends Writable {
  private readonly chunks: Buffer[] = [];
  private received = 0;

  constructor(private readonly closeAfter = Infinity) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.received > this.closeAfter) {
      callback();
      this.destroy();
      return;
    }
    callback();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** What every `AlbumStore` must do. `create` gives a new, empty store each time. */
export function albumStoreContract(name: string, create: () => Promise<AlbumStoreFixture>): void {
  describe(`AlbumStore contract: ${name}`, () => {
    describe('originals', () => {
      it('GIVEN an original stored THEN it is there and reads back byte for byte', async () => {
        const { store } = await create();
        const p = fake();
        assert.equal(await store.hasOriginal(A, p.ref), false);
        await store.storeOriginal(A, p.ref, p.bytes);
        assert.equal(await store.hasOriginal(A, p.ref), true);
        assert.deepEqual(await store.readOriginal(A, p.ref), p.bytes);
      });

      it('GIVEN the same hash stored twice THEN the second call changes nothing', async () => {
        const { store } = await create();
        const p = fake();
        await store.storeOriginal(A, p.ref, p.bytes);
        await store.storeOriginal(A, p.ref, Buffer.from('other bytes'));
        assert.deepEqual(await store.readOriginal(A, p.ref), p.bytes);
      });

      it('GIVEN an original deleted THEN it is gone, and deleting again is fine', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.deleteOriginal(A, p.ref);
        assert.equal(await store.hasOriginal(A, p.ref), false);
        await store.deleteOriginal(A, p.ref);
      });

      it('GIVEN previews of some of 100 photos WHEN the previews of 90 are deleted at once THEN exactly theirs are gone, and a group with none is no error', async () => {
        const { store } = await create();
        const photos = Array.from({ length: 100 }, () => fake());
        await stored(store, A, ...photos);
        await store.deletePreviews(
          A,
          photos.map((p) => p.ref.hash),
        );
        const withPreviews = photos.filter((_, i) => i % 3 === 0);
        for (const p of withPreviews) await store.storePreview(A, p.ref.hash, 'thumb', Buffer.from(p.ref.hash));
        await store.storePreview(B, photos[0]!.ref.hash, 'thumb', Buffer.from('other group'));
        await store.deletePreviews(
          A,
          photos.slice(0, 90).map((p) => p.ref.hash),
        );
        const left = [];
        for (const p of withPreviews) if (await store.readPreview(A, p.ref.hash, 'thumb')) left.push(p.ref.hash);
        assert.deepEqual(
          left,
          withPreviews.filter((p) => photos.indexOf(p) >= 90).map((p) => p.ref.hash),
        );
        assert.deepEqual(await store.readPreview(B, photos[0]!.ref.hash, 'thumb'), Buffer.from('other group'), "another group's stay");
        await store.deletePreviews(
          'tg:-1009999999',
          photos.map((p) => p.ref.hash),
        );
      });

      it('GIVEN previews of a photo THEN they read back by key, and deleting the original or its previews removes every one', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        assert.equal(await store.readPreview(A, p.ref.hash, 'thumb'), undefined);
        await store.storePreview(A, p.ref.hash, 'thumb', Buffer.from('small'));
        await store.storePreview(A, p.ref.hash, 'thumb-person-1', Buffer.from('around'));
        assert.deepEqual(await store.readPreview(A, p.ref.hash, 'thumb'), Buffer.from('small'));
        assert.equal(await store.readPreview(B, p.ref.hash, 'thumb'), undefined, 'another group never sees them');
        await store.deletePreviews(A, [p.ref.hash]);
        assert.equal(await store.readPreview(A, p.ref.hash, 'thumb'), undefined);
        await store.storePreview(A, p.ref.hash, 'thumb', Buffer.from('small'));
        await store.deleteOriginal(A, p.ref);
        assert.equal(await store.readPreview(A, p.ref.hash, 'thumb'), undefined);
        assert.equal(await store.readPreview(A, p.ref.hash, 'thumb-person-1'), undefined);
      });

      it('GIVEN a preview key or hash with a path in it THEN it is refused', async () => {
        const { store } = await create();
        const p = fake();
        for (const key of ['../x', 'a/b', 'UPPER', '', 'x'.repeat(81)])
          await assert.rejects(store.storePreview(A, p.ref.hash, key, Buffer.from('x')), RangeError, key);
        await assert.rejects(store.readPreview(A, '../../etc', 'thumb'), RangeError);
      });

      it('GIVEN a missing original THEN reading it rejects (it never reads as empty)', async () => {
        const { store } = await create();
        await assert.rejects(store.readOriginal(A, fake().ref));
      });
    });

    describe('albums', () => {
      it('GIVEN a photo linked THEN the album lists it as <UTC date>_<hash8>.<ext> with its size and hash', async () => {
        const { store, read } = await create();
        const p = fake('2024-06-01T23:30:05+02:00', 1234, 'png');
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        const entries = await store.list(A, 'Anna');
        assert.equal(entries.length, 1);
        const [entry] = entries;
        assert.ok(entry);
        assert.equal(entry.name, `2024-06-01_213005_${p.ref.hash.slice(0, 8)}.png`);
        assert.equal(entry.bytes, 1234);
        assert.equal(entry.hash, p.ref.hash);
        assert.deepEqual(await read(entry.path), p.bytes);
      });

      it('GIVEN a photo linked twice THEN it is in the album once', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        await store.link(A, 'Anna', p.ref);
        assert.equal((await store.list(A, 'Anna')).length, 1);
      });

      it('GIVEN photos of several dates THEN the album lists them in date order', async () => {
        const { store } = await create();
        const photos = [fake('2023-01-02T00:00:00Z'), fake('2021-12-31T23:59:59Z'), fake('2022-06-15T10:00:00Z')];
        await stored(store, A, ...photos);
        for (const p of photos) await store.link(A, 'Anna', p.ref);
        const names = (await store.list(A, 'Anna')).map((e) => e.name.slice(0, 17));
        assert.deepEqual(names, ['2021-12-31_235959', '2022-06-15_100000', '2023-01-02_000000']);
      });

      it('GIVEN a photo unlinked THEN the album no longer lists it, the original stays, and unlinking again is fine', async () => {
        const { store } = await create();
        const [p, q] = [fake(), fake()];
        await stored(store, A, p, q);
        await store.link(A, 'Anna', p.ref);
        await store.link(A, 'Anna', q.ref);
        await store.unlink(A, 'Anna', p.ref);
        await store.unlink(A, 'Anna', p.ref);
        assert.deepEqual(
          (await store.list(A, 'Anna')).map((e) => e.hash),
          [q.ref.hash],
        );
        assert.equal(await store.hasOriginal(A, p.ref), true);
      });

      it('GIVEN an album removed THEN it lists nothing, other albums and the originals stay', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        await store.link(A, 'Bob', p.ref);
        await store.removeAlbum(A, 'Anna');
        await store.removeAlbum(A, 'Anna');
        assert.deepEqual(await store.list(A, 'Anna'), []);
        assert.equal((await store.list(A, 'Bob')).length, 1);
        assert.equal(await store.hasOriginal(A, p.ref), true);
      });

      it('GIVEN an album never filed into THEN it lists nothing', async () => {
        assert.deepEqual(await (await create()).store.list(A, 'Nobody'), []);
      });

      it('GIVEN a photo whose original was deleted THEN its album entry still reads (it is a link, not a pointer)', async () => {
        const { store, read } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        await store.deleteOriginal(A, p.ref);
        const [entry] = await store.list(A, 'Anna');
        assert.deepEqual(await read(entry!.path), p.bytes);
      });

      it('GIVEN a link to a photo never stored THEN it rejects, and the album stays empty', async () => {
        const { store } = await create();
        await assert.rejects(store.link(A, 'Anna', fake().ref));
        assert.deepEqual(await store.list(A, 'Anna'), []);
      });
    });

    describe('disk usage', () => {
      it('GIVEN originals linked into several albums THEN only the originals count', async () => {
        const { store } = await create();
        const [p, q] = [fake(undefined, 1000), fake(undefined, 2500)];
        assert.equal(await store.diskUsage(A), 0);
        await stored(store, A, p, q);
        for (const folder of ['Anna', 'Bob', 'Cleo']) {
          await store.link(A, folder, p.ref);
          await store.link(A, folder, q.ref);
        }
        assert.equal(await store.diskUsage(A), 3500);
        assert.equal(await store.diskUsage(B), 0);
      });

      it('GIVEN an album entry whose original was deleted THEN its bytes still count, once', async () => {
        const { store } = await create();
        const p = fake(undefined, 1000);
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        await store.link(A, 'Bob', p.ref);
        await store.deleteOriginal(A, p.ref);
        assert.equal(await store.diskUsage(A), 1000);
      });
    });

    describe('export', () => {
      it('GIVEN a small album THEN one part named "<title>.zip" holding every photo, stored', async () => {
        const fixture = await create();
        const { store } = fixture;
        const photos = [fake('2024-01-01T00:00:00Z'), fake('2024-01-02T00:00:00Z')];
        await stored(store, A, ...photos);
        for (const p of photos) await store.link(A, 'Anna', p.ref);
        const result = await store.export(A, 'Anna', 'Anna', 10_000_000);
        try {
          assert.equal(result.plannedParts, 1);
          const sent = await collect(fixture, result);
          assert.equal(sent.length, 1);
          const [{ part, bytes }] = sent as [Sent];
          assert.equal(part.fileName, 'Anna.zip');
          assert.equal(part.photos, 2);
          assert.equal(part.bytes, bytes.length);
          const entries = await readZipBytes(bytes);
          assert.deepEqual(
            entries.map((e) => e.name),
            (await store.list(A, 'Anna')).map((e) => e.name),
          );
          for (const e of entries) assert.equal(e.method, 0);
          assert.deepEqual(result.tooLarge, []);
          assert.deepEqual(result.skipped, []);
        } finally {
          await result.dispose();
        }
      });

      it('GIVEN some entries of the album THEN the zip holds just those', async () => {
        const fixture = await create();
        const { store } = fixture;
        const photos = [fake('2024-01-01T00:00:00Z'), fake('2024-01-02T00:00:00Z'), fake('2024-01-03T00:00:00Z')];
        await stored(store, A, ...photos);
        for (const p of photos) await store.link(A, 'Anna', p.ref);
        const wanted = (await store.list(A, 'Anna')).filter((e) => e.hash !== photos[1]!.ref.hash);
        const result = await store.export(A, 'Anna', 'Anna', 10_000_000, wanted);
        try {
          const sent = await collect(fixture, result);
          assert.equal(sent.length, 1);
          assert.deepEqual(
            (await readZipBytes(sent[0]!.bytes)).map((e) => e.name),
            wanted.map((e) => e.name),
          );
        } finally {
          await result.dispose();
        }
      });

      it('GIVEN entries of the album streamed THEN one whole zip of them, in their order, byte for byte; one unlinked since is left out and listed', async () => {
        const fixture = await create();
        const { store } = fixture;
        const photos = Array.from({ length: 45 }, (_, i) => fake(`2024-02-${String((i % 28) + 1).padStart(2, '0')}T0${i % 10}:00:00Z`, 3000));
        await stored(store, A, ...photos);
        for (const p of photos) await store.link(A, 'Anna', p.ref);
        const entries = (await store.list(A, 'Anna')).reverse();
        const gone = entries[30]!;
        await store.unlink(A, 'Anna', photos.find((p) => p.ref.hash.startsWith(gone.hash.slice(0, 8)))!.ref);
        const out = new Collect();
        const result = await store.streamZip(A, 'Anna', entries, out);
        assert.equal(result.photos, 44);
        assert.deepEqual(
          result.skipped.map((e) => e.name),
          [gone.name],
        );
        const zipped = await readZipBytes(out.bytes());
        assert.deepEqual(
          zipped.map((e) => e.name),
          entries.filter((e) => e !== gone).map((e) => e.name),
        );
        for (const e of zipped) {
          assert.equal(e.method, 0);
          assert.deepEqual(e.bytes, photos.find((p) => p.ref.hash.startsWith(e.name.slice(18, 26)))!.bytes);
        }
        assert.deepEqual(await fixture.exports(), [], 'nothing left behind');
        await assert.rejects(store.streamZip(A, 'Anna', [{ ...entries[0]!, path: `${entries[0]!.path}/../../Ben/x.jpg` }], new Collect()), RangeError);
      });

      it('GIVEN a download closed in the middle THEN streamZip rejects and leaves nothing behind', async () => {
        const fixture = await create();
        const { store } = fixture;
        const photos = Array.from({ length: 60 }, (_, i) => fake(`2024-03-01T00:${String(i).padStart(2, '0')}:00Z`, 20_000));
        await stored(store, A, ...photos);
        for (const p of photos) await store.link(A, 'Anna', p.ref);
        const out = new Collect(50_000);
        await assert.rejects(store.streamZip(A, 'Anna', await store.list(A, 'Anna'), out));
        assert.deepEqual(await fixture.exports(), []);
      });

      it("GIVEN entries that are not this album's THEN export rejects with RangeError", async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        await store.link(A, 'Ben', p.ref);
        const bens = await store.list(A, 'Ben');
        await assert.rejects(store.export(A, 'Anna', 'Anna', 10_000_000, bens), RangeError);
        const [entry] = await store.list(A, 'Anna');
        await assert.rejects(store.export(A, 'Anna', 'Anna', 10_000_000, [{ ...entry!, path: `${entry!.path}/../../Ben/${entry!.name}` }]), RangeError);
      });

      it('GIVEN a title with unsafe characters THEN the zip name is made safe', async () => {
        const fixture = await create();
        const { store } = fixture;
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        const result = await store.export(A, 'Anna', '../../Anna/Maria\0', 10_000_000);
        try {
          assert.equal((await collect(fixture, result))[0]?.part.fileName, '_.._Anna_Maria.zip');
        } finally {
          await result.dispose();
        }
      });

      it('GIVEN an empty album THEN no parts and nothing too large', async () => {
        const fixture = await create();
        const result = await fixture.store.export(A, 'Nobody', 'Nobody', 1_000_000);
        assert.equal(result.plannedParts, 0);
        assert.deepEqual(await collect(fixture, result), []);
        assert.deepEqual(result.tooLarge, []);
        await result.dispose();
        assert.deepEqual(await fixture.exports(), []);
      });

      it(
        'GIVEN real photos and a small limit THEN 3+ parts as planned, built one at a time, each complete and under the limit, together the album once, in date order; the photo over the limit is listed as too large',
        { skip: NO_DATASETS },
        async () => {
          const fixture = await create();
          const { store, read } = fixture;
          const files = [
            'bbt1.jpg',
            'bbt2.jpg',
            'bbt3.jpg',
            'bbt4.jpg',
            'bbt5.jpg',
            'obama-720p.jpg',
            'johnsnow_test1.jpg',
            'obama-1080p.jpg',
            'obama_partial_face.jpg',
            'obama_and_biden.jpg',
            'obama_32bit_rgba.png',
          ];
          const photos: Photo[] = [];
          for (const [i, file] of files.entries()) {
            const day = String(i + 1).padStart(2, '0');
            photos.push(photo(await readFile(path.join(POSTS, file)), `2023-03-${day}T08:15:00Z`, path.extname(file).slice(1)));
          }
          await stored(store, A, ...photos);
          for (const p of photos) await store.link(A, 'Anna', p.ref);
          const album = await store.list(A, 'Anna');
          const limit = 800_000;

          const result = await store.export(A, 'Anna', 'Anna', limit);
          try {
            const big = photos.at(-1)!;
            const sent = await collect(fixture, result);
            assert.deepEqual(
              result.tooLarge.map((e) => e.hash),
              [big.ref.hash],
            );
            assert.ok(sent.length >= 3, `${sent.length} parts`);
            assert.equal(result.plannedParts, sent.length);
            const seen: string[] = [];
            for (const [i, { part, bytes }] of sent.entries()) {
              assert.equal(part.fileName, `Anna (part ${i + 1} of ${sent.length}).zip`);
              assert.equal(part.bytes, bytes.length);
              assert.ok(bytes.length <= limit, `${part.fileName} is ${bytes.length} bytes`);
              const entries = await readZipBytes(bytes);
              assert.equal(part.photos, entries.length);
              for (const entry of entries) {
                assert.equal(entry.method, 0, `${entry.name} is not stored`);
                const original = album.find((e) => e.name === entry.name);
                assert.ok(original, `${entry.name} is not in the album`);
                assert.deepEqual(entry.bytes, await read(original.path));
                seen.push(entry.name);
              }
            }
            assert.deepEqual(
              seen,
              album.filter((e) => e.hash !== big.ref.hash).map((e) => e.name),
            );
          } finally {
            await result.dispose();
          }
        },
      );

      it('GIVEN photos taken out of the album after the export was planned THEN they are skipped, the rest is sent, and a part left with none is dropped', async () => {
        const fixture = await create();
        const { store } = fixture;
        const photos = await sixPhotosOfAnna(store);
        const result = await store.export(A, 'Anna', 'Anna', 50_000);
        try {
          assert.equal(result.plannedParts, 3);
          // After the snapshot: one photo forgotten from the middle part, both of the last, one added.
          for (const gone of [photos[2]!, photos[4]!, photos[5]!]) await store.unlink(A, 'Anna', gone.ref);
          const late = fake('2024-01-09T00:00:00Z', 20_000);
          await stored(store, A, late);
          await store.link(A, 'Anna', late.ref);
          const sent = await collect(fixture, result);
          const names = (await Promise.all(sent.map(({ bytes }) => readZipBytes(bytes)))).flat().map((e) => e.name);
          const kept = [photos[0]!, photos[1]!, photos[3]!].map((p) => p.ref.hash.slice(0, 8));
          assert.deepEqual(
            names.map((n) => n.slice(18, 26)),
            kept,
          );
          assert.deepEqual(
            sent.map((s) => s.part.photos),
            [2, 1],
          );
          assert.deepEqual(
            sent.map((s) => s.part.fileName),
            ['Anna (part 1 of 3).zip', 'Anna (part 2 of 3).zip'],
          );
          assert.deepEqual(result.skipped.map((e) => e.hash).sort(), [photos[2]!, photos[4]!, photos[5]!].map((p) => p.ref.hash).sort());
        } finally {
          await result.dispose();
        }
      });

      it('GIVEN the consumer stops after the first part, or fails to send it THEN nothing is left once disposed', async () => {
        const fixture = await create();
        const { store } = fixture;
        await sixPhotosOfAnna(store);
        const stopped = await store.export(A, 'Anna', 'Anna', 50_000);
        for await (const part of stopped.parts) {
          assert.deepEqual(await fixture.exports(), [part.path]);
          break;
        }
        await stopped.dispose();
        assert.deepEqual(await fixture.exports(), []);

        const failed = await store.export(A, 'Anna', 'Anna', 50_000);
        const upload = async (): Promise<void> => {
          for await (const part of failed.parts) if (part.fileName.includes('part 2')) throw new Error('upload failed');
        };
        await assert.rejects(upload(), /upload failed/);
        await failed.dispose();
        assert.deepEqual(await fixture.exports(), []);

        const never = await store.export(A, 'Anna', 'Anna', 50_000);
        await never.dispose();
        assert.deepEqual(await fixture.exports(), []);
      });

      it('GIVEN two exports of the same album at once THEN their files are distinct and each is whole', async () => {
        const { store, read } = await create();
        await sixPhotosOfAnna(store);
        const [first, second] = await Promise.all([store.export(A, 'Anna', 'Anna', 50_000), store.export(A, 'Anna', 'Anna', 50_000)]);
        try {
          const paths: string[] = [];
          const names = async (result: AlbumExport): Promise<string[]> => {
            const found: string[] = [];
            for await (const part of result.parts) {
              paths.push(part.path);
              found.push(...(await readZipBytes(await read(part.path))).map((e) => e.name));
            }
            return found;
          };
          const [a, b] = await Promise.all([names(first), names(second)]);
          assert.equal(a.length, 6);
          assert.deepEqual(b, a);
          assert.equal(new Set(paths).size, paths.length);
        } finally {
          await first.dispose();
          await second.dispose();
        }
      });
    });

    describe('isolation', () => {
      it("GIVEN group A's originals and albums THEN group B sees none of them", async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        assert.equal(await store.hasOriginal(B, p.ref), false);
        assert.deepEqual(await store.list(B, 'Anna'), []);
        await store.removeAlbum(B, 'Anna');
        await store.deleteOriginal(B, p.ref);
        assert.equal((await store.list(A, 'Anna')).length, 1);
        assert.equal(await store.hasOriginal(A, p.ref), true);
      });

      it('GIVEN group ids a naive replacement would merge ("tg:1" and "tg_1", "a/b" and "a_b") THEN they stay apart', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, 'tg:1', p);
        await stored(store, 'a/b', p);
        assert.equal(await store.hasOriginal('tg_1', p.ref), false);
        assert.equal(await store.hasOriginal('a_b', p.ref), false);
        assert.deepEqual(await store.groups(), ['a/b', 'tg:1']);
      });

      it('GIVEN hostile group ids ("../x", "a/b", "..") THEN they are just groups of their own', async () => {
        const { store } = await create();
        const p = fake();
        for (const group of ['../x', '..', '/etc']) {
          await stored(store, group, p);
          await store.link(group, 'Anna', p.ref);
        }
        assert.deepEqual(await store.groups(), ['..', '../x', '/etc']);
        assert.equal(await store.hasOriginal('x', p.ref), false);
      });

      it('GIVEN unsafe album folder names THEN every operation rejects with RangeError', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        const hostile = ['../Anna', '../../x', '/tmp/x', 'a/b', 'a\0b', 'CON', 'nul.txt', '', '.', '..', ' Anna', 'Anna.', 'x'.repeat(101), 'a\\b', 'C:x'];
        for (const folder of hostile) {
          const label = JSON.stringify(folder);
          await assert.rejects(store.link(A, folder, p.ref), RangeError, label);
          await assert.rejects(store.unlink(A, folder, p.ref), RangeError, label);
          await assert.rejects(store.list(A, folder), RangeError, label);
          await assert.rejects(store.removeAlbum(A, folder), RangeError, label);
          await assert.rejects(store.export(A, folder, 'x', 1_000_000), RangeError, label);
          await assert.rejects(store.repair(A, [], new Map([[folder, []]])), RangeError, label);
        }
        assert.deepEqual(await store.groups(), [A]);
      });

      it('GIVEN a hash or extension that is not one THEN every operation rejects with RangeError', async () => {
        const { store } = await create();
        const good = fake().ref;
        const bad: PhotoRef[] = [
          { ...good, hash: '../../../etc/passwd' },
          { ...good, hash: good.hash.toUpperCase() },
          { ...good, hash: good.hash.slice(1) },
          { ...good, ext: '../x' },
          { ...good, ext: 'JPG' },
          { ...good, ext: 'jpg\0' },
          { ...good, ext: '' },
          { ...good, ext: 'toolong' },
          { ...good, date: 'not a date' },
        ];
        for (const ref of bad) {
          const label = JSON.stringify(ref);
          await assert.rejects(store.link(A, 'Anna', ref), RangeError, label);
          await assert.rejects(store.unlink(A, 'Anna', ref), RangeError, label);
          if (ref.date !== good.date) continue;
          await assert.rejects(store.storeOriginal(A, ref, Buffer.from('x')), RangeError, label);
          await assert.rejects(store.readOriginal(A, ref), RangeError, label);
          await assert.rejects(store.hasOriginal(A, ref), RangeError, label);
          await assert.rejects(store.deleteOriginal(A, ref), RangeError, label);
        }
        assert.deepEqual(await store.groups(), []);
      });

      it('GIVEN an empty group id THEN it is rejected with RangeError', async () => {
        const { store } = await create();
        await assert.rejects(store.storeOriginal('', fake().ref, Buffer.from('x')), RangeError);
        await assert.rejects(store.list('', 'Anna'), RangeError);
      });

      it('GIVEN a bad part size THEN export rejects with RangeError', async () => {
        const { store } = await create();
        for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) await assert.rejects(store.export(A, 'Anna', 'Anna', size), RangeError);
      });
    });

    describe('leftover exports', () => {
      it('GIVEN an export never disposed (the process died while sending it) WHEN exports are cleared THEN its zips are gone', async () => {
        const { store, read, exports } = await create();
        const photo = fake();
        await stored(store, A, photo);
        await store.link(A, 'Anna', photo.ref);
        const result = await store.export(A, 'Anna', 'Anna', 10_000_000);
        const first = await result.parts[Symbol.asyncIterator]().next();
        assert.ok(!first.done);
        const part = first.value;
        await read(part.path);
        await store.clearExports();
        await assert.rejects(read(part.path));
        assert.deepEqual(await exports(), []);
        assert.equal((await store.list(A, 'Anna')).length, 1, 'the album itself is untouched');
      });
    });

    describe('moving and removing a group', () => {
      it('GIVEN a group WHEN it moves to a new id THEN its originals and albums are there, merged with what the new id had, and the old id is gone', async () => {
        const { store, read } = await create();
        const [old1, both, new1] = [fake('2024-01-01T00:00:00Z'), fake('2024-01-02T00:00:00Z'), fake('2024-01-03T00:00:00Z')];
        await stored(store, A, old1, both);
        for (const p of [old1, both]) await store.link(A, 'Anna', p.ref);
        await stored(store, B, both, new1);
        await store.link(B, 'Anna', new1.ref);
        await store.moveGroup(A, B);
        assert.deepEqual(await store.groups(), [B]);
        const entries = await store.list(B, 'Anna');
        assert.deepEqual(entries.map((e) => e.hash).sort(), [old1, both, new1].map((p) => p.ref.hash).sort());
        for (const e of entries) assert.ok((await read(e.path)).length > 0);
        assert.equal(await store.hasOriginal(B, old1.ref), true);
        assert.equal(await store.hasOriginal(A, old1.ref), false);
        await store.moveGroup('tg:never', B);
      });

      it('GIVEN a group removed THEN none of its files remain and other groups are untouched', async () => {
        const { store } = await create();
        const photo = fake();
        await stored(store, A, photo);
        await store.link(A, 'Anna', photo.ref);
        await stored(store, B, photo);
        await store.removeGroup(A);
        assert.deepEqual(await store.groups(), [B]);
        assert.deepEqual(await store.list(A, 'Anna'), []);
        assert.equal(await store.hasOriginal(B, photo.ref), true);
        await store.removeGroup(A);
      });
    });

    describe('groups', () => {
      it('GIVEN nothing stored THEN no groups; after storing THEN the groups written to, sorted', async () => {
        const { store } = await create();
        assert.deepEqual(await store.groups(), []);
        const p = fake();
        await stored(store, B, p);
        await stored(store, A, p);
        assert.deepEqual(await store.groups(), [B, A].sort());
      });
    });

    describe('repair', () => {
      it('GIVEN files in line with the records THEN repair changes nothing', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        const report = await store.repair(A, [record(p)], new Map([['Anna', [p.ref.hash]]]));
        assert.deepEqual(counts(report), ZERO);
        assert.deepEqual(report.recordsWithoutOriginal, []);
      });

      it('GIVEN an original no record names THEN it is removed; its album links too', async () => {
        const { store } = await create();
        const [kept, orphan] = [fake(), fake()];
        await stored(store, A, kept, orphan);
        await store.link(A, 'Anna', kept.ref);
        await store.link(A, 'Anna', orphan.ref);
        const report = await store.repair(A, [record(kept)], new Map([['Anna', [kept.ref.hash]]]));
        assert.deepEqual(counts(report), { ...ZERO, orphanOriginalsRemoved: 1, strayAlbumFilesRemoved: 1 });
        assert.equal(await store.hasOriginal(A, orphan.ref), false);
        assert.equal(await store.hasOriginal(A, kept.ref), true);
        assert.deepEqual(
          (await store.list(A, 'Anna')).map((e) => e.hash),
          [kept.ref.hash],
        );
      });

      it('GIVEN an album link missing THEN it is restored, dated by takenAt when known', async () => {
        const { store } = await create();
        const [p, q] = [fake('2024-05-05T05:05:05Z'), fake('2024-05-06T00:00:00Z')];
        await stored(store, A, p, q);
        const records = [record(p, { takenAt: '2020-01-02T03:04:05Z' }), record(q)];
        const report = await store.repair(A, records, new Map([['Anna', [p.ref.hash, q.ref.hash]]]));
        assert.deepEqual(counts(report), { ...ZERO, albumLinksRestored: 2 });
        assert.deepEqual(
          (await store.list(A, 'Anna')).map((e) => e.name),
          [`2020-01-02_030405_${p.ref.hash.slice(0, 8)}.jpg`, `2024-05-06_000000_${q.ref.hash.slice(0, 8)}.jpg`],
        );
      });

      it('GIVEN an album file of a photo not expected in that album THEN it is removed, and the emptied album with it', async () => {
        const { store } = await create();
        const p = fake();
        await stored(store, A, p);
        await store.link(A, 'Anna', p.ref);
        await store.link(A, 'Bob', p.ref);
        const report = await store.repair(A, [record(p)], new Map([['Anna', [p.ref.hash]]]));
        assert.deepEqual(counts(report), { ...ZERO, strayAlbumFilesRemoved: 1 });
        assert.deepEqual(await store.list(A, 'Bob'), []);
        assert.equal((await store.list(A, 'Anna')).length, 1);
      });

      it('GIVEN a record whose original is missing THEN it is listed, nothing is invented, and its album file is kept', async () => {
        const { store } = await create();
        const [p, gone, never] = [fake(), fake(), fake()];
        await stored(store, A, p, gone);
        await store.link(A, 'Anna', gone.ref);
        await store.deleteOriginal(A, gone.ref);
        const report = await store.repair(A, [record(p), record(gone), record(never)], new Map([['Anna', [gone.ref.hash, never.ref.hash]]]));
        assert.deepEqual(counts(report), ZERO);
        assert.deepEqual([...report.recordsWithoutOriginal].sort(), [gone.ref.hash, never.ref.hash].sort());
        assert.equal((await store.list(A, 'Anna')).length, 1);
      });

      it('GIVEN a mess of every kind THEN repair fixes it, and a second repair finds nothing to do', async () => {
        const { store } = await create();
        const [p, q, orphan, gone] = [fake('2024-01-01T00:00:00Z'), fake('2024-01-02T00:00:00Z'), fake(), fake()];
        await stored(store, A, p, q, orphan);
        await store.link(A, 'Anna', p.ref);
        await store.link(A, 'Bob', q.ref);
        await store.link(A, 'Cleo', orphan.ref);
        const records = [record(p), record(q), record(gone)];
        const albums = new Map([
          ['Anna', [p.ref.hash, q.ref.hash]],
          ['Bob', []],
        ]);
        const first = await store.repair(A, records, albums);
        assert.deepEqual(counts(first), { ...ZERO, orphanOriginalsRemoved: 1, albumLinksRestored: 1, strayAlbumFilesRemoved: 2 });
        assert.deepEqual(first.recordsWithoutOriginal, [gone.ref.hash]);
        const second = await store.repair(A, records, albums);
        assert.deepEqual(counts(second), ZERO);
        assert.deepEqual(second.recordsWithoutOriginal, [gone.ref.hash]);
        assert.deepEqual(
          (await store.list(A, 'Anna')).map((e) => e.hash),
          [p.ref.hash, q.ref.hash],
        );
        assert.deepEqual(await store.list(A, 'Bob'), []);
        assert.deepEqual(await store.list(A, 'Cleo'), []);
      });

      it('GIVEN a group with no folder THEN repair reports the records as missing and creates nothing', async () => {
        const { store } = await create();
        const p = fake();
        const report = await store.repair(B, [record(p)], new Map([['Anna', [p.ref.hash]]]));
        assert.deepEqual(counts(report), ZERO);
        assert.deepEqual(report.recordsWithoutOriginal, [p.ref.hash]);
        assert.deepEqual(await store.groups(), []);
      });
    });
  });
}
