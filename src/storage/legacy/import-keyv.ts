import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Keyv } from 'keyv';
import type { AuditLog, GalleryStore, GroupId, Log, Person, PhotoRecord, PhotoStore, SettingsStore } from '../../core/index.ts';
import { StorageError } from '../../core/index.ts';
import { writeAtomically } from '../../files/index.ts';
import { KeyvAuditLog } from './keyv-audit-log.ts';
import { KeyvGalleryStore, KeyvPhotoStore, KeyvSettingsStore } from './keyv-library-stores.ts';
import { SQLITE_FILE, closeKeyv, compact, connectKeyv } from './keyv.ts';
import { encodeEmbedding } from '../embedding-text.ts';
import { LEGACY_EMBEDDER } from '../sql/migrations.ts';

/** Written in the data folder once the import is verified: from then on, the old store is only cleared. */
export const IMPORT_MARKER = 'library-imported-from-keyv.json';

export interface ImportTarget {
  readonly gallery: GalleryStore;
  readonly photos: PhotoStore;
  readonly settings: SettingsStore;
  readonly audit: AuditLog;
}

export interface ImportReport {
  readonly groups: number;
  readonly people: number;
  readonly photos: number;
}

export interface ImportOptions {
  readonly dataDir: string;
  /** KEYV_URL, where an earlier release kept the library when not in the data folder's SQLite file. */
  readonly keyvUrl?: string | undefined;
  /** The groups with folders on disk: the old layout has no list of groups of its own. */
  readonly groups: readonly GroupId[];
  readonly target: ImportTarget;
  readonly log: Log;
  /** Called after each photo: for a progress bar. */
  readonly progress?: (done: number, total: number, group: GroupId) => void;
}

/**
 * Moves the library of an earlier release (people, photos, settings, clusters and audit log as
 * keyv records) into the relational store, once, at the first start that finds it:
 * 1. every group's records are copied (upserts: a run cut short is simply run again);
 * 2. every copied record is read back and compared with the original, field for field and
 *    embedding for embedding; any difference stops the start and leaves the old store untouched;
 * 3. a marker is written to the data folder, and only then are the old records deleted (and the
 *    SQLite file vacuumed), so that "forget me" has no stale copy to miss. A start that finds the
 *    marker only finishes that deletion.
 * Returns what was imported, or undefined when there was nothing to import.
 */
export async function importKeyvLibrary(options: ImportOptions): Promise<ImportReport | undefined> {
  const { dataDir, keyvUrl, log } = options;
  const marker = path.join(dataDir, IMPORT_MARKER);
  if (!keyvUrl && !existsSync(path.join(dataDir, SQLITE_FILE))) return undefined;
  const keyv = await connectKeyv({ dataDir, url: keyvUrl }, 'library');
  try {
    const legacy = {
      gallery: new KeyvGalleryStore(keyv),
      photos: new KeyvPhotoStore(keyv),
      settings: new KeyvSettingsStore(keyv),
      audit: new KeyvAuditLog(keyv),
    };
    if (existsSync(marker)) {
      await clearLegacy(keyv, legacy, options.groups);
      return undefined;
    }
    const found = await Promise.all(
      options.groups.map(async (g) => ({
        group: g,
        hashes: (await legacy.photos.list(g)).length,
        people: (await legacy.gallery.list(g)).length,
        settings: await legacy.settings.get(g),
      })),
    );
    const groups = found.filter((f) => f.hashes > 0 || f.people > 0 || f.settings !== undefined);
    if (groups.length === 0) return undefined;
    const total = groups.reduce((n, g) => n + g.hashes, 0);
    log.warn({ groups: groups.length, photos: total }, 'importing the library from the earlier keyv layout: the old store is kept until the copy is verified');
    let done = 0,
      people = 0;
    for (const { group } of groups) {
      people += await copyGroup(group, legacy, options.target, () => options.progress?.(++done, total, group));
      await verifyGroup(group, legacy, options.target);
      log.info({ group, photosDone: done, photos: total }, 'imported and verified a group');
    }
    const report: ImportReport = { groups: groups.length, people, photos: total };
    await writeAtomically(marker, JSON.stringify({ importedAt: new Date().toISOString(), ...report }, null, 2), { durable: true });
    await clearLegacy(keyv, legacy, options.groups);
    log.warn(report, 'the library was imported from the keyv layout and verified; the old records are deleted');
    return report;
  } finally {
    await closeKeyv(keyv).catch(() => undefined);
  }
}

type Legacy = { gallery: KeyvGalleryStore; photos: KeyvPhotoStore; settings: KeyvSettingsStore; audit: KeyvAuditLog };

async function copyGroup(group: GroupId, legacy: Legacy, target: ImportTarget, onPhoto: () => void): Promise<number> {
  const people = await legacy.gallery.list(group);
  for (const person of people) await target.gallery.save(group, stampedPerson(person));
  for (const record of await legacy.photos.list(group)) {
    await target.photos.save(group, stampedRecord(record));
    onPhoto();
  }
  const settings = await legacy.settings.get(group);
  if (settings) await target.settings.save(group, settings);
  const clusters = await legacy.settings.getClusters(group);
  if (clusters) await target.settings.saveClusters(group, clusters);
  // A run cut short may have copied part of the log: it is copied whole again.
  await target.audit.forgetGroup(group);
  for (const entry of (await legacy.audit.list(group, Number.MAX_SAFE_INTEGER)).reverse()) await target.audit.record(group, entry);
  return people.length;
}

async function verifyGroup(group: GroupId, legacy: Legacy, target: ImportTarget): Promise<void> {
  const differs = (what: string) => new StorageError(`the imported ${what} of ${group} differs from the original; the old store is kept`, 'import');
  const [oldPeople, newPeople] = await Promise.all([legacy.gallery.list(group), target.gallery.list(group)]);
  if (canonical(sortBy(oldPeople.map(stampedPerson), (p) => p.id)) !== canonical(sortBy(newPeople, (p) => p.id))) throw differs('people');
  const oldPhotos = await legacy.photos.list(group);
  const newPhotos = new Map(
    (
      await target.photos.getMany(
        group,
        oldPhotos.map((r) => r.hash),
      )
    ).map((r) => [r.hash, r]),
  );
  for (const record of oldPhotos)
    if (canonical(stampedRecord(record)) !== canonical(newPhotos.get(record.hash))) throw differs(`photo ${record.hash.slice(0, 8)}`);
  if (canonical(await legacy.settings.get(group)) !== canonical(await target.settings.get(group))) throw differs('settings');
  if (canonical(await legacy.audit.list(group, 10_000)) !== canonical(await target.audit.list(group, 10_000))) throw differs('audit log');
}

async function clearLegacy(keyv: Keyv<unknown>, legacy: Legacy, groups: readonly GroupId[]): Promise<void> {
  for (const group of groups) {
    for (const person of await legacy.gallery.list(group)) await legacy.gallery.delete(group, person.id);
    for (const record of await legacy.photos.list(group)) await legacy.photos.delete(group, record.hash);
    await legacy.settings.forgetGroup(group);
    await legacy.audit.forgetGroup(group);
  }
  await compact(keyv);
}

// The keyv layout predates the recording of embedders: all its embeddings are the first embedder's.
function stampedPerson(person: Person): Person {
  return { ...person, samples: person.samples.map((s) => ({ ...s, embedder: s.embedder ?? LEGACY_EMBEDDER })) };
}

function stampedRecord(record: PhotoRecord): PhotoRecord {
  return { ...record, faces: record.faces.map((f) => (f.embedding ? { ...f, embedder: f.embedder ?? LEGACY_EMBEDDER } : f)) };
}

function sortBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => key(a).localeCompare(key(b)));
}

/** JSON with embeddings as their bytes and keys in order: two values print alike only when equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Float32Array) return `f32:${encodeEmbedding(v)}`;
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)));
    return v;
  });
}
