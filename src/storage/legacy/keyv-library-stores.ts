import type { Keyv } from 'keyv';
import { z } from 'zod';
import type {
  GalleryStore,
  GroupId,
  GroupSettings,
  Person,
  PhotoRecord,
  PhotoStore,
  ReplyMode,
  Sample,
  SettingsStore,
  StoredFace,
  UnknownCluster,
  UnusableReason,
} from '../../core/index.ts';
import { StorageError } from '../../core/index.ts';
import { decodeEmbedding, encodeEmbedding } from '../embedding-text.ts';
import type { IndexRepair, RecordCodec } from './indexed-records.ts';
import { KeyvIndexedRecords, groupKey, requireThrowingKeyv, storageCall } from './indexed-records.ts';

export type { IndexRepair } from './indexed-records.ts';

// The stores below share one key layout, `<group>/<kind>[/<id>]` (see groupKey), so they may share
// one keyv (one connection) or each have their own. Stored JSON is checked on the way back in: a
// record that does not parse is a StorageError, never a half-read person or photo.

/**
 * `GalleryStore` on keyv: one record per person plus a per-group index of person ids.
 * Not one record per group: deleting a person then deletes their row, embeddings and all, instead
 * of rewriting a shared record; adding a sample rewrites one person only; and records stay small on
 * backends with small value columns (MySQL TEXT holds 64 KB, a group's samples can exceed it).
 */
export class KeyvGalleryStore implements GalleryStore {
  private readonly people: KeyvIndexedRecords<Person>;

  constructor(keyv: Keyv<unknown>) {
    this.people = new KeyvIndexedRecords(keyv, { record: 'person', index: 'people', area: 'gallery', what: 'person' }, personCodec);
  }

  /** Every enrolled person of the group, in no particular order; none for an unknown group. */
  list(group: GroupId): Promise<Person[]> {
    return this.people.list(group);
  }

  /** Adds the person, or replaces the one with the same id. */
  save(group: GroupId, person: Person): Promise<void> {
    return this.people.save(group, person.id, person);
  }

  /** Removes the person and their samples (a person not there is no error). */
  delete(group: GroupId, personId: string): Promise<void> {
    return this.people.delete(group, personId);
  }
}

/** The part of `PhotoStore` that the keyv layout offers: what the import reads, and its tests write. */
export type KeyvPhotoRecords = Pick<PhotoStore, 'get' | 'save' | 'delete' | 'list'>;

/**
 * Photo records as releases before the relational store kept them (one keyv record per photo
 * plus a per-group index of hashes, see KeyvIndexedRecords): read once, by the import.
 */
export class KeyvPhotoStore implements KeyvPhotoRecords {
  private readonly photos: KeyvIndexedRecords<PhotoRecord>;

  constructor(keyv: Keyv<unknown>) {
    this.photos = new KeyvIndexedRecords(keyv, { record: 'photo', index: 'photos', area: 'photos', what: 'photo record' }, photoCodec);
  }

  /** The record of the photo with this content hash, whether or not the index names it. */
  get(group: GroupId, hash: string): Promise<PhotoRecord | undefined> {
    return this.photos.get(group, hash);
  }

  /** Adds the record, or replaces the one with the same hash. */
  save(group: GroupId, record: PhotoRecord): Promise<void> {
    return this.photos.save(group, record.hash, record);
  }

  /** Removes the record and its face embeddings (a record not there is no error). */
  delete(group: GroupId, hash: string): Promise<void> {
    return this.photos.delete(group, hash);
  }

  /** Every record of the group, in no particular order; none for an unknown group. */
  list(group: GroupId): Promise<PhotoRecord[]> {
    return this.photos.list(group);
  }

  /**
   * For the consistency check: makes the group's index name exactly the records that exist among
   * `hashes` (e.g. the originals on disk) and the current index. Needed only after another process
   * raced this one on the index; a crash alone never hides a record (see KeyvIndexedRecords).
   */
  rebuildIndex(group: GroupId, hashes: readonly string[]): Promise<IndexRepair> {
    return this.photos.rebuildIndex(group, hashes);
  }
}

/** `SettingsStore` on keyv: two records per group, its settings and its last clustering. */
export class KeyvSettingsStore implements SettingsStore {
  private readonly keyv: Keyv<unknown>;

  constructor(keyv: Keyv<unknown>) {
    this.keyv = requireThrowingKeyv(keyv);
  }

  /** The group's settings, or undefined when it never saved any. */
  async get(group: GroupId): Promise<GroupSettings | undefined> {
    const stored = await storageCall('settings.get', 'the settings could not be read', () => this.keyv.get<unknown>(groupKey(group, 'settings')));
    return stored === undefined ? undefined : decodeWith('settings.get', 'settings', () => settingsCodec.decode(stored));
  }

  /** Replaces the group's settings. */
  async save(group: GroupId, settings: GroupSettings): Promise<void> {
    const stored = settingsCodec.encode(settings);
    await storageCall('settings.save', 'the settings could not be written', () => this.keyv.set(groupKey(group, 'settings'), stored));
  }

  /** The last clustering of the group's unknown faces, or undefined when there was none. */
  async getClusters(group: GroupId): Promise<UnknownCluster[] | undefined> {
    const stored = await storageCall('settings.getClusters', 'the unknown-face clusters could not be read', () =>
      this.keyv.get<unknown>(groupKey(group, 'clusters')),
    );
    return stored === undefined ? undefined : decodeWith('settings.getClusters', 'cluster list', () => clustersCodec.decode(stored));
  }

  /** Replaces the group's last clustering. */
  async saveClusters(group: GroupId, clusters: readonly UnknownCluster[]): Promise<void> {
    const stored = clustersCodec.encode(clusters);
    await storageCall('settings.saveClusters', 'the unknown-face clusters could not be written', () => this.keyv.set(groupKey(group, 'clusters'), stored));
  }

  /** Removes the group's settings and clusters. */
  async forgetGroup(group: GroupId): Promise<void> {
    await storageCall('settings.forgetGroup', 'the settings could not be deleted', async () => {
      await this.keyv.delete(groupKey(group, 'settings'));
      await this.keyv.delete(groupKey(group, 'clusters'));
    });
  }
}

function decodeWith<T>(operation: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (cause) {
    throw new StorageError(`the stored ${what} is unreadable`, operation, { cause });
  }
}

/** `{ key: value }` when the value is there, `{}` otherwise: absent optional fields stay absent. */
function present<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

// Records keyed by the union's members make the compiler point here when core adds a member.
const UNUSABLE_REASONS: Readonly<Record<UnusableReason, true>> = { 'too-small': true, 'low-confidence': true };
const REPLY_MODES: Readonly<Record<ReplyMode, true>> = { quiet: true, summary: true };

const unusableReason = z.custom<UnusableReason>((v) => typeof v === 'string' && Object.hasOwn(UNUSABLE_REASONS, v));
const replyMode = z.custom<ReplyMode>((v) => typeof v === 'string' && Object.hasOwn(REPLY_MODES, v));

/** Base64 of a Float32Array's bytes (see encodeEmbedding): exact, and about a third over raw. */
const embedding = z.string().transform((text, ctx) => {
  // Buffer.from skips characters that are not base64: re-encoding catches a damaged value.
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0 || bytes.toString('base64') !== text) {
    ctx.addIssue({ code: 'custom', message: 'not the base64 of a Float32Array' });
    return z.NEVER;
  }
  return decodeEmbedding(text);
});

const box = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });

const storedSample = z.object({
  embedding,
  // Recorded since embedders can change; absent in what the keyv release wrote.
  embedder: z.string().optional(),
  photoHash: z.string().optional(),
  addedBy: z.string().optional(),
  addedAt: z.string(),
});

const storedPerson = z.object({
  id: z.string(),
  name: z.string(),
  folder: z.string(),
  userId: z.string().optional(),
  samples: z.array(storedSample),
  rejected: z.array(z.string()),
  createdAt: z.string(),
});

const storedFace = z.object({
  box,
  score: z.number(),
  eyeDistance: z.number(),
  embedding: embedding.optional(),
  embedder: z.string().optional(),
  unusable: unusableReason.optional(),
  personId: z.string().optional(),
  seenAt: z.string(),
});

const storedPhoto = z.object({
  hash: z.string(),
  ext: z.string(),
  bytes: z.number(),
  originalName: z.string().optional(),
  postedBy: z.string().optional(),
  postedAt: z.string(),
  takenAt: z.string().optional(),
  source: z.record(z.string(), z.string()).optional(),
  faces: z.array(storedFace),
});

const storedSettings = z.object({
  threshold: z.number(),
  replyMode,
  removedAt: z.string().optional(),
  movingFrom: z.string().optional(),
  pending: z
    .object({ refile: z.boolean().optional(), forget: z.string().optional(), forgetScope: z.enum(['everything', 'self', 'self-and-posts']).optional() })
    .optional(),
  forgottenAt: z.string().optional(),
});

const storedClusters = z.array(
  z.object({
    id: z.number(),
    faces: z.array(z.object({ photoHash: z.string(), faceIndex: z.number() })),
  }),
);

// Encoders copy field by field rather than spreading: a stray property on a caller's object
// (a Buffer, a class instance) is never written, and every embedding goes through base64.

const personCodec: RecordCodec<Person> = {
  encode: (person) => ({
    id: person.id,
    name: person.name,
    folder: person.folder,
    ...present('userId', person.userId),
    samples: person.samples.map((sample) => ({
      embedding: encodeEmbedding(sample.embedding),
      ...present('embedder', sample.embedder),
      ...present('photoHash', sample.photoHash),
      ...present('addedBy', sample.addedBy),
      addedAt: sample.addedAt,
    })),
    rejected: [...person.rejected],
    createdAt: person.createdAt,
  }),
  decode: (stored) => {
    const p = storedPerson.parse(stored);
    return {
      id: p.id,
      name: p.name,
      folder: p.folder,
      ...present('userId', p.userId),
      samples: p.samples.map((s): Sample => ({
        embedding: s.embedding,
        ...present('embedder', s.embedder),
        ...present('photoHash', s.photoHash),
        ...present('addedBy', s.addedBy),
        addedAt: s.addedAt,
      })),
      rejected: p.rejected,
      createdAt: p.createdAt,
    };
  },
};

const photoCodec: RecordCodec<PhotoRecord> = {
  encode: (record) => ({
    hash: record.hash,
    ext: record.ext,
    bytes: record.bytes,
    ...present('originalName', record.originalName),
    ...present('postedBy', record.postedBy),
    postedAt: record.postedAt,
    ...present('takenAt', record.takenAt),
    ...present('source', record.source && { ...record.source }),
    faces: record.faces.map((face) => ({
      box: { x: face.box.x, y: face.box.y, width: face.box.width, height: face.box.height },
      score: face.score,
      eyeDistance: face.eyeDistance,
      ...present('embedding', face.embedding && encodeEmbedding(face.embedding)),
      ...present('embedder', face.embedding && face.embedder),
      ...present('unusable', face.unusable),
      ...present('personId', face.personId),
      seenAt: face.seenAt,
    })),
  }),
  decode: (stored) => {
    const r = storedPhoto.parse(stored);
    return {
      hash: r.hash,
      ext: r.ext,
      bytes: r.bytes,
      ...present('originalName', r.originalName),
      ...present('postedBy', r.postedBy),
      postedAt: r.postedAt,
      ...present('takenAt', r.takenAt),
      ...present('source', r.source),
      faces: r.faces.map((f): StoredFace => ({
        box: f.box,
        score: f.score,
        eyeDistance: f.eyeDistance,
        ...present('embedding', f.embedding),
        ...present('embedder', f.embedding && f.embedder),
        ...present('unusable', f.unusable),
        ...present('personId', f.personId),
        seenAt: f.seenAt,
      })),
    };
  },
};

const settingsCodec: RecordCodec<GroupSettings> = {
  encode: (settings) => ({
    threshold: settings.threshold,
    replyMode: settings.replyMode,
    ...(settings.removedAt !== undefined ? { removedAt: settings.removedAt } : {}),
    ...(settings.movingFrom !== undefined ? { movingFrom: settings.movingFrom } : {}),
    ...(settings.pending !== undefined ? { pending: settings.pending } : {}),
    ...(settings.forgottenAt !== undefined ? { forgottenAt: settings.forgottenAt } : {}),
  }),
  decode: (stored) => {
    const { removedAt, movingFrom, pending, forgottenAt, ...rest } = storedSettings.parse(stored);
    return {
      ...rest,
      ...(forgottenAt !== undefined ? { forgottenAt } : {}),
      ...(removedAt !== undefined ? { removedAt } : {}),
      ...(movingFrom !== undefined ? { movingFrom } : {}),
      ...(pending !== undefined
        ? {
            pending: {
              ...(pending.refile !== undefined ? { refile: pending.refile } : {}),
              ...(pending.forget !== undefined ? { forget: pending.forget } : {}),
              ...(pending.forgetScope !== undefined ? { forgetScope: pending.forgetScope } : {}),
            },
          }
        : {}),
    };
  },
};

const clustersCodec = {
  encode: (clusters: readonly UnknownCluster[]): unknown =>
    clusters.map((cluster) => ({
      id: cluster.id,
      faces: cluster.faces.map((face) => ({ photoHash: face.photoHash, faceIndex: face.faceIndex })),
    })),
  decode: (stored: unknown): UnknownCluster[] => storedClusters.parse(stored),
};
