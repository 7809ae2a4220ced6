import { EventEmitter } from 'node:events';
import BetterSqlite3 from 'better-sqlite3';

/**
 * A keyv store on the SQLite files that releases before 0.2 wrote through `@keyv/sqlite` (table
 * `keyv`, `key VARCHAR(255) PRIMARY KEY, value TEXT`, values as keyv serialised them), read and
 * cleared here with better-sqlite3: the one SQLite library. `@keyv/sqlite` brought a second one
 * (sqlite3 5), whose node-gyp 8 needs Python's distutils, gone since Python 3.12, so `npm ci`
 * failed on any current system. Only what keyv and the legacy import use is here.
 */
export class KeyvSqliteFile extends EventEmitter {
  readonly opts: { readonly dialect: 'sqlite'; readonly url: string };
  namespace?: string;
  private readonly db: BetterSqlite3.Database;

  constructor(file: string) {
    super();
    this.opts = { dialect: 'sqlite', url: `sqlite://${file}` };
    this.db = new BetterSqlite3(file, { timeout: 10_000 });
    // "Forget me" must really delete: zero deleted rows and freed pages.
    this.db.pragma('secure_delete = ON');
    this.db.exec('CREATE TABLE IF NOT EXISTS keyv(key VARCHAR(255) PRIMARY KEY, value TEXT)');
  }

  get(key: string): Promise<string | undefined> {
    const row = this.db.prepare<[string], { value: string }>('SELECT value FROM keyv WHERE key = ?').get(key);
    return Promise.resolve(row?.value);
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  set(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO keyv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
    return Promise.resolve();
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.db.prepare('DELETE FROM keyv WHERE key = ?').run(key).changes > 0);
  }

  async deleteMany(keys: readonly string[]): Promise<boolean> {
    let any = false;
    for (const key of keys) any = (await this.delete(key)) || any;
    return any;
  }

  has(key: string): Promise<boolean> {
    return Promise.resolve(this.db.prepare('SELECT 1 FROM keyv WHERE key = ?').get(key) !== undefined);
  }

  clear(): Promise<void> {
    this.db.prepare('DELETE FROM keyv WHERE key LIKE ?').run(this.namespace ? `${this.namespace}:%` : '%');
    return Promise.resolve();
  }

  /** Removes every entry whose key starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): number {
    return this.db.prepare('DELETE FROM keyv WHERE substr(key, 1, ?) = ?').run(prefix.length, prefix).changes;
  }

  /** How many entries the file holds, of every namespace. */
  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM keyv').get()!.n;
  }

  /** Rewrites the file without its free pages, so that nothing deleted lingers in it. */
  vacuum(): void {
    this.db.exec('VACUUM');
  }

  disconnect(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
