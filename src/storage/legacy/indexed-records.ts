import type { Keyv } from 'keyv';
import { z } from 'zod';
import type { GroupId } from '../../core/index.ts';
import { KeyedSerialQueue, StorageError } from '../../core/index.ts';
import { storageCall } from '../storage-call.ts';

export { storageCall };

/**
 * The key of a group's record: `<group>/<part>/<part>...`, each part escaped with
 * encodeURIComponent so that no part holds a separator ("a:b" and "a" + ":b" never meet, nor do
 * "a/b" and "a" + "/b"). No key contains ":" either, which matters: keyv leaves keys that already
 * start with "<namespace>:" unprefixed in `get` but prefixes them in `getMany`.
 */
export function groupKey(group: GroupId, ...parts: readonly string[]): string {
  return [group, ...parts].map(escapePart).join('/');
}

function escapePart(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch (cause) {
    // Only strings with a lone surrogate fail; ids come from platforms and hashes, so this is a bug.
    throw new TypeError('a store key part is not well-formed Unicode', { cause });
  }
}

/** Asserts at construction what every store relies on (grammY-style: options checked at once). */
export function requireThrowingKeyv<T>(keyv: Keyv<T>): Keyv<T> {
  if (!keyv.throwOnErrors) {
    throw new TypeError('the keyv given to a store must be opened with throwOnErrors (see openKeyv), or failures read as "not found"');
  }
  return keyv;
}

/** How a kind of record is turned into stored JSON and back; `decode` throws on a bad record. */
export interface RecordCodec<T> {
  encode(value: T): unknown;
  decode(stored: unknown): T;
}

export interface IndexedRecordsNames {
  /** The key part of each record: `<group>/<record>/<id>`. */
  readonly record: string;
  /** The key part of the group's index: `<group>/<index>`. */
  readonly index: string;
  /** The store's name in `StorageError.operation`: "gallery", "photos". */
  readonly area: string;
  /** What a record is, for messages: "person", "photo record". */
  readonly what: string;
}

/** What `rebuildIndex` changed. */
export interface IndexRepair {
  /** Records that existed but were missing from the index. */
  readonly added: number;
  /** Index entries whose record was gone. */
  readonly dropped: number;
}

const storedIndex = z.array(z.string());

// keyv's getMany on SQLite matches rows to keys in O(n^2); chunks keep a large group's list fast.
const READ_CHUNK = 256;

/**
 * Records of one kind, one key each, and per group an index record listing their ids: keyv has no
 * portable "list keys by prefix", so `list` reads the index, then the records it names.
 *
 * Crash safety without transactions: `save` writes the index entry before the record, `delete`
 * removes the record before the index entry. Whatever a crash interrupts, the index still names
 * every record that exists, so nothing stored (embeddings included) is out of reach of `list` and
 * of "forget me"; at worst it names a record that is gone, which `list` skips and `rebuildIndex`
 * drops. (Writing the record first would instead leave, after a crash, a record no list shows.)
 *
 * The index is read, changed and written back, so writes to one group are serialised in this
 * process. Several processes sharing one database (KEYV_URL) can still race on an index and lose
 * an entry; `rebuildIndex` with the ids known from elsewhere (the originals on disk) restores it.
 */
export class KeyvIndexedRecords<T> {
  private readonly keyv: Keyv<unknown>;
  private readonly lock = new KeyedSerialQueue();

  constructor(
    keyv: Keyv<unknown>,
    private readonly names: IndexedRecordsNames,
    private readonly codec: RecordCodec<T>,
  ) {
    this.keyv = requireThrowingKeyv(keyv);
  }

  /** The record, read directly (an entry missing from the index does not hide it). */
  async get(group: GroupId, id: string): Promise<T | undefined> {
    const stored = await this.call('get', 'read', () => this.keyv.get<unknown>(this.recordKey(group, id)));
    return stored === undefined ? undefined : this.decode('get', stored);
  }

  /** Adds the record, or replaces the one with the same id: index entry first, then the record. */
  async save(group: GroupId, id: string, value: T): Promise<void> {
    const stored = this.codec.encode(value);
    await this.lock.run(group, () =>
      this.call('save', 'written', async () => {
        const ids = await this.readIndex(group);
        if (!ids.includes(id)) await this.writeIndex(group, [...ids, id]);
        await this.keyv.set(this.recordKey(group, id), stored);
      }),
    );
  }

  /** Removes the record, then its index entry; an id not there is no error. */
  async delete(group: GroupId, id: string): Promise<void> {
    await this.lock.run(group, () =>
      this.call('delete', 'deleted', async () => {
        await this.keyv.delete(this.recordKey(group, id));
        const ids = await this.readIndex(group);
        if (ids.includes(id))
          await this.writeIndex(
            group,
            ids.filter((other) => other !== id),
          );
      }),
    );
  }

  /** Every record the index names that still exists, in no particular order. */
  async list(group: GroupId): Promise<T[]> {
    const found = await this.call('list', 'read', async () => this.readRecords(group, await this.readIndex(group)));
    return found.map(([, stored]) => this.decode('list', stored));
  }

  /**
   * Makes the index name exactly the records that exist among `ids` and the current index: adds
   * records a lost index write left out, drops entries whose record is gone.
   */
  async rebuildIndex(group: GroupId, ids: readonly string[]): Promise<IndexRepair> {
    return this.lock.run(group, () =>
      this.call('rebuildIndex', 'indexed', async () => {
        const indexed = await this.readIndex(group);
        const candidates = [...new Set([...indexed, ...ids])];
        const existing = (await this.readRecords(group, candidates)).map(([id]) => id);
        const before = new Set(indexed);
        const after = new Set(existing);
        const added = existing.filter((id) => !before.has(id)).length;
        const dropped = [...before].filter((id) => !after.has(id)).length;
        if (added > 0 || dropped > 0 || indexed.length !== before.size) await this.writeIndex(group, existing);
        return { added, dropped };
      }),
    );
  }

  private async readIndex(group: GroupId): Promise<string[]> {
    const stored = await this.keyv.get<unknown>(groupKey(group, this.names.index));
    if (stored === undefined) return [];
    const parsed = storedIndex.safeParse(stored);
    if (!parsed.success) throw new StorageError(`the ${this.names.area} index of a group is unreadable`, `${this.names.area}.index`, { cause: parsed.error });
    return parsed.data;
  }

  /** An empty index is deleted rather than written, so a group emptied leaves no key behind. */
  private async writeIndex(group: GroupId, ids: readonly string[]): Promise<void> {
    const key = groupKey(group, this.names.index);
    if (ids.length === 0) await this.keyv.delete(key);
    else await this.keyv.set(key, ids);
  }

  /** The `[id, stored]` pairs of the records of `ids` that exist. */
  private async readRecords(group: GroupId, ids: readonly string[]): Promise<[string, unknown][]> {
    const found: [string, unknown][] = [];
    for (let start = 0; start < ids.length; start += READ_CHUNK) {
      const chunk = ids.slice(start, start + READ_CHUNK);
      const values = await this.readMany(chunk.map((id) => this.recordKey(group, id)));
      chunk.forEach((id, i) => {
        const value = values[i];
        if (value !== undefined && value !== null) found.push([id, value]);
      });
    }
    return found;
  }

  private async readMany(keys: readonly string[]): Promise<unknown[]> {
    // keyv's own fallback for stores without getMany turns a failed read into `undefined`, which
    // would look like a deleted record: read one by one instead, where failures throw.
    const store = this.keyv.store as { getMany?: unknown };
    if (typeof store.getMany === 'function') return this.keyv.getMany<unknown>([...keys]);
    return Promise.all(keys.map((key) => this.keyv.get<unknown>(key)));
  }

  private recordKey(group: GroupId, id: string): string {
    return groupKey(group, this.names.record, id);
  }

  private decode(operation: string, stored: unknown): T {
    try {
      return this.codec.decode(stored);
    } catch (cause) {
      throw new StorageError(`a stored ${this.names.what} is unreadable`, `${this.names.area}.${operation}`, { cause });
    }
  }

  private call<R>(operation: string, verb: string, call: () => Promise<R>): Promise<R> {
    return storageCall(`${this.names.area}.${operation}`, `the ${this.names.area} store could not be ${verb}`, call);
  }
}
