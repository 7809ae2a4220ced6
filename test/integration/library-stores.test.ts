import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Keyv } from 'keyv';
import { galleryStoreContract, awkwardEmbedding } from '../contracts/gallery-store.contract.ts';
import { auditLogContract } from '../contracts/audit-log.contract.ts';
import { photoStoreContract } from '../contracts/photo-store.contract.ts';
import { settingsStoreContract } from '../contracts/settings-store.contract.ts';
import { MemoryGalleryStore, MemoryPhotoStore, MemorySettingsStore } from '../fakes/memory-library-stores.ts';
import { encodeEmbedding } from '../../src/storage/index.ts';
import type { KeyvSqliteFile } from '../../src/storage/legacy/index.ts';
import {
  KeyvGalleryStore,
  KeyvPhotoStore,
  KeyvSettingsStore,
  SQLITE_FILE,
  closeKeyv,
  compact,
  connectKeyv,
  openKeyv,
  KeyvAuditLog,
} from '../../src/storage/legacy/index.ts';
import type { Person, PhotoRecord } from '../../src/core/index.ts';
import { ConfigError, StorageError } from '../../src/core/index.ts';

const folders: string[] = [];
const connections: Keyv<unknown>[] = [];
after(async () => {
  // A connection that never opened (the corrupt file) fails to close too: nothing to release then.
  for (const keyv of connections) await closeKeyv(keyv).catch(() => undefined);
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-library-'));
  folders.push(dir);
  return dir;
}

function open(dir: string): Keyv<unknown> {
  const keyv = openKeyv<unknown>(dir, 'library');
  connections.push(keyv);
  return keyv;
}

/** The three stores on one SQLite connection, as main.ts wires them. */
async function sqliteStores(dir?: string) {
  const folder = dir ?? (await tempDir());
  const keyv = open(folder);
  return { dir: folder, keyv, gallery: new KeyvGalleryStore(keyv), photos: new KeyvPhotoStore(keyv), settings: new KeyvSettingsStore(keyv) };
}

galleryStoreContract('MemoryGalleryStore (fake)', () => Promise.resolve(new MemoryGalleryStore()));
galleryStoreContract('KeyvGalleryStore on SQLite', async () => (await sqliteStores()).gallery);
photoStoreContract('MemoryPhotoStore (fake)', () => Promise.resolve(new MemoryPhotoStore()));
settingsStoreContract('MemorySettingsStore (fake)', () => Promise.resolve(new MemorySettingsStore()));
settingsStoreContract('KeyvSettingsStore on SQLite', async () => (await sqliteStores()).settings);
auditLogContract('KeyvAuditLog on SQLite', async (kept) => new KeyvAuditLog((await sqliteStores()).keyv, kept));

const hash = (n: number) => n.toString(16).padStart(64, '0');

const person = (id: string, seed: number): Person => ({
  id,
  name: `Person ${id}`,
  folder: `Person_${id}`,
  samples: [{ embedding: awkwardEmbedding(seed), photoHash: hash(seed), addedAt: '2024-05-01T00:00:00.000Z' }],
  rejected: [],
  createdAt: '2024-05-01T00:00:00.000Z',
});

const photo = (n: number): PhotoRecord => ({
  hash: hash(n),
  ext: 'jpg',
  bytes: 1000,
  postedAt: '2024-05-01T00:00:00.000Z',
  faces: [{ box: { x: 1, y: 2, width: 50, height: 60 }, score: 0.9, eyeDistance: 20, embedding: awkwardEmbedding(n), seenAt: '2024-05-01T00:00:00.000Z' }],
});

async function fileHolds(dir: string, text: string): Promise<boolean> {
  return (await readFile(path.join(dir, SQLITE_FILE))).includes(Buffer.from(text));
}

describe('Library stores on SQLite', () => {
  it('GIVEN a database file that is not SQLite THEN opening it fails with StorageError, never an empty store that looks like "not found"', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, SQLITE_FILE), 'this is not a database '.repeat(100));
    await assert.rejects(sqliteStores(dir), StorageError);
  });

  it('GIVEN a closed connection THEN the stores fail with StorageError', async () => {
    const { keyv, gallery, settings } = await sqliteStores();
    await gallery.save('g', person('p1', 1));
    await closeKeyv(keyv);
    await assert.rejects(gallery.list('g'), StorageError);
    await assert.rejects(settings.get('g'), StorageError);
  });

  it('GIVEN a person deleted and the database compacted THEN the file no longer holds their embedding', async () => {
    const { dir, keyv, gallery } = await sqliteStores();
    const anna = person('anna', 31);
    const embedding = encodeEmbedding(anna.samples[0]!.embedding);
    await gallery.save('g', anna);
    await gallery.save('g', person('bob', 32));
    assert.ok(await fileHolds(dir, embedding), 'the test looks for the bytes where SQLite writes them');
    await gallery.delete('g', 'anna');
    await compact(keyv);
    assert.equal(await fileHolds(dir, embedding), false);
    assert.equal((await gallery.list('g')).length, 1);
  });

  it('GIVEN a person and a photo deleted THEN secure_delete has zeroed their embeddings even before compacting', async () => {
    const { dir, gallery, photos } = await sqliteStores();
    const anna = person('anna', 41);
    const face = photo(42);
    await gallery.save('g', anna);
    await photos.save('g', face);
    await photos.save('g', photo(43));
    const secrets = [encodeEmbedding(anna.samples[0]!.embedding), encodeEmbedding(face.faces[0]!.embedding!)];
    for (const secret of secrets) assert.ok(await fileHolds(dir, secret));
    await gallery.delete('g', 'anna');
    await photos.delete('g', face.hash);
    for (const secret of secrets) assert.equal(await fileHolds(dir, secret), false);
  });

  it('GIVEN a record saved as one changes THEN the file no longer holds the replaced embedding', async () => {
    const { dir, gallery } = await sqliteStores();
    const before = person('anna', 51);
    await gallery.save('g', before);
    await gallery.save('g', { ...before, samples: [] });
    assert.equal(await fileHolds(dir, encodeEmbedding(before.samples[0]!.embedding)), false);
  });

  it('GIVEN the stores closed and opened again THEN everything saved is still there', async () => {
    const first = await sqliteStores();
    await first.gallery.save('g', person('p1', 1));
    await first.photos.save('g', photo(2));
    await first.settings.save('g', { threshold: 0.45, replyMode: 'summary' });
    await closeKeyv(first.keyv);
    const again = await sqliteStores(first.dir);
    assert.deepEqual(
      (await again.gallery.list('g')).map((p) => p.id),
      ['p1'],
    );
    assert.deepEqual(
      (await again.photos.list('g')).map((r) => r.hash),
      [hash(2)],
    );
    assert.deepEqual(await again.settings.get('g'), { threshold: 0.45, replyMode: 'summary' });
  });

  // The next tests reach under the stores with the documented key layout, `<group>/<kind>[/<id>]`,
  // to stage what a crash or a second process would leave behind.

  it('GIVEN an index entry whose record is gone THEN list skips it and rebuildIndex drops it', async () => {
    const { keyv, photos } = await sqliteStores();
    await photos.save('tg:1', photo(1));
    await photos.save('tg:1', photo(2));
    await keyv.delete(`tg%3A1/photo/${hash(1)}`);
    assert.deepEqual(
      (await photos.list('tg:1')).map((r) => r.hash),
      [hash(2)],
    );
    assert.deepEqual(await photos.rebuildIndex('tg:1', []), { added: 0, dropped: 1 });
    assert.deepEqual(await keyv.get('tg%3A1/photos'), [hash(2)]);
  });

  it('GIVEN a record the index lost (two processes raced) THEN get still finds it and rebuildIndex brings it back to list', async () => {
    const { keyv, photos } = await sqliteStores();
    await photos.save('tg:1', photo(1));
    await photos.save('tg:1', photo(2));
    await keyv.set('tg%3A1/photos', [hash(2)]);
    assert.deepEqual(
      (await photos.list('tg:1')).map((r) => r.hash),
      [hash(2)],
    );
    assert.equal((await photos.get('tg:1', hash(1)))?.hash, hash(1));
    assert.deepEqual(await photos.rebuildIndex('tg:1', [hash(1), hash(2), hash(3)]), { added: 1, dropped: 0 });
    assert.deepEqual((await photos.list('tg:1')).map((r) => r.hash).sort(), [hash(1), hash(2)]);
    assert.deepEqual(await photos.rebuildIndex('tg:1', [hash(1)]), { added: 0, dropped: 0 });
  });

  it('GIVEN a save or delete cut short between its two writes THEN no record is left that list cannot see', async () => {
    // A Map store that fails the writes named, standing in for a crash at that point.
    const failing = new Set<string>();
    class FaultyMap extends Map<string, unknown> {
      override set(key: string, value: unknown): this {
        if ([...failing].some((part) => key.includes(part))) throw new Error('simulated crash');
        return super.set(key, value);
      }
      override delete(key: string): boolean {
        if ([...failing].some((part) => key.includes(part))) throw new Error('simulated crash');
        return super.delete(key);
      }
    }
    const keyv = new Keyv<unknown>({ store: new FaultyMap(), throwOnErrors: true });
    const photos = new KeyvPhotoStore(keyv);
    await photos.save('g', photo(1));

    failing.add('g/photos');
    await assert.rejects(photos.save('g', photo(2)), StorageError);
    assert.equal(await photos.get('g', hash(2)), undefined, 'the record waits for its index entry');
    await assert.rejects(photos.delete('g', hash(1)), StorageError);
    assert.equal(await photos.get('g', hash(1)), undefined, 'the record goes before its index entry');

    failing.clear();
    failing.add(`g/photo/${hash(3)}`);
    await assert.rejects(photos.save('g', photo(3)), StorageError);
    assert.deepEqual(await photos.list('g'), [], 'index entries without a record are skipped');
    failing.clear();
    await photos.save('g', photo(3));
    assert.deepEqual(
      (await photos.list('g')).map((r) => r.hash),
      [hash(3)],
    );
  });

  it('GIVEN every record of a group deleted THEN no key of the group is left', async () => {
    const { keyv, gallery, photos } = await sqliteStores();
    await gallery.save('g', person('p1', 1));
    await photos.save('g', photo(1));
    await gallery.delete('g', 'p1');
    await photos.delete('g', hash(1));
    assert.equal((keyv.store as KeyvSqliteFile).count(), 0);
  });

  it('GIVEN a stored record that does not parse THEN get and list fail with StorageError, not a half-read record', async () => {
    const { keyv, photos, gallery, settings } = await sqliteStores();
    await photos.save('g', photo(1));
    await keyv.set(`g/photo/${hash(1)}`, { hash: hash(1), faces: 'none' });
    await assert.rejects(photos.get('g', hash(1)), StorageError);
    await assert.rejects(photos.list('g'), StorageError);
    await gallery.save('g', person('p1', 1));
    await keyv.set('g/person/p1', { ...person('p1', 1), samples: [{ embedding: 'AAAAAAA', addedAt: 'x' }] });
    await assert.rejects(gallery.list('g'), StorageError);
    await keyv.set('g/settings', { threshold: 0.4, replyMode: 'loud' });
    await assert.rejects(settings.get('g'), StorageError);
  });

  it('GIVEN a keyv that swallows errors THEN the stores refuse it at construction', () => {
    const lenient = new Keyv<unknown>();
    assert.throws(() => new KeyvGalleryStore(lenient), TypeError);
    assert.throws(() => new KeyvPhotoStore(lenient), TypeError);
    assert.throws(() => new KeyvSettingsStore(lenient), TypeError);
  });
});

describe('connectKeyv', () => {
  it('GIVEN no KEYV_URL THEN the data goes to facefile.sqlite in the data folder', async () => {
    const dir = path.join(await tempDir(), 'data');
    const keyv = await connectKeyv({ dataDir: dir, url: '' }, 'library');
    connections.push(keyv);
    await new KeyvSettingsStore(keyv).save('g', { threshold: 0.4, replyMode: 'quiet' });
    await access(path.join(dir, SQLITE_FILE));
  });

  it('GIVEN a sqlite:// KEYV_URL THEN the data goes to that file, with secure deletion on', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'elsewhere', 'db.sqlite');
    const keyv = await connectKeyv({ dataDir: path.join(dir, 'unused'), url: `sqlite://${file}` }, 'library');
    connections.push(keyv);
    const gallery = new KeyvGalleryStore(keyv);
    const anna = person('anna', 61);
    await gallery.save('g', anna);
    assert.ok((await readFile(file)).includes(encodeEmbedding(anna.samples[0]!.embedding)));
    await gallery.delete('g', 'anna');
    assert.equal((await readFile(file)).includes(encodeEmbedding(anna.samples[0]!.embedding)), false);
  });

  it('GIVEN a redis:// KEYV_URL without @keyv/redis installed THEN ConfigError names the package and not the password', async () => {
    const error = await connectKeyv({ dataDir: await tempDir(), url: 'redis://facefile:s3cret-pw@localhost:6379' }, 'library').then(
      () => assert.fail('connected without @keyv/redis'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /@keyv\/redis/);
    assert.match(error.message, /npm install @keyv\/redis/);
    assert.doesNotMatch(error.message, /s3cret/);
  });

  it('GIVEN KEYV_URL with an unknown scheme or no scheme THEN ConfigError lists the schemes, without the URL', async () => {
    const dataDir = await tempDir();
    for (const url of ['ftp://user:s3cret@host/db', 'localhost:6379']) {
      await assert.rejects(connectKeyv({ dataDir, url }, 'library'), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /redis:\/\//);
        assert.doesNotMatch(e.message, /s3cret|localhost/);
        return true;
      });
    }
  });
});
