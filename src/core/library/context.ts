import type {
  AlbumStore,
  AuditLog,
  FaceCache,
  FaceEngine,
  GalleryStore,
  GroupLocks,
  ImageDecoder,
  ImportCursors,
  PhotoRef,
  PhotoStore,
  Renderer,
  SettingsStore,
} from '../ports.ts';
import type { DecodedImage, Embedding } from '../faces.ts';
import type { GroupSettings, Person, PhotoRecord, ReplyMode, Sample } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { InProcessGroupLocks, Semaphore } from '../concurrency.ts';
import { silentLog, type Log } from '../log.ts';
import type { FaceClusterer } from '../linkage.ts';
import type { SimilarityKernel } from '../face-matrix.ts';
import { cleanPersonName, sameName } from './names.ts';
import type { PersonRef } from './results.ts';

export interface LibraryDefaults {
  readonly threshold: number;
  readonly margin: number;
  readonly replyMode: ReplyMode;
  /** Unknown faces' embeddings are erased this many days after they were recorded. */
  readonly unknownRetentionDays: number;
  /** A cluster of unknown faces is shown once it appears in this many different photos. */
  readonly minClusterPhotos: number;
}

export interface LibraryDependencies {
  readonly engine: FaceEngine;
  readonly decoder: ImageDecoder;
  readonly gallery: GalleryStore;
  readonly photos: PhotoStore;
  readonly settings: SettingsStore;
  readonly albums: AlbumStore;
  readonly renderer: Renderer;
  readonly defaults: LibraryDefaults;
  /** Reclaims the space of deleted records: on SQLite erased embeddings are then gone from disk (on PostgreSQL, see the README). */
  readonly compact?: () => Promise<void>;
  /** Where changes are recorded for the group's admins; none in tools that have no members. */
  readonly audit?: AuditLog;
  /** Where each channel's history import got to: a group's erasure removes its rows. */
  readonly importCursors?: ImportCursors;
  /** The archiver's cache of faces by file content, in the same data folder: forgetting purges it. */
  readonly faceCache?: FaceCache;
  /**
   * A native matrix product (the one the photo store scans with): a re-file of thousands of photos
   * then compares their faces with every sample in one product, and scores exactly in JavaScript
   * only the people that product puts near the threshold. Everything in JavaScript when absent.
   */
  readonly kernel?: SimilarityKernel;
  /** Clusters the unknown faces for `/unknown`; in process when absent (a bot passes a worker-backed one). */
  readonly clusterer?: FaceClusterer;
  /**
   * Keeps each group's changes one at a time. In process when absent; across every process of a
   * scale-out deployment, a lock in the shared database.
   */
  readonly locks?: GroupLocks;
  /** Times the filing of each photo (match, store, link, record) for /metrics. */
  readonly stages?: { timeStage<T>(stage: 'file', work: () => Promise<T>): Promise<T> };
  readonly log?: Log;
  readonly now?: () => Date;
  /** Album exports building and sending at once, process-wide; more wait their turn. 2 by default. */
  readonly maxConcurrentExports?: number;
}

/** Each export streams a zip from disk to the platform: a few at once keep disk and uplink usable. */
export const DEFAULT_MAX_CONCURRENT_EXPORTS = 2;

/**
 * What every use case of the library works with: the ports, the defaults, the clock, and the
 * per-group lock. One per `PhotoLibrary`; the use-case modules are plain functions of it, so each
 * can be read (and tested) on its own.
 */
export class LibraryContext {
  readonly log: Log;
  readonly now: () => Date;
  /** Places for album exports, shared by every group; see `LibraryDependencies.maxConcurrentExports`. */
  readonly exports: Semaphore;
  private readonly locks: GroupLocks;

  constructor(readonly deps: LibraryDependencies) {
    this.log = deps.log ?? silentLog;
    this.now = deps.now ?? (() => new Date());
    this.exports = new Semaphore(deps.maxConcurrentExports ?? DEFAULT_MAX_CONCURRENT_EXPORTS);
    this.locks = deps.locks ?? new InProcessGroupLocks();
  }

  /**
   * Runs `task` once the group's earlier mutations are done: a group changes one step at a time.
   * `held` aborts if the group's lock is lost meanwhile; see `GroupLocks`.
   */
  serial<T>(group: GroupId, task: (held: AbortSignal) => Promise<T>): Promise<T> {
    return this.locks.run(group, task);
  }

  /** Runs `work` timed as a stage of filing, when the owner measures stages. */
  timeStage<T>(stage: 'file', work: () => Promise<T>): Promise<T> {
    return this.deps.stages ? this.deps.stages.timeStage(stage, work) : work();
  }

  async settingsOf(group: GroupId): Promise<GroupSettings> {
    return (await this.deps.settings.get(group)) ?? { threshold: this.deps.defaults.threshold, replyMode: this.deps.defaults.replyMode };
  }

  /** The engine's embedder: only embeddings it made are ever compared (see `comparable`). */
  get embedder(): string {
    return this.deps.engine.info.embedder;
  }

  /**
   * Whether a stored sample's or face's embedding may be compared with the engine's: made by the
   * same embedder. Others wait to be re-described (see redescribe.ts); until then a face keeps its
   * name and a sample counts for nothing.
   */
  comparable(item: { readonly embedding?: Embedding; readonly embedder?: string }): boolean {
    return item.embedding !== undefined && item.embedder === this.embedder;
  }

  /** Whether a stored embedding was made by another embedder: it waits to be re-described. */
  outdated(item: { readonly embedding?: Embedding; readonly embedder?: string }): boolean {
    return item.embedding !== undefined && item.embedder !== this.embedder;
  }

  /** The person as the matcher may see them: with only their comparable samples. */
  comparableSamples(person: Person): Person {
    return person.samples.every((s) => this.comparable(s)) ? person : { ...person, samples: person.samples.filter((s) => this.comparable(s)) };
  }

  sample(embedding: Embedding, photoHash: string, by: string | undefined): Sample {
    return { embedding, embedder: this.embedder, photoHash, addedAt: this.now().toISOString(), ...(by ? { addedBy: by } : {}) };
  }

  /** The stored original's pixels, for contact sheets; undefined when it no longer decodes. */
  async decodeStored(group: GroupId, record: PhotoRecord): Promise<DecodedImage | undefined> {
    const decoded = await this.deps.decoder.decode(await this.deps.albums.readOriginal(group, photoRef(record)));
    return decoded.ok ? decoded.image : undefined;
  }
}

export function refOf(person: Person): PersonRef {
  return { id: person.id, name: person.name };
}

/** The person a typed name means: names compare as `sameName` does. */
export function findPerson(people: readonly Person[], name: string): Person | undefined {
  const clean = cleanPersonName(name);
  return clean.ok ? people.find((p) => sameName(p.name, clean.name)) : undefined;
}

/** The people with these ids, as answers name them; ids of people since deleted are left out. */
export function refsOf(people: readonly Person[], ids: readonly string[]): PersonRef[] {
  return ids
    .map((id) => people.find((p) => p.id === id))
    .filter((p): p is Person => p !== undefined)
    .map(refOf);
}

/** The file names of a photo: album entries are dated by when it was taken, else posted. */
export function photoRef(record: Pick<PhotoRecord, 'hash' | 'ext' | 'takenAt' | 'postedAt'>): PhotoRef {
  return { hash: record.hash, ext: record.ext, date: record.takenAt ?? record.postedAt };
}
