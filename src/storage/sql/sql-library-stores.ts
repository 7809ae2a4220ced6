import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  AlbumPhoto,
  MatrixFace,
  MatrixSnapshot,
  AlbumQuery,
  Embedding,
  FaceAssignment,
  PhotoChange,
  GalleryStore,
  GroupId,
  NearFace,
  Person,
  PhotoCounts,
  PhotoRecord,
  PhotoStore,
  SimilarityKernel,
  StoredFace,
  UnknownFace,
  UnusableReason,
} from '../../core/index.ts';
import { FaceMatrix, StorageError, matrixFaces } from '../../core/index.ts';
import { storageCall } from '../storage-call.ts';
import type { MatrixSnapshots } from './matrix-snapshots.ts';
import type { FacesTable, LibrarySchema } from './schema.ts';

type Db = Kysely<LibrarySchema>;
type Tx = Transaction<LibrarySchema>;

/**
 * What a write returns: how the group's in-memory matrix follows it ('reread': those photos' rows
 * read back), and the photos whose faces it changed, for the change log (`face_changes`).
 */
interface Written<T> {
  readonly value: T;
  readonly follow: ((matrix: FaceMatrix, embedder: string) => void) | { readonly reread: readonly string[] };
  readonly touched: readonly string[];
}

/**
 * A write that takes embeddings or faces away (a deletion, a removal, an erasure, a record saved
 * over): the kept matrix file, which may hold them, is deleted before it, and the change log is
 * emptied with it. Any other write (new photos, faces named anew) is logged, and a kept file is
 * brought up to date from the log at the next start.
 */
type Erasing = boolean;

/** The raw bytes of an embedding, copied (the column must not share the caller's buffer). */
export function embeddingBytes(embedding: Embedding): Uint8Array {
  return new Uint8Array(embedding.buffer.slice(embedding.byteOffset, embedding.byteOffset + embedding.byteLength));
}

/** An embedding from its column; a length that is no whole number of floats is damage. */
export function embeddingOf(bytes: Uint8Array, operation: string): Embedding {
  if (bytes.byteLength % 4 !== 0) throw new StorageError('a stored embedding is damaged', operation);
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

/** SQL's counts arrive as numbers from SQLite and as strings (bigint) from PostgreSQL. */
function count(value: unknown): number {
  return Number(value ?? 0);
}

/** `GalleryStore` on the people, samples and rejections tables. */
export class SqlGalleryStore implements GalleryStore {
  constructor(private readonly db: Db) {}

  list(group: GroupId): Promise<Person[]> {
    return storageCall('gallery.list', 'the enrolled people could not be read', async () => {
      const [people, samples, rejections] = await Promise.all([
        this.db.selectFrom('people').selectAll().where('group_id', '=', group).execute(),
        this.db.selectFrom('samples').selectAll().where('group_id', '=', group).orderBy('person_id').orderBy('position').execute(),
        this.db.selectFrom('rejections').select(['person_id', 'photo_hash']).where('group_id', '=', group).execute(),
      ]);
      return people.map((p) => ({
        id: p.id,
        name: p.name,
        folder: p.folder,
        ...(p.user_id !== null ? { userId: p.user_id } : {}),
        createdAt: p.created_at,
        samples: samples
          .filter((s) => s.person_id === p.id)
          .map((s) => ({
            embedding: embeddingOf(s.embedding, 'gallery.list'),
            addedAt: s.added_at,
            ...(s.embedder !== null ? { embedder: s.embedder } : {}),
            ...(s.photo_hash !== null ? { photoHash: s.photo_hash } : {}),
            ...(s.added_by !== null ? { addedBy: s.added_by } : {}),
          })),
        rejected: rejections.filter((r) => r.person_id === p.id).map((r) => r.photo_hash),
      }));
    });
  }

  /** Adds the person, or replaces the one with the same id: samples and rejections in one transaction. */
  save(group: GroupId, person: Person): Promise<void> {
    return storageCall('gallery.save', 'the person could not be saved', () =>
      this.db.transaction().execute(async (tx) => {
        const row = { name: person.name, folder: person.folder, user_id: person.userId ?? null, created_at: person.createdAt };
        await tx
          .insertInto('people')
          .values({ group_id: group, id: person.id, ...row })
          .onConflict((oc) => oc.columns(['group_id', 'id']).doUpdateSet(row))
          .execute();
        await tx.deleteFrom('samples').where('group_id', '=', group).where('person_id', '=', person.id).execute();
        await tx.deleteFrom('rejections').where('group_id', '=', group).where('person_id', '=', person.id).execute();
        if (person.samples.length > 0) {
          await tx
            .insertInto('samples')
            .values(
              person.samples.map((s, position) => ({
                group_id: group,
                person_id: person.id,
                position,
                embedding: embeddingBytes(s.embedding),
                embedder: s.embedder ?? null,
                photo_hash: s.photoHash ?? null,
                added_by: s.addedBy ?? null,
                added_at: s.addedAt,
              })),
            )
            .execute();
        }
        const rejected = [...new Set(person.rejected)];
        if (rejected.length > 0) {
          await tx
            .insertInto('rejections')
            .values(rejected.map((photo_hash) => ({ group_id: group, person_id: person.id, photo_hash })))
            .execute();
        }
      }),
    );
  }

  /** Removes the person; their samples and rejections go with them (foreign keys cascade). */
  delete(group: GroupId, personId: string): Promise<void> {
    return storageCall('gallery.delete', 'the person could not be deleted', async () => {
      await this.db.deleteFrom('people').where('group_id', '=', group).where('id', '=', personId).execute();
    });
  }
}

/** How many bytes of embeddings the in-memory matrices of all groups may hold together. */
const MATRIX_BUDGET_BYTES = 512 * 1024 * 1024;

/**
 * `PhotoStore` on the photos and faces tables. A record and its faces are written in one
 * transaction. For `near`, each group's embeddings are held as a `FaceMatrix`, loaded on first
 * use (from the file kept for it, else from every face row) and kept in step with this store's own
 * writes; every write to a group's faces also bumps the group's row in `face_versions` and logs
 * the photos it changed (`face_changes`), so a write by another process is seen and read back.
 * The totals (`counts`) are kept in the same transactions: by the database's triggers for faces
 * and photos added and deleted, by `updateFaces` for faces changed in place.
 */
export class SqlPhotoStore implements PhotoStore {
  /** One matrix per group, of one embedder's faces: the one last asked for. */
  private readonly matrices = new Map<GroupId, { version: number; embedder: string; matrix: FaceMatrix }>();

  private readonly matrixBudgetBytes: number;
  private readonly kernel: SimilarityKernel | undefined;
  private readonly snapshots: MatrixSnapshots | undefined;
  /** Groups whose kept file this process has read (or found none). */
  private readonly restoreTried = new Set<GroupId>();
  /** The kept files being read now (`warm`, or a command's first `near`): a second asker waits for it. */
  private readonly restoring = new Map<GroupId, Promise<void>>();
  /** Each group's kept file's work (writes and deletions), one after another. */
  private readonly files = new Map<GroupId, Promise<void>>();

  constructor(
    private readonly db: Db,
    options: {
      readonly matrixBudgetBytes?: number;
      /** What scans the matrices for `near`: a native matrix product where the wiring has one. */
      readonly kernel?: SimilarityKernel | undefined;
      /** Where `saveMatrices` leaves the matrices for the next start; none when absent. */
      readonly snapshots?: MatrixSnapshots | undefined;
    } = {},
  ) {
    this.matrixBudgetBytes = options.matrixBudgetBytes ?? MATRIX_BUDGET_BYTES;
    this.kernel = options.kernel;
    this.snapshots = options.snapshots;
  }

  /**
   * Leaves each group's matrix in a file for the next start, when it is still of the store as it is
   * (another process may have written since). Called as the process closes the store; waits for
   * the files being written in the background.
   */
  async saveMatrices(): Promise<void> {
    for (const [group, { version, embedder, matrix }] of this.matrices) {
      const now = await this.db.transaction().execute(async (tx) => ({ version: await versionOf(tx, group), faces: await facesOf(tx, group, embedder) }));
      const snapshot = matrix.snapshot();
      if (now.version !== version || !snapshot || snapshot.rows.length / 3 !== now.faces) continue;
      await this.keep(group, embedder, version, snapshot);
    }
    await Promise.all([...this.files.values()]);
  }

  /**
   * Reads the matrices kept at the last stop, most recently written first, while they fit in the
   * memory budget: called as the process starts, before the chats connect, so that the first
   * command finds its group's matrix held instead of reading a file of 150 MB at 100k photos (a
   * second or more of its answer). A group whose file is missing or out of date is left to its first
   * command, which loads it as before. Returns the groups now held.
   */
  async warm(): Promise<GroupId[]> {
    const snapshots = this.snapshots;
    if (!snapshots) return [];
    const kept = await storageCall('photos.warm', 'the kept face matrices could not be listed', () =>
      this.db.selectFrom('face_versions').select('group_id').where('kept', 'is not', null).execute(),
    );
    const files = await Promise.all(kept.map(async ({ group_id }) => ({ group: group_id, file: await snapshots.fileOf(group_id) })));
    // The newest files that fit (a matrix takes about its file's size), read oldest first so that
    // the newest is the last one evicted.
    const chosen: GroupId[] = [];
    let bytes = this.heldBytes();
    for (const { group, file } of files.filter((f) => f.file !== undefined).sort((a, b) => b.file!.writtenAt - a.file!.writtenAt)) {
      bytes += file!.bytes;
      if (chosen.length > 0 && bytes > this.matrixBudgetBytes) break;
      chosen.push(group);
    }
    for (const group of chosen.reverse()) await this.restore(group);
    for (const { matrix } of this.matrices.values()) await matrix.touch();
    return this.heldMatrices();
  }

  get(group: GroupId, hash: string): Promise<PhotoRecord | undefined> {
    return storageCall('photos.get', 'the photo record could not be read', async () => (await this.read(group, [hash]))[0]);
  }

  getMany(group: GroupId, hashes: readonly string[]): Promise<PhotoRecord[]> {
    return storageCall('photos.getMany', 'the photo records could not be read', async () => {
      const records: PhotoRecord[] = [];
      // Bounded IN lists: SQLite allows 32766 parameters, and smaller batches keep memory even.
      for (let i = 0; i < hashes.length; i += 500) records.push(...(await this.read(group, hashes.slice(i, i + 500))));
      return records;
    });
  }

  list(group: GroupId): Promise<PhotoRecord[]> {
    return storageCall('photos.list', 'the photo records could not be read', () => this.read(group, undefined));
  }

  save(group: GroupId, record: PhotoRecord): Promise<void> {
    return this.writeMany(group, { save: [record] });
  }

  delete(group: GroupId, hash: string): Promise<void> {
    return this.writeMany(group, { delete: [hash] });
  }

  writeMany(group: GroupId, change: PhotoChange): Promise<void> {
    const saves = change.save ?? [],
      deletes = change.delete ?? [],
      erases = change.erase ?? [];
    // The photos by which of their positions go: a few statements per 500 photos, not one per face.
    const byPhoto = new Map<string, Set<number>>();
    for (const f of erases) (byPhoto.get(f.photoHash) ?? byPhoto.set(f.photoHash, new Set()).get(f.photoHash)!).add(f.faceIndex);
    const byPositions = new Map<string, { positions: number[]; hashes: string[] }>();
    for (const [hash, set] of byPhoto) {
      const positions = [...set].sort((a, b) => a - b);
      const key = positions.join(',');
      (byPositions.get(key) ?? byPositions.set(key, { positions, hashes: [] }).get(key)!).hashes.push(hash);
    }
    return this.write(
      'photos.save',
      'the photo records could not be saved',
      group,
      erases.length > 0 ? true : (db) => replacing(db, group, saves, deletes),
      async (tx) => {
        await saveRecords(tx, group, saves);
        for (let i = 0; i < deletes.length; i += 500)
          await tx
            .deleteFrom('photos')
            .where('group_id', '=', group)
            .where('hash', 'in', deletes.slice(i, i + 500))
            .execute();
        // In place: deleting the rows would move every later face of the photo up a position, two
        // more writes of each (at 100k photos most of a forget's time on PostgreSQL). The embedder
        // stays: the embedder index is then not written (migration 0013).
        const erased = { person_id: null, embedding: null };
        await updateFaces(
          tx,
          group,
          [...byPositions.values()].map(({ positions, hashes }) => ({ set: erased, positions, hashes })),
        );
        return {
          value: undefined,
          follow: (matrix, embedder) => {
            for (const record of saves) matrix.setPhoto(record.hash, matrixFaces(record.faces, embedder));
            for (const hash of deletes) matrix.deletePhoto(hash);
            for (const [hash, positions] of byPhoto) matrix.dropFaces(hash, [...positions]);
          },
          touched: [...saves.map((r) => r.hash), ...byPhoto.keys()],
        };
      },
    );
  }

  assign(group: GroupId, faces: readonly FaceAssignment[]): Promise<void> {
    // One statement per name and position for up to 500 photos, not one per face: a re-file at
    // 100k photos names thousands of faces. The last word on a face wins, as one by one.
    const last = new Map(faces.map((f) => [`${f.faceIndex}/${f.photoHash}`, f]));
    const batches = new Map<string, { personId: string | null; position: number; hashes: string[] }>();
    for (const face of last.values()) {
      const key = `${face.faceIndex}/${face.personId ?? ''}`;
      (batches.get(key) ?? batches.set(key, { personId: face.personId ?? null, position: face.faceIndex, hashes: [] }).get(key)!).hashes.push(face.photoHash);
    }
    return this.write('photos.assign', 'the faces could not be re-filed', group, false, async (tx) => {
      await updateFaces(
        tx,
        group,
        [...batches.values()].map(({ personId, position, hashes }) => ({ set: { person_id: personId }, positions: [position], hashes })),
      );
      return {
        value: undefined,
        follow: (matrix) => faces.forEach((f) => matrix.assign(f.photoHash, f.faceIndex, f.personId)),
        touched: [...new Set(faces.map((f) => f.photoHash))],
      };
    });
  }

  async near(group: GroupId, probes: readonly Embedding[], min: number, embedder: string): Promise<NearFace[]> {
    const matrix = await storageCall('photos.near', 'the face embeddings could not be read', () => this.matrixOf(group, embedder));
    return matrix.near(probes, min);
  }

  async between(
    group: GroupId,
    probes: readonly Embedding[],
    owners: readonly number[],
    range: { from: number; below: number },
    embedder: string,
  ): Promise<string[]> {
    const matrix = await storageCall('photos.between', 'the face embeddings could not be read', () => this.matrixOf(group, embedder));
    return matrix.between(probes, owners, range.from, range.below);
  }

  async claimed(
    group: GroupId,
    probes: readonly Embedding[],
    owners: readonly number[],
    claim: { owner: number; from: number; margin: number },
    embedder: string,
  ): Promise<Omit<NearFace, 'hits'>[]> {
    const matrix = await storageCall('photos.claimed', 'the face embeddings could not be read', () => this.matrixOf(group, embedder));
    return matrix.claimed(probes, owners, claim.owner, claim.from, claim.margin);
  }

  filedUnder(group: GroupId, personId: string): Promise<string[]> {
    return storageCall('photos.filedUnder', 'the album could not be read', async () => {
      const rows = await this.db.selectFrom('faces').select('photo_hash').distinct().where('group_id', '=', group).where('person_id', '=', personId).execute();
      return rows.map((r) => r.photo_hash);
    });
  }

  albumPhotos(group: GroupId, query: AlbumQuery): Promise<AlbumPhoto[]> {
    return storageCall('photos.albumPhotos', 'the album could not be read', async () => {
      const people = [...new Set(query.people)];
      if (people.length === 0) return [];
      // The photos with a face named as each of them: the first person's range of the (person,
      // photo) index, narrowed by the next one's, and so on. (Grouping the faces of all of them by
      // photo and counting the people led SQLite, with no statistics, to walk every face of the
      // group in photo order: 0.4-0.6 s at 100k photos for two people; separate sets, one per
      // person, led PostgreSQL to read every photo row and hash-join them: about 100 ms. Nested,
      // 3-12 ms on both.)
      const facesOf = (person: string) => this.db.selectFrom('faces').select('photo_hash').where('group_id', '=', group).where('person_id', '=', person);
      let showingAll = facesOf(people.at(-1)!);
      for (const person of people.slice(0, -1).reverse()) showingAll = facesOf(person).where('photo_hash', 'in', showingAll);
      let photos = this.db.selectFrom('photos').select(['hash', 'posted_at', 'source']).where('group_id', '=', group).where('hash', 'in', showingAll);
      if (query.from !== undefined) photos = photos.where('posted_at', '>=', query.from);
      if (query.to !== undefined) photos = photos.where('posted_at', '<', query.to);
      const rows = await photos.orderBy('posted_at').orderBy('hash').execute();
      return rows.map((r) => ({ hash: r.hash, postedAt: r.posted_at, ...(r.source !== null ? { source: parseSource(r.source) } : {}) }));
    });
  }

  newestFiled(group: GroupId): Promise<Map<string, AlbumPhoto>> {
    return storageCall('photos.newestFiled', 'the albums could not be read', async () => {
      // For each person with a photo (person_photos), the end of their range of the faces_newest
      // index: (person, posted_at, hash), read backwards, one row. Every stored date is ISO text
      // of one length, so this orders as an album does, ties by hash.
      const latest = await this.db
        .selectFrom('person_photos')
        .where('person_photos.group_id', '=', group)
        .where('person_photos.photos', '>', 0)
        .select((eb) => [
          'person_photos.person_id',
          eb
            .selectFrom('faces')
            .select(sql<string>`faces.posted_at || '|' || faces.photo_hash`.as('newest'))
            .whereRef('faces.group_id', '=', 'person_photos.group_id')
            .whereRef('faces.person_id', '=', 'person_photos.person_id')
            .orderBy('faces.posted_at', 'desc')
            .orderBy('faces.photo_hash', 'desc')
            .limit(1)
            .as('newest'),
        ])
        .execute();
      const hashOf = (newest: string) => newest.slice(newest.lastIndexOf('|') + 1);
      const hashes = [...new Set(latest.flatMap((r) => (r.newest === null ? [] : [hashOf(r.newest)])))];
      const photos =
        hashes.length === 0
          ? []
          : await this.db.selectFrom('photos').select(['hash', 'posted_at', 'source']).where('group_id', '=', group).where('hash', 'in', hashes).execute();
      const byHash = new Map(photos.map((r) => [r.hash, r]));
      const newest = new Map<string, AlbumPhoto>();
      for (const { person_id, newest: key } of latest) {
        const r = key === null ? undefined : byHash.get(hashOf(key));
        if (!r) continue;
        newest.set(person_id, { hash: r.hash, postedAt: r.posted_at, ...(r.source !== null ? { source: parseSource(r.source) } : {}) });
      }
      return newest;
    });
  }

  unknownFaces(group: GroupId, embedder: string): Promise<UnknownFace[]> {
    return storageCall('photos.unknownFaces', 'the unknown faces could not be read', async () => {
      const rows = await this.db
        .selectFrom('faces')
        .select(['photo_hash', 'position', 'embedding', 'seen_at'])
        .where('group_id', '=', group)
        .where('person_id', 'is', null)
        .where('embedding', 'is not', null)
        .where('embedder', '=', embedder)
        .execute();
      return rows.map((r) => ({
        photoHash: r.photo_hash,
        faceIndex: r.position,
        embedding: embeddingOf(r.embedding!, 'photos.unknownFaces'),
        seenAt: r.seen_at,
      }));
    });
  }

  describedOtherwise(group: GroupId, embedder: string, limit?: number): Promise<string[]> {
    return storageCall('photos.describedOtherwise', 'the faces left to re-describe could not be read', async () => {
      // Three ranges of the embedder indexes (faces_untagged for none), not "!=": SQLite would read
      // every face of the group for that (a quarter of a second at 100k photos, on every /stats).
      const described = () => this.db.selectFrom('faces').select('photo_hash').where('group_id', '=', group).where('embedding', 'is not', null);
      let query = described()
        .where('embedder', 'is', null)
        .union(described().where('embedder', '<', embedder))
        .union(described().where('embedder', '>', embedder))
        .orderBy('photo_hash');
      if (limit !== undefined) query = query.limit(limit);
      return (await query.execute()).map((r) => r.photo_hash);
    });
  }

  async eraseUnknownEmbeddings(group: GroupId, before: string): Promise<number> {
    // The daily sweep, in every group: most days nothing is old enough, and then nothing is written
    // (nor the kept matrix file dropped).
    const any = await storageCall('photos.eraseUnknownEmbeddings', 'the unknown faces could not be erased', () =>
      this.db
        .selectFrom('faces')
        .select('photo_hash')
        .where('group_id', '=', group)
        .where('person_id', 'is', null)
        .where('seen_at', '<', before)
        .where('embedding', 'is not', null)
        .limit(1)
        .executeTakeFirst(),
    );
    if (!any) return 0;
    return this.write('photos.eraseUnknownEmbeddings', 'the unknown faces could not be erased', group, true, async (tx) => {
      const erased = await tx
        .updateTable('faces')
        .set({ embedding: null, embedder: null })
        .where('group_id', '=', group)
        .where('person_id', 'is', null)
        .where('embedding', 'is not', null)
        .where('seen_at', '<', before)
        .returning(['photo_hash'])
        .execute();
      // Every one was an unknown face with an embedding, and is one no more (`updateFaces`).
      await moveTotals(tx, group, { unknown: -erased.length, photos: new Map() });
      // The matrix does not keep ages: those photos' rows are read back.
      const touched = [...new Set(erased.map((r) => r.photo_hash))];
      return { value: erased.length, follow: { reread: touched }, touched };
    });
  }

  counts(group: GroupId): Promise<PhotoCounts> {
    return storageCall('photos.counts', 'the totals could not be counted', async () => {
      // Kept in the transaction of every write: by triggers (migration 0010), by the store for updates (0012).
      const [totals, byPerson] = await Promise.all([
        this.db.selectFrom('group_totals').selectAll().where('group_id', '=', group).executeTakeFirst(),
        this.db.selectFrom('person_photos').select(['person_id', 'photos']).where('group_id', '=', group).where('photos', '>', 0).execute(),
      ]);
      return {
        photos: count(totals?.photos),
        bytes: count(totals?.bytes),
        faces: count(totals?.faces),
        unknownFaces: count(totals?.unknown_faces),
        byPerson: new Map(byPerson.map((r) => [r.person_id, count(r.photos)])),
      };
    });
  }

  /**
   * One write to a group's faces: `change` runs in a transaction that also bumps the group's face
   * version and logs the photos it touched (or, for an erasing write, drops the kept file first
   * and empties the log), and says how the in-memory matrix follows. The matrix is updated only
   * when it was current just before this write; otherwise it stays behind until the next `near`.
   */
  private async write<T>(
    operation: string,
    message: string,
    group: GroupId,
    /** Whether the write takes anything away; asked before it, and again inside it when it said no. */
    erasing: Erasing | ((db: Kysely<LibrarySchema>) => Promise<Erasing>),
    change: (tx: Tx) => Promise<Written<T>>,
  ): Promise<T> {
    const ask = typeof erasing === 'function' ? erasing : undefined;
    let erases = ask ? await storageCall(operation, message, () => ask(this.db)) : erasing;
    if (erases) await storageCall(operation, message, () => this.dropKept(group));
    const { written, version } = await storageCall(operation, message, () =>
      this.db.transaction().execute(async (tx) => {
        const bumped = await tx
          .insertInto('face_versions')
          .values({ group_id: group, version: 1, changes_from: 0 })
          .onConflict((oc) => oc.column('group_id').doUpdateSet((eb) => ({ version: eb('face_versions.version', '+', 1) })))
          .returning('version')
          .executeTakeFirstOrThrow();
        // Asked again now that the group's version row is held: no other write of the group can
        // commit until this one does. Another process may have filed the same photo since the
        // first answer, and then this save replaces its faces: an erasure after all (the kept
        // file goes after the commit, and a start distrusts it until then, the log being reset).
        if (!erases && ask) erases = await ask(tx);
        const written = await change(tx);
        if (erases) {
          // The log starts again from here: no kept file older than this may be brought up to date.
          await tx.deleteFrom('face_changes').where('group_id', '=', group).execute();
          await tx.updateTable('face_versions').set({ changes_from: bumped.version }).where('group_id', '=', group).execute();
        } else {
          const touched = [...new Set(written.touched)];
          for (let i = 0; i < touched.length; i += 500)
            await tx
              .insertInto('face_changes')
              .values(touched.slice(i, i + 500).map((photo_hash) => ({ group_id: group, version: bumped.version, photo_hash })))
              .execute();
        }
        return { written, version: bumped.version };
      }),
    );
    // Once more after it: a file begun from an earlier matrix while this write ran (a load in the
    // background, a close) checked the log before the erasure was committed, and may hold what it erased.
    if (erases) await storageCall(operation, message, () => this.dropKept(group));
    // A matrix that was behind already (another process wrote) stays behind: the next `near`
    // brings it up to date from the log, this write included.
    const cached = this.matrices.get(group);
    if (cached?.version === version - 1) {
      const follow = written.follow;
      if (typeof follow === 'function') follow(cached.matrix, cached.embedder);
      else await storageCall(operation, message, () => this.reread(group, cached, follow.reread));
      cached.version = version;
    }
    return written.value;
  }

  /** The kept file of the group deleted, once any save of it under way is done. */
  private dropKept(group: GroupId): Promise<void> {
    const snapshots = this.snapshots;
    return snapshots ? this.fileWork(group, () => snapshots.drop(group)) : Promise.resolve();
  }

  /** Runs `work` on the group's kept file after the work queued before it: a save never lands after a drop. */
  private fileWork(group: GroupId, work: () => Promise<void>): Promise<void> {
    const done = (this.files.get(group) ?? Promise.resolve()).then(work);
    const settled = done.catch(() => undefined);
    this.files.set(group, settled);
    void settled.then(() => {
      if (this.files.get(group) === settled) this.files.delete(group);
    });
    return done;
  }

  private async matrixOf(group: GroupId, embedder: string): Promise<FaceMatrix> {
    const current = await this.db.selectFrom('face_versions').select('version').where('group_id', '=', group).executeTakeFirst();
    const version = current?.version ?? 0;
    let held = this.matrices.get(group);
    if (!held) {
      await this.restore(group);
      held = this.matrices.get(group);
    }
    // Another process wrote since: the photos it changed, from the log, rather than every face.
    if (held?.embedder === embedder && held.version !== version && !(await this.patch(group, held))) held = undefined;
    if (held?.embedder === embedder) {
      // Most recently used last: the first entries are the ones evicted.
      this.matrices.delete(group);
      this.matrices.set(group, held);
      return held.matrix;
    }
    // The version and the rows from one snapshot (on PostgreSQL, repeatable read: the pages too),
    // so a concurrent write is either in all of them or in none.
    const loaded = await this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => ({ version: await versionOf(tx, group), snapshot: await readMatrix(tx, group, embedder) }));
    const matrix = loaded.snapshot ? FaceMatrix.restore(loaded.snapshot, this.kernel) : new FaceMatrix(1024, this.kernel);
    this.matrices.delete(group);
    this.matrices.set(group, { version: loaded.version, embedder, matrix });
    this.evict();
    // Kept in a file from now on, so that the first command after a crash reads it and the log
    // since, not every face; written in the background, from a copy (the matrix follows writes).
    const snapshot = loaded.snapshot;
    if (snapshot && this.snapshots) {
      const copy = { ...snapshot, data: snapshot.data.slice(0, (snapshot.rows.length / 3) * snapshot.dimensions), rows: snapshot.rows.slice() };
      void this.keep(group, embedder, loaded.version, copy).catch(() => undefined);
    }
    return matrix;
  }

  /**
   * Leaves the matrix in the group's file, taken at `version`, and trims the log to what came
   * after it. A file of a store that has since erased anything is never written: the erasure
   * waits for this (`fileWork`) and deletes it, or this finds the version moved past an erasure.
   */
  private keep(group: GroupId, embedder: string, version: number, snapshot: MatrixSnapshot): Promise<void> {
    const snapshots = this.snapshots;
    if (!snapshots) return Promise.resolve();
    return this.fileWork(group, async () => {
      const before = await logOf(this.db, group);
      // An erasure since the snapshot was taken: its embeddings may be in it.
      if (before.changesFrom > version) return;
      const token = randomUUID();
      await snapshots.save({ group, embedder, version, faces: snapshot.rows.length / 3, token }, snapshot);
      await this.db.transaction().execute(async (tx) => {
        const now = await logOf(tx, group);
        if (now.changesFrom > version) return;
        await tx.deleteFrom('face_changes').where('group_id', '=', group).where('version', '<=', version).execute();
        await tx
          .updateTable('face_versions')
          .set({ changes_from: Math.max(now.changesFrom, version), kept: token })
          .where('group_id', '=', group)
          .execute();
      });
      // An erasure that came in while the file was written deletes it now.
      if ((await logOf(this.db, group)).changesFrom > version) await snapshots.drop(group);
    });
  }

  /**
   * Brings a matrix taken at an earlier version up to date from the log: the photos changed since,
   * read back. False when the log does not reach back that far (an erasure since, or the log was
   * trimmed): the caller loads every face then.
   */
  private async patch(group: GroupId, held: { version: number; embedder: string; matrix: FaceMatrix }, token?: string): Promise<boolean> {
    const changed = await this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        const log = await logOf(tx, group);
        if (log.changesFrom > held.version || log.version < held.version) return undefined;
        if (token !== undefined && log.kept !== token) return undefined;
        if (log.version === held.version) return { version: log.version, rows: [], hashes: [] };
        const rows = await tx
          .selectFrom('face_changes')
          .select('photo_hash')
          .distinct()
          .where('group_id', '=', group)
          .where('version', '>', held.version)
          .execute();
        const hashes = rows.map((r) => r.photo_hash);
        return { version: log.version, rows: await embeddedFaces(tx, group, held.embedder, hashes), hashes };
      });
    if (!changed) return false;
    followRows(held.matrix, changed.hashes, changed.rows);
    held.version = changed.version;
    return true;
  }

  /** The matrix follows a write by reading back the rows of the photos it changed. */
  private async reread(group: GroupId, held: { embedder: string; matrix: FaceMatrix }, hashes: readonly string[]): Promise<void> {
    followRows(held.matrix, hashes, await embeddedFaces(this.db, group, held.embedder, hashes));
  }

  /**
   * Reads the file kept for the group, once per process: its matrix is held when it is of the
   * store as it is now, or can be brought up to date from the log (`patch`). The file stays: an
   * erasing write deletes it first (`write`), and a close or a full load writes it anew.
   */
  private restore(group: GroupId): Promise<void> {
    if (this.restoreTried.has(group)) return this.restoring.get(group) ?? Promise.resolve();
    this.restoreTried.add(group);
    const reading = this.readKept(group).finally(() => this.restoring.delete(group));
    this.restoring.set(group, reading);
    return reading;
  }

  private async readKept(group: GroupId): Promise<void> {
    const kept = await this.snapshots?.read(group);
    if (!kept || this.matrices.has(group)) return;
    const held = { version: kept.key.version, embedder: kept.key.embedder, matrix: FaceMatrix.restore(kept.snapshot, this.kernel) };
    if (held.matrix.size !== kept.key.faces || !(await this.patch(group, held, kept.key.token))) {
      // Of no use any more, and perhaps holding what a process without the folder erased since.
      await this.dropKept(group);
      return;
    }
    if (this.matrices.has(group)) return;
    this.matrices.set(group, held);
    this.evict();
  }

  /**
   * Drops the least recently used matrices while all of them together are over the budget. A
   * dropped group's next command reads its kept file and the log since (`restore`), as after a
   * start, rather than every face again.
   */
  private evict(): void {
    let total = this.heldBytes();
    for (const [group, { matrix }] of this.matrices) {
      if (total <= this.matrixBudgetBytes || this.matrices.size === 1) break;
      this.matrices.delete(group);
      this.restoreTried.delete(group);
      total -= matrix.bytes;
    }
  }

  private heldBytes(): number {
    return [...this.matrices.values()].reduce((n, m) => n + m.matrix.bytes, 0);
  }

  /** The groups whose matrices this process holds, least recently used first: what the budget keeps. */
  heldMatrices(): GroupId[] {
    return [...this.matrices.keys()];
  }

  private async read(group: GroupId, hashes: readonly string[] | undefined): Promise<PhotoRecord[]> {
    if (hashes?.length === 0) return [];
    let photos = this.db.selectFrom('photos').selectAll().where('group_id', '=', group);
    let faces = this.db.selectFrom('faces').selectAll().where('group_id', '=', group);
    if (hashes) {
      photos = photos.where('hash', 'in', hashes);
      faces = faces.where('photo_hash', 'in', hashes);
    }
    const [photoRows, faceRows] = await Promise.all([photos.execute(), faces.orderBy('photo_hash').orderBy('position').execute()]);
    const facesOf = new Map<string, StoredFace[]>();
    for (const row of faceRows) {
      let list = facesOf.get(row.photo_hash);
      if (!list) facesOf.set(row.photo_hash, (list = []));
      list.push(storedFace(row));
    }
    return photoRows.map((p) => ({
      hash: p.hash,
      ext: p.ext,
      bytes: count(p.bytes),
      postedAt: p.posted_at,
      faces: facesOf.get(p.hash) ?? [],
      ...(p.original_name !== null ? { originalName: p.original_name } : {}),
      ...(p.posted_by !== null ? { postedBy: p.posted_by } : {}),
      ...(p.taken_at !== null ? { takenAt: p.taken_at } : {}),
      ...(p.source !== null ? { source: parseSource(p.source) } : {}),
    }));
  }
}

/** Face rows read per query while a matrix loads: a few megabytes, young garbage for the collector. */
const MATRIX_PAGE = 8_192;

/**
 * The group's faces of `embedder` as a packed matrix (what a kept file holds), read a page of whole
 * photos at a time and copied straight into one array: building it through records and a
 * Float32Array per face took most of a load's seconds (and its garbage the rest) at 100k photos.
 * Faces of another length than the first are left out, as `FaceMatrix.setPhoto` leaves them.
 */
async function readMatrix(tx: Tx, group: GroupId, embedder: string): Promise<MatrixSnapshot | undefined> {
  const totals = await tx.selectFrom('group_totals').select('faces').where('group_id', '=', group).executeTakeFirst();
  let capacity = Math.max(1, count(totals?.faces));
  let dimensions: number | undefined;
  let data = new Float32Array(0);
  let bytesOfData = new Uint8Array(0);
  let rows = new Int32Array(capacity * 3);
  let size = 0;
  const photos: string[] = [],
    people: string[] = [];
  const personIds = new Map<string, number>();
  const faces = () => embeddedFaceRows(tx, group, embedder);
  const add = (page: readonly { photo_hash: string; position: number; embedding: Uint8Array | null; person_id: string | null }[]) => {
    for (const row of page) {
      const bytes = row.embedding!;
      if (bytes.byteLength % 4 !== 0) throw new StorageError('a stored embedding is damaged', 'photos.near');
      dimensions ??= bytes.byteLength / 4;
      if (bytes.byteLength !== dimensions * 4) continue;
      if (size === capacity || data.length === 0) {
        // The totals count every face; only a store whose totals were wrong gets here twice.
        if (size === capacity) capacity *= 2;
        const grown = new Float32Array(capacity * dimensions);
        grown.set(data);
        data = grown;
        bytesOfData = new Uint8Array(grown.buffer);
        const grownRows = new Int32Array(capacity * 3);
        grownRows.set(rows);
        rows = grownRows;
      }
      bytesOfData.set(bytes, size * dimensions * 4);
      if (photos[photos.length - 1] !== row.photo_hash) photos.push(row.photo_hash);
      let person = -1;
      if (row.person_id !== null) {
        person = personIds.get(row.person_id) ?? -1;
        if (person < 0) personIds.set(row.person_id, (person = people.push(row.person_id) - 1));
      }
      rows[size * 3] = photos.length - 1;
      rows[size * 3 + 1] = row.position;
      rows[size * 3 + 2] = person;
      size++;
    }
  };
  // Pages of whole photos, in hash order along the embedder index: each page but its last photo,
  // then that photo by itself (all of it, however many faces it has), then on from it.
  let after: string | undefined;
  for (;;) {
    const page = await (after === undefined ? faces() : faces().where('photo_hash', '>', after)).orderBy('photo_hash').limit(MATRIX_PAGE).execute();
    if (page.length < MATRIX_PAGE) {
      add(page);
      break;
    }
    after = page[page.length - 1]!.photo_hash;
    add(page.filter((row) => row.photo_hash !== after));
    add(await faces().where('photo_hash', '=', after).execute());
  }
  if (dimensions === undefined) return undefined;
  // The spare rows stay in `data`: the matrix fills them as photos are filed.
  return { dimensions, data, photos, people, rows: rows.subarray(0, size * 3) };
}

/** The group's face version, the first version the change log reaches back to, and the kept file's mark. */
async function logOf(db: Db | Tx, group: GroupId): Promise<{ version: number; changesFrom: number; kept: string | null }> {
  const row = await db.selectFrom('face_versions').select(['version', 'changes_from', 'kept']).where('group_id', '=', group).executeTakeFirst();
  return { version: row?.version ?? 0, changesFrom: row?.changes_from ?? 0, kept: row?.kept ?? null };
}

/** The query of the group's faces of `embedder` with an embedding: what a matrix holds. */
function embeddedFaceRows(db: Db | Tx, group: GroupId, embedder: string) {
  return db
    .selectFrom('faces')
    .select(['photo_hash', 'position', 'embedding', 'person_id'])
    .where('group_id', '=', group)
    .where('embedding', 'is not', null)
    .where('embedder', '=', embedder);
}

/** The faces of `embedder` with an embedding in these photos, as rows. */
async function embeddedFaces(db: Db | Tx, group: GroupId, embedder: string, hashes: readonly string[]): Promise<FaceRow[]> {
  const rows: FaceRow[] = [];
  for (let i = 0; i < hashes.length; i += 500)
    rows.push(
      ...(await embeddedFaceRows(db, group, embedder)
        .where('photo_hash', 'in', hashes.slice(i, i + 500))
        .execute()),
    );
  return rows;
}

type FaceRow = Pick<FacesTable, 'photo_hash' | 'position' | 'embedding' | 'person_id'>;

/** The matrix's faces of these photos replaced by the rows read of them (a photo without rows has none). */
function followRows(matrix: FaceMatrix, hashes: readonly string[], rows: readonly FaceRow[]): void {
  const byPhoto = new Map<string, MatrixFace[]>(hashes.map((hash) => [hash, []]));
  for (const r of rows)
    byPhoto.get(r.photo_hash)?.push({
      faceIndex: r.position,
      embedding: embeddingOf(r.embedding!, 'photos.near'),
      ...(r.person_id !== null ? { personId: r.person_id } : {}),
    });
  for (const [hash, faces] of byPhoto) matrix.setPhoto(hash, faces);
}

/** The group's face version: bumped with every write to its faces. */
async function versionOf(tx: Tx, group: GroupId): Promise<number> {
  return (await tx.selectFrom('face_versions').select('version').where('group_id', '=', group).executeTakeFirst())?.version ?? 0;
}

/** How many faces of the group `embedder` described, from the embedder index. */
async function facesOf(tx: Tx, group: GroupId, embedder: string): Promise<number> {
  const row = await tx
    .selectFrom('faces')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('group_id', '=', group)
    .where('embedding', 'is not', null)
    .where('embedder', '=', embedder)
    .executeTakeFirst();
  return count(row?.n);
}

/** What a group's totals move by: its unknown faces, and each person's photos. */
interface TotalsMove {
  readonly unknown: number;
  readonly photos: ReadonlyMap<string, number>;
}

/** What an update in place may change of a face: its name, or its embedding taken away. */
interface FaceUpdate {
  readonly person_id?: string | null;
  readonly embedding?: null;
}

/** What the totals see of a face: its photo, its name, whether it has an embedding. */
interface CountedFace {
  readonly hash: string;
  readonly person: string | null;
  readonly embedded: boolean;
}

/** A change in place: the faces at these positions of these photos given these values. */
interface FaceChange {
  readonly set: FaceUpdate;
  readonly positions: readonly number[];
  readonly hashes: readonly string[];
}

/**
 * Faces changed in place, with the totals they move (migration 0012: SQLite's triggers, run for
 * each row, cost as much as the update itself): every face of the photos changed is read first
 * (its name, whether it has an embedding), the changes are applied to that in memory, and the
 * totals move by the difference between the two, once. The changes must not overlap. Erasures
 * are counted by the database instead (`eraseFaces`).
 */
async function updateFaces(tx: Tx, group: GroupId, changes: readonly FaceChange[]): Promise<void> {
  if (changes.every((c) => isErasure(c.set))) return eraseFaces(tx, group, changes);
  const hashes = [...new Set(changes.flatMap((c) => c.hashes))];
  const faces = new Map<string, CountedFace>();
  for (let i = 0; i < hashes.length; i += 500) {
    const rows = await tx
      .selectFrom('faces')
      .select(['photo_hash', 'position', 'person_id', sql<number | boolean>`embedding is not null`.as('embedded')])
      .where('group_id', '=', group)
      .where('photo_hash', 'in', hashes.slice(i, i + 500))
      .execute();
    for (const row of rows) faces.set(`${row.position}/${row.photo_hash}`, { hash: row.photo_hash, person: row.person_id, embedded: Boolean(row.embedded) });
  }
  const before = totalsOf(faces.values());
  for (const { set, positions, hashes: changed } of changes)
    for (const hash of changed)
      for (const position of positions) {
        const key = `${position}/${hash}`;
        const face = faces.get(key);
        if (face)
          faces.set(key, {
            hash,
            person: set.person_id !== undefined ? set.person_id : face.person,
            embedded: set.embedding === null ? false : face.embedded,
          });
      }
  const after = totalsOf(faces.values());
  for (const { set, positions, hashes: changed } of changes)
    for (let i = 0; i < changed.length; i += 500) await setFaces(tx, group, { set, positions, hashes: changed.slice(i, i + 500) });
  const people = new Set([...before.photos.keys(), ...after.photos.keys()]);
  await moveTotals(tx, group, {
    unknown: after.unknown - before.unknown,
    photos: new Map([...people].map((person) => [person, (after.photos.get(person) ?? 0) - (before.photos.get(person) ?? 0)])),
  });
}

const isErasure = (set: FaceUpdate) => set.person_id === null && set.embedding === null;

/**
 * `updateFaces` for erasures (a forget, the retention sweep): what they take from the totals is
 * counted by the database, per photo and name, instead of every face of those photos being read
 * into the process. At 100k photos a forget erases 20k faces in 19k photos; in a process whose
 * page cache does not hold them (a forget reaches photos of every year) the whole forget took
 * 3.1-3.9 s that way and 2.6-3.1 s this way. A change's photos are its own (writeMany groups a
 * photo's positions into one change), so each photo is counted once.
 */
async function eraseFaces(tx: Tx, group: GroupId, changes: readonly FaceChange[]): Promise<void> {
  let unknown = 0;
  const photos = new Map<string, number>();
  for (const { set, positions, hashes } of changes) {
    const erased = sql.join(positions);
    for (let i = 0; i < hashes.length; i += 500) {
      const batch = hashes.slice(i, i + 500);
      // Per photo and name, read once: whether every face of that name in it goes (a person then
      // leaves the photo), and how many unknown faces with an embedding go. No condition on the
      // name inside: SQLite would then walk the index of every named face instead of these photos.
      const perPhoto = tx
        .selectFrom('faces')
        .select([
          'person_id',
          sql<number>`min(case when position in (${erased}) then 1 else 0 end)`.as('gone'),
          sql<number>`sum(case when position in (${erased}) and embedding is not null then 1 else 0 end)`.as('embedded'),
        ])
        .where('group_id', '=', group)
        .where('photo_hash', 'in', batch)
        .groupBy(['photo_hash', 'person_id'])
        .as('p');
      const rows = await tx
        .selectFrom(perPhoto)
        .select(['p.person_id', (eb) => eb.fn.sum<number | string>('p.gone').as('n'), (eb) => eb.fn.sum<number | string>('p.embedded').as('embedded')])
        .groupBy('p.person_id')
        .execute();
      unknown -= Number(rows.find((row) => row.person_id === null)?.embedded ?? 0);
      const lost = rows.filter((row) => row.person_id !== null);
      for (const { person_id, n } of lost) photos.set(person_id!, (photos.get(person_id!) ?? 0) - Number(n));
      await setFaces(tx, group, { set, positions, hashes: batch });
    }
  }
  await moveTotals(tx, group, { unknown, photos });
}

/** One statement of a change in place: these values at these positions of these photos (a batch of 500 at most). */
async function setFaces(tx: Tx, group: GroupId, { set, positions, hashes }: FaceChange): Promise<void> {
  await tx.updateTable('faces').set(set).where('group_id', '=', group).where('photo_hash', 'in', hashes).where('position', 'in', positions).execute();
}

/** The unknown faces with an embedding among these, and in how many photos each person is named. */
function totalsOf(faces: Iterable<CountedFace>): TotalsMove {
  let unknown = 0;
  const photos = new Map<string, Set<string>>();
  for (const { hash, person, embedded } of faces)
    if (person === null) unknown += Number(embedded);
    else (photos.get(person) ?? photos.set(person, new Set()).get(person)!).add(hash);
  return { unknown, photos: new Map([...photos].map(([person, hashes]) => [person, hashes.size])) };
}

/** The group's totals moved, in the caller's transaction; a person left with no photo loses their row. */
async function moveTotals(tx: Tx, group: GroupId, move: TotalsMove): Promise<void> {
  if (move.unknown !== 0)
    await tx
      .updateTable('group_totals')
      .set((eb) => ({ unknown_faces: eb('unknown_faces', '+', move.unknown) }))
      .where('group_id', '=', group)
      .execute();
  const moved = [...move.photos].filter(([, n]) => n !== 0);
  for (const [person, n] of moved)
    await tx
      .insertInto('person_photos')
      .values({ group_id: group, person_id: person, photos: n })
      .onConflict((oc) => oc.columns(['group_id', 'person_id']).doUpdateSet((eb) => ({ photos: eb('person_photos.photos', '+', n) })))
      .execute();
  if (moved.length > 0)
    await tx
      .deleteFrom('person_photos')
      .where('group_id', '=', group)
      .where(
        'person_id',
        'in',
        moved.map(([person]) => person),
      )
      .where('photos', '<=', 0)
      .execute();
}

/** Records per statement: 9 columns each, well under SQLite's 32,766 parameters. */
const RECORDS_PER_STATEMENT = 200;
/** Face rows per statement: 15 columns each, whatever the number of faces per photo. */
const FACES_PER_STATEMENT = 1_000;

/**
 * Records and their faces, inside the caller's transaction: a few statements per batch of
 * records (upsert the photos, drop their face rows, insert the new ones), not three per record.
 */
async function saveRecords(tx: Tx, group: GroupId, records: readonly PhotoRecord[]): Promise<void> {
  // A hash saved twice in one change: the last version wins, as it would one by one.
  const latest = [...new Map(records.map((r) => [r.hash, r])).values()];
  for (let i = 0; i < latest.length; i += RECORDS_PER_STATEMENT) {
    const batch = latest.slice(i, i + RECORDS_PER_STATEMENT);
    const hashes = batch.map((r) => r.hash);
    await tx
      .insertInto('photos')
      .values(
        batch.map((record) => ({
          group_id: group,
          hash: record.hash,
          ext: record.ext,
          bytes: record.bytes,
          original_name: record.originalName ?? null,
          posted_by: record.postedBy ?? null,
          posted_at: record.postedAt,
          taken_at: record.takenAt ?? null,
          source: record.source ? JSON.stringify(record.source) : null,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['group_id', 'hash']).doUpdateSet((eb) => ({
          ext: eb.ref('excluded.ext'),
          bytes: eb.ref('excluded.bytes'),
          original_name: eb.ref('excluded.original_name'),
          posted_by: eb.ref('excluded.posted_by'),
          posted_at: eb.ref('excluded.posted_at'),
          taken_at: eb.ref('excluded.taken_at'),
          source: eb.ref('excluded.source'),
        })),
      )
      .execute();
    await tx.deleteFrom('faces').where('group_id', '=', group).where('photo_hash', 'in', hashes).execute();
    const faces = batch.flatMap((record) => record.faces.map((face, position) => faceRow(group, record, position, face)));
    for (let f = 0; f < faces.length; f += FACES_PER_STATEMENT)
      await tx
        .insertInto('faces')
        .values(faces.slice(f, f + FACES_PER_STATEMENT))
        .execute();
  }
}

function faceRow(group: GroupId, record: PhotoRecord, position: number, face: StoredFace): FacesTable {
  return {
    group_id: group,
    photo_hash: record.hash,
    position,
    box_x: face.box.x,
    box_y: face.box.y,
    box_width: face.box.width,
    box_height: face.box.height,
    score: face.score,
    eye_distance: face.eyeDistance,
    embedding: face.embedding ? embeddingBytes(face.embedding) : null,
    embedder: face.embedding ? (face.embedder ?? null) : null,
    unusable: face.unusable ?? null,
    person_id: face.personId ?? null,
    seen_at: face.seenAt,
    posted_at: record.postedAt,
  };
}

function storedFace(row: FacesTable): StoredFace {
  return {
    box: { x: row.box_x, y: row.box_y, width: row.box_width, height: row.box_height },
    score: row.score,
    eyeDistance: row.eye_distance,
    seenAt: row.seen_at,
    ...(row.embedding !== null ? { embedding: embeddingOf(row.embedding, 'photos.get') } : {}),
    ...(row.embedding !== null && row.embedder !== null ? { embedder: row.embedder } : {}),
    ...(row.unusable !== null ? { unusable: row.unusable as UnusableReason } : {}),
    ...(row.person_id !== null ? { personId: row.person_id } : {}),
  };
}

function parseSource(text: string): Record<string, string> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && Object.values(value).every((v) => typeof v === 'string')) return value as Record<string, string>;
  } catch {
    // Reported below.
  }
  throw new StorageError("a photo's stored source is unreadable", 'photos.get');
}

/** Whether saving these records and deleting those takes anything away: a deletion, or a record saved over. */
async function replacing(db: Kysely<LibrarySchema>, group: GroupId, saves: readonly PhotoRecord[], deletes: readonly string[]): Promise<Erasing> {
  if (deletes.length > 0) return true;
  for (let i = 0; i < saves.length; i += 500) {
    const hashes = saves.slice(i, i + 500).map((r) => r.hash);
    if (await db.selectFrom('photos').select('hash').where('group_id', '=', group).where('hash', 'in', hashes).limit(1).executeTakeFirst()) return true;
  }
  return false;
}
