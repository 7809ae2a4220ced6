import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  AlbumPhoto,
  AlbumQuery,
  Embedding,
  FaceAssignment,
  FaceRef,
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

/** What a write returns, and how the group's in-memory matrix follows it. */
interface Written<T> {
  readonly value: T;
  readonly follow: ((matrix: FaceMatrix, embedder: string) => void) | 'reload';
}

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
 * use and kept in step with this store's own writes; every write to a group's faces also bumps the
 * group's row in `face_versions`, so a write by another process is seen and the matrix reloaded.
 */
export class SqlPhotoStore implements PhotoStore {
  /** One matrix per group, of one embedder's faces: the one last asked for. */
  private readonly matrices = new Map<GroupId, { version: number; embedder: string; matrix: FaceMatrix }>();

  private readonly matrixBudgetBytes: number;
  private readonly kernel: SimilarityKernel | undefined;
  private readonly snapshots: MatrixSnapshots | undefined;
  /** Groups whose kept file this process has taken (or found none). */
  private readonly restoreTried = new Set<GroupId>();

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
   * (another process may have written since). Called as the process closes the store.
   */
  async saveMatrices(): Promise<void> {
    const snapshots = this.snapshots;
    if (!snapshots) return;
    for (const [group, { version, embedder, matrix }] of this.matrices) {
      const now = await this.db.transaction().execute(async (tx) => ({ version: await versionOf(tx, group), faces: await facesOf(tx, group, embedder) }));
      const snapshot = matrix.snapshot();
      if (now.version !== version || !snapshot || snapshot.rows.length / 3 !== now.faces) continue;
      await snapshots.save({ group, embedder, ...now }, snapshot);
    }
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

  writeMany(group: GroupId, change: { readonly save?: readonly PhotoRecord[]; readonly delete?: readonly string[] }): Promise<void> {
    const saves = change.save ?? [],
      deletes = change.delete ?? [];
    return this.write('photos.save', 'the photo records could not be saved', group, async (tx) => {
      await saveRecords(tx, group, saves);
      for (let i = 0; i < deletes.length; i += 500)
        await tx
          .deleteFrom('photos')
          .where('group_id', '=', group)
          .where('hash', 'in', deletes.slice(i, i + 500))
          .execute();
      return {
        value: undefined,
        follow: (matrix, embedder) => {
          for (const record of saves) matrix.setPhoto(record.hash, matrixFaces(record.faces, embedder));
          for (const hash of deletes) matrix.deletePhoto(hash);
        },
      };
    });
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
    return this.write('photos.assign', 'the faces could not be re-filed', group, async (tx) => {
      for (const { personId, position, hashes } of batches.values()) {
        for (let i = 0; i < hashes.length; i += 500) {
          await tx
            .updateTable('faces')
            .set({ person_id: personId })
            .where('group_id', '=', group)
            .where('position', '=', position)
            .where('photo_hash', 'in', hashes.slice(i, i + 500))
            .execute();
        }
      }
      return { value: undefined, follow: (matrix) => faces.forEach((f) => matrix.assign(f.photoHash, f.faceIndex, f.personId)) };
    });
  }

  removeFaces(group: GroupId, faces: readonly FaceRef[]): Promise<number> {
    // The photos by which of their positions go: each such set is a few statements per 500 photos.
    const byPhoto = new Map<string, Set<number>>();
    for (const f of faces) (byPhoto.get(f.photoHash) ?? byPhoto.set(f.photoHash, new Set()).get(f.photoHash)!).add(f.faceIndex);
    const byGone = new Map<string, { gone: number[]; hashes: string[] }>();
    for (const [hash, set] of byPhoto) {
      const gone = [...set].sort((a, b) => a - b);
      const key = gone.join(',');
      (byGone.get(key) ?? byGone.set(key, { gone, hashes: [] }).get(key)!).hashes.push(hash);
    }
    return this.write('photos.removeFaces', 'the faces could not be removed', group, async (tx) => {
      let removed = 0;
      for (const { gone, hashes } of byGone.values()) {
        for (let i = 0; i < hashes.length; i += 500) {
          const batch = hashes.slice(i, i + 500);
          const deleted = await tx
            .deleteFrom('faces')
            .where('group_id', '=', group)
            .where('photo_hash', 'in', batch)
            .where('position', 'in', gone)
            .executeTakeFirst();
          removed += Number(deleted.numDeletedRows);
          // The later faces move up by the number gone before them: through negative positions,
          // so that no row takes a position another still holds (the key is checked row by row).
          const shift = sql.join(
            gone.map((g) => sql`case when position > ${g} then 1 else 0 end`),
            sql` + `,
          );
          await tx
            .updateTable('faces')
            .set({ position: sql<number>`-1 - (position - (${shift}))` })
            .where('group_id', '=', group)
            .where('photo_hash', 'in', batch)
            .where('position', '>', gone[0]!)
            .execute();
          await tx
            .updateTable('faces')
            .set({ position: sql<number>`-1 - position` })
            .where('group_id', '=', group)
            .where('photo_hash', 'in', batch)
            .where('position', '<', 0)
            .execute();
        }
      }
      return {
        value: removed,
        follow: (matrix) => {
          for (const [hash, set] of byPhoto) matrix.removeFaces(hash, [...set]);
        },
      };
    });
  }

  async near(group: GroupId, probes: readonly Embedding[], min: number, embedder: string): Promise<NearFace[]> {
    const matrix = await storageCall('photos.near', 'the face embeddings could not be read', () => this.matrixOf(group, embedder));
    return matrix.near(probes, min);
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
      // The photos with a face named as each of them: from the (person, photo) index, one row
      // per photo and person, kept where every person was counted.
      const showingAll = this.db
        .selectFrom('faces')
        .select('photo_hash')
        .where('group_id', '=', group)
        .where('person_id', 'in', people)
        .groupBy('photo_hash')
        .having((eb) => eb.fn.count('person_id').distinct(), '=', people.length);
      let photos = this.db.selectFrom('photos').select(['hash', 'posted_at', 'source']).where('group_id', '=', group).where('hash', 'in', showingAll);
      if (query.from !== undefined) photos = photos.where('posted_at', '>=', query.from);
      if (query.to !== undefined) photos = photos.where('posted_at', '<', query.to);
      const rows = await photos.orderBy('posted_at').orderBy('hash').execute();
      return rows.map((r) => ({ hash: r.hash, postedAt: r.posted_at, ...(r.source !== null ? { source: parseSource(r.source) } : {}) }));
    });
  }

  newestFiled(group: GroupId): Promise<Map<string, AlbumPhoto>> {
    return storageCall('photos.newestFiled', 'the albums could not be read', async () => {
      // One pass over the (person, photo) index: each person's greatest "posted_at|hash" (every
      // stored date is ISO text of one length, so this orders as an album does, ties by hash);
      // then the few photos it names. A join back to the maximum read every named face twice.
      const latest = await this.db
        .selectFrom('faces')
        .innerJoin('photos', (join) => join.onRef('photos.group_id', '=', 'faces.group_id').onRef('photos.hash', '=', 'faces.photo_hash'))
        .where('faces.group_id', '=', group)
        .where('faces.person_id', 'is not', null)
        .select((eb) => ['faces.person_id', eb.fn.max(sql<string>`photos.posted_at || '|' || photos.hash`).as('newest')])
        .groupBy('faces.person_id')
        .execute();
      const hashOf = (newest: string) => newest.slice(newest.lastIndexOf('|') + 1);
      const hashes = [...new Set(latest.map((r) => hashOf(r.newest)))];
      const photos =
        hashes.length === 0
          ? []
          : await this.db.selectFrom('photos').select(['hash', 'posted_at', 'source']).where('group_id', '=', group).where('hash', 'in', hashes).execute();
      const byHash = new Map(photos.map((r) => [r.hash, r]));
      const newest = new Map<string, AlbumPhoto>();
      for (const { person_id, newest: key } of latest) {
        const r = byHash.get(hashOf(key));
        if (person_id === null || !r) continue;
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
      // Three ranges of the embedder index, not "!=": SQLite would read every face of the group for
      // that (a quarter of a second at 100k photos, on every /stats), to find nothing as a rule.
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

  eraseUnknownEmbeddings(group: GroupId, before: string): Promise<number> {
    return this.write('photos.eraseUnknownEmbeddings', 'the unknown faces could not be erased', group, async (tx) => {
      const erased = await tx
        .updateTable('faces')
        .set({ embedding: null, embedder: null })
        .where('group_id', '=', group)
        .where('person_id', 'is', null)
        .where('embedding', 'is not', null)
        .where('seen_at', '<', before)
        .returning(['photo_hash'])
        .execute();
      // The matrix does not keep ages: after an erasure it is reloaded on next use.
      return { value: erased.length, follow: erased.length > 0 ? 'reload' : () => undefined };
    });
  }

  counts(group: GroupId): Promise<PhotoCounts> {
    return storageCall('photos.counts', 'the totals could not be counted', async () => {
      // Each total from an index: the primary keys, the partial index of unknown faces with an
      // embedding, and (person, photo) for the albums.
      const total = (table: 'photos' | 'faces') =>
        this.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('group_id', '=', group)
          .executeTakeFirst();
      const [photos, bytes, faces, unknown, byPerson] = await Promise.all([
        total('photos'),
        this.db
          .selectFrom('photos')
          .select((eb) => eb.fn.sum<number | string | null>('bytes').as('n'))
          .where('group_id', '=', group)
          .executeTakeFirst(),
        total('faces'),
        this.db
          .selectFrom('faces')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('group_id', '=', group)
          .where('person_id', 'is', null)
          .where('embedding', 'is not', null)
          .executeTakeFirst(),
        this.db
          .selectFrom('faces')
          .select((eb) => ['person_id', eb.fn.count('photo_hash').distinct().as('n')])
          .where('group_id', '=', group)
          .where('person_id', 'is not', null)
          .groupBy('person_id')
          .execute(),
      ]);
      return {
        photos: count(photos?.n),
        bytes: count(bytes?.n),
        faces: count(faces?.n),
        unknownFaces: count(unknown?.n),
        byPerson: new Map(byPerson.map((r) => [r.person_id!, count(r.n)])),
      };
    });
  }

  /**
   * One write to a group's faces: `change` runs in a transaction that also bumps the group's face
   * version, and says how the in-memory matrix follows (or 'reload' when it cannot cheaply). The
   * matrix is updated only when it was current just before this write; otherwise it is dropped.
   */
  private async write<T>(operation: string, message: string, group: GroupId, change: (tx: Tx) => Promise<Written<T>>): Promise<T> {
    await storageCall(operation, message, () => this.restore(group));
    const { written, version } = await storageCall(operation, message, () =>
      this.db.transaction().execute(async (tx) => {
        const written = await change(tx);
        const bumped = await tx
          .insertInto('face_versions')
          .values({ group_id: group, version: 1 })
          .onConflict((oc) => oc.column('group_id').doUpdateSet((eb) => ({ version: eb('face_versions.version', '+', 1) })))
          .returning('version')
          .executeTakeFirstOrThrow();
        return { written, version: bumped.version };
      }),
    );
    const cached = this.matrices.get(group);
    if (cached) {
      if (written.follow !== 'reload' && cached.version === version - 1) {
        written.follow(cached.matrix, cached.embedder);
        cached.version = version;
      } else {
        this.matrices.delete(group);
      }
    }
    return written.value;
  }

  private async matrixOf(group: GroupId, embedder: string): Promise<FaceMatrix> {
    const current = await this.db.selectFrom('face_versions').select('version').where('group_id', '=', group).executeTakeFirst();
    const version = current?.version ?? 0;
    const cached = this.matrices.get(group);
    if (cached && cached.version === version && cached.embedder === embedder) {
      // Most recently used last: the first entries are the ones evicted.
      this.matrices.delete(group);
      this.matrices.set(group, cached);
      return cached.matrix;
    }
    if (!this.restoreTried.has(group)) {
      await this.restore(group);
      return this.matrixOf(group, embedder);
    }
    // The version and the rows from one snapshot, so a concurrent write is either in both or in neither.
    const loaded = await this.db.transaction().execute(async (tx) => {
      const v = await versionOf(tx, group);
      const rows = await tx
        .selectFrom('faces')
        .select(['photo_hash', 'position', 'embedding', 'person_id'])
        .where('group_id', '=', group)
        .where('embedding', 'is not', null)
        .where('embedder', '=', embedder)
        .orderBy('photo_hash')
        .execute();
      return { version: v, rows };
    });
    const matrix = new FaceMatrix(loaded.rows.length, this.kernel);
    let i = 0;
    while (i < loaded.rows.length) {
      const hash = loaded.rows[i]!.photo_hash;
      const faces = [];
      for (; i < loaded.rows.length && loaded.rows[i]!.photo_hash === hash; i++) {
        const r = loaded.rows[i]!;
        faces.push({ faceIndex: r.position, embedding: embeddingOf(r.embedding!, 'photos.near'), ...(r.person_id !== null ? { personId: r.person_id } : {}) });
      }
      matrix.setPhoto(hash, faces);
    }
    this.matrices.delete(group);
    this.matrices.set(group, { version: loaded.version, embedder, matrix });
    this.evict();
    return matrix;
  }

  /**
   * Takes the file the last close left for the group, once per process: its matrix is held when it
   * is of the store as it is now. Done before the group's first write too, so that the file (and
   * the embeddings in it) is gone before any erasure.
   */
  private async restore(group: GroupId): Promise<void> {
    if (this.restoreTried.has(group)) return;
    this.restoreTried.add(group);
    const kept = await this.snapshots?.take(group);
    if (!kept || this.matrices.has(group)) return;
    const { embedder } = kept.key;
    const now = await this.db.transaction().execute(async (tx) => ({ version: await versionOf(tx, group), faces: await facesOf(tx, group, embedder) }));
    if (now.version !== kept.key.version || now.faces !== kept.key.faces) return;
    this.matrices.set(group, { version: now.version, embedder, matrix: FaceMatrix.restore(kept.snapshot, this.kernel) });
    this.evict();
  }

  /** Drops the least recently used matrices while all of them together are over the budget. */
  private evict(): void {
    let total = [...this.matrices.values()].reduce((n, m) => n + m.matrix.bytes, 0);
    for (const [group, { matrix }] of this.matrices) {
      if (total <= this.matrixBudgetBytes || this.matrices.size === 1) break;
      this.matrices.delete(group);
      total -= matrix.bytes;
    }
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

/** Records per statement: well under SQLite's 32,766 parameters with their faces. 14 columns each. */
const RECORDS_PER_STATEMENT = 200;

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
    const faces = batch.flatMap((record) => record.faces.map((face, position) => faceRow(group, record.hash, position, face)));
    if (faces.length > 0) await tx.insertInto('faces').values(faces).execute();
  }
}

function faceRow(group: GroupId, hash: string, position: number, face: StoredFace): FacesTable {
  return {
    group_id: group,
    photo_hash: hash,
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
