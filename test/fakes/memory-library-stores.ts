import type {
  AlbumPhoto,
  AlbumQuery,
  Embedding,
  FaceAssignment,
  PhotoChange,
  GalleryStore,
  GroupId,
  GroupSettings,
  NearFace,
  Person,
  PhotoCounts,
  PhotoRecord,
  PhotoStore,
  SettingsStore,
  UnknownCluster,
  UnknownFace,
} from '../../src/core/index.ts';
import { FaceMatrix, matrixFaces } from '../../src/core/index.ts';
import { withPerson } from '../../src/core/library/filing.ts';

// Every value is deep-copied in and out (structuredClone copies Float32Arrays too), so a test that
// mutates what it saved or got cannot change what the store holds: the same as a real database.

/** The records of each group, kept apart. */
class GroupMaps<T> {
  private readonly groups = new Map<GroupId, Map<string, T>>();

  of(group: GroupId): Map<string, T> {
    let records = this.groups.get(group);
    if (!records) {
      records = new Map();
      this.groups.set(group, records);
    }
    return records;
  }

  peek(group: GroupId): ReadonlyMap<string, T> | undefined {
    return this.groups.get(group);
  }
}

/** The in-memory `GalleryStore`, for tests of code that uses one. */
export class MemoryGalleryStore implements GalleryStore {
  private readonly people = new GroupMaps<Person>();

  list(group: GroupId): Promise<Person[]> {
    return Promise.resolve([...(this.people.peek(group)?.values() ?? [])].map((p) => structuredClone(p)));
  }

  save(group: GroupId, person: Person): Promise<void> {
    this.people.of(group).set(person.id, structuredClone(person));
    return Promise.resolve();
  }

  delete(group: GroupId, personId: string): Promise<void> {
    this.people.of(group).delete(personId);
    return Promise.resolve();
  }
}

/** The in-memory `PhotoStore`, for tests of code that uses one. */
export class MemoryPhotoStore implements PhotoStore {
  private readonly photos = new GroupMaps<PhotoRecord>();

  get(group: GroupId, hash: string): Promise<PhotoRecord | undefined> {
    const record = this.photos.peek(group)?.get(hash);
    return Promise.resolve(record && structuredClone(record));
  }

  save(group: GroupId, record: PhotoRecord): Promise<void> {
    this.photos.of(group).set(record.hash, structuredClone(record));
    return Promise.resolve();
  }

  delete(group: GroupId, hash: string): Promise<void> {
    this.photos.of(group).delete(hash);
    return Promise.resolve();
  }

  list(group: GroupId): Promise<PhotoRecord[]> {
    return Promise.resolve([...(this.photos.peek(group)?.values() ?? [])].map((r) => structuredClone(r)));
  }

  writeMany(group: GroupId, change: PhotoChange): Promise<void> {
    const records = this.photos.of(group);
    for (const record of change.save ?? []) records.set(record.hash, structuredClone(record));
    for (const hash of change.delete ?? []) records.delete(hash);
    for (const { photoHash, faceIndex } of change.erase ?? []) {
      const record = records.get(photoHash);
      const face = record?.faces[faceIndex];
      if (!record || !face) continue;
      const { embedding: _embedding, embedder: _embedder, personId: _personId, ...kept } = face;
      records.set(photoHash, { ...record, faces: record.faces.map((f, i) => (i === faceIndex ? kept : f)) });
    }
    return Promise.resolve();
  }

  assign(group: GroupId, faces: readonly FaceAssignment[]): Promise<void> {
    const records = this.photos.of(group);
    for (const { photoHash, faceIndex, personId } of faces) {
      const record = records.get(photoHash);
      const face = record?.faces[faceIndex];
      if (!record || !face) continue;
      records.set(photoHash, { ...record, faces: record.faces.map((f, i) => (i === faceIndex ? withPerson(face, personId) : f)) });
    }
    return Promise.resolve();
  }

  getMany(group: GroupId, hashes: readonly string[]): Promise<PhotoRecord[]> {
    const records = this.photos.peek(group);
    return Promise.resolve([...new Set(hashes)].flatMap((h) => (records?.has(h) ? [structuredClone(records.get(h)!)] : [])));
  }

  /** By brute force: a matrix built afresh from every record, each time. */
  near(group: GroupId, probes: readonly Embedding[], min: number, embedder: string): Promise<NearFace[]> {
    return this.matrixOf(group, embedder).near(probes, min);
  }

  between(
    group: GroupId,
    probes: readonly Embedding[],
    owners: readonly number[],
    range: { from: number; below: number },
    embedder: string,
  ): Promise<string[]> {
    return this.matrixOf(group, embedder).between(probes, owners, range.from, range.below);
  }

  claimed(
    group: GroupId,
    probes: readonly Embedding[],
    owners: readonly number[],
    claim: { owner: number; from: number; margin: number },
    embedder: string,
  ): Promise<Omit<NearFace, 'hits'>[]> {
    return this.matrixOf(group, embedder).claimed(probes, owners, claim.owner, claim.from, claim.margin);
  }

  private matrixOf(group: GroupId, embedder: string): FaceMatrix {
    const matrix = new FaceMatrix();
    for (const r of this.photos.peek(group)?.values() ?? []) matrix.setPhoto(r.hash, matrixFaces(r.faces, embedder));
    return matrix;
  }

  filedUnder(group: GroupId, personId: string): Promise<string[]> {
    return Promise.resolve([...(this.photos.peek(group)?.values() ?? [])].filter((r) => r.faces.some((f) => f.personId === personId)).map((r) => r.hash));
  }

  albumPhotos(group: GroupId, query: AlbumQuery): Promise<AlbumPhoto[]> {
    const people = [...new Set(query.people)];
    if (people.length === 0) return Promise.resolve([]);
    const found = [...(this.photos.peek(group)?.values() ?? [])]
      .filter((r) => people.every((id) => r.faces.some((f) => f.personId === id)))
      .filter((r) => (query.from === undefined || r.postedAt >= query.from) && (query.to === undefined || r.postedAt < query.to))
      .sort((a, b) => (a.postedAt < b.postedAt ? -1 : a.postedAt > b.postedAt ? 1 : a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    return Promise.resolve(found.map((r) => ({ hash: r.hash, postedAt: r.postedAt, ...(r.source ? { source: { ...r.source } } : {}) })));
  }

  async newestFiled(group: GroupId): Promise<Map<string, AlbumPhoto>> {
    const newest = new Map<string, AlbumPhoto>();
    for (const r of this.photos.peek(group)?.values() ?? [])
      for (const id of new Set(r.faces.flatMap((f) => (f.personId !== undefined ? [f.personId] : [])))) {
        const [last] = await this.albumPhotos(group, { people: [id] }).then((album) => album.reverse());
        if (last) newest.set(id, last);
      }
    return newest;
  }

  unknownFaces(group: GroupId, embedder: string): Promise<UnknownFace[]> {
    return Promise.resolve(
      [...(this.photos.peek(group)?.values() ?? [])].flatMap((r) =>
        r.faces.flatMap((f, faceIndex) =>
          f.embedding && f.embedder === embedder && f.personId === undefined
            ? [{ photoHash: r.hash, faceIndex, embedding: f.embedding.slice(), seenAt: f.seenAt }]
            : [],
        ),
      ),
    );
  }

  describedOtherwise(group: GroupId, embedder: string, limit = Infinity): Promise<string[]> {
    const records = [...(this.photos.peek(group)?.values() ?? [])];
    const left = records.filter((r) => r.faces.some((f) => f.embedding && f.embedder !== embedder)).map((r) => r.hash);
    return Promise.resolve(left.sort().slice(0, limit));
  }

  eraseUnknownEmbeddings(group: GroupId, before: string): Promise<number> {
    let erased = 0;
    for (const [hash, r] of this.photos.peek(group) ?? []) {
      const faces = r.faces.map((face) => {
        if (face.personId !== undefined || !face.embedding || face.seenAt >= before) return face;
        erased++;
        const { embedding: _erased, embedder: _by, ...rest } = face;
        return rest;
      });
      this.photos.of(group).set(hash, { ...r, faces });
    }
    return Promise.resolve(erased);
  }

  counts(group: GroupId): Promise<PhotoCounts> {
    const records = [...(this.photos.peek(group)?.values() ?? [])];
    const byPerson = new Map<string, number>();
    for (const r of records)
      for (const id of new Set(r.faces.flatMap((f) => (f.personId !== undefined ? [f.personId] : [])))) byPerson.set(id, (byPerson.get(id) ?? 0) + 1);
    const faces = records.flatMap((r) => r.faces);
    return Promise.resolve({
      photos: records.length,
      bytes: records.reduce((sum, r) => sum + r.bytes, 0),
      faces: faces.length,
      unknownFaces: faces.filter((f) => f.embedding && f.personId === undefined).length,
      byPerson,
    });
  }
}

/** The in-memory `SettingsStore`, for tests of code that uses one. */
export class MemorySettingsStore implements SettingsStore {
  private readonly settings = new Map<GroupId, GroupSettings>();
  private readonly clusters = new Map<GroupId, UnknownCluster[]>();

  get(group: GroupId): Promise<GroupSettings | undefined> {
    const settings = this.settings.get(group);
    return Promise.resolve(settings && structuredClone(settings));
  }

  save(group: GroupId, settings: GroupSettings): Promise<void> {
    this.settings.set(group, structuredClone(settings));
    return Promise.resolve();
  }

  getClusters(group: GroupId): Promise<UnknownCluster[] | undefined> {
    const clusters = this.clusters.get(group);
    return Promise.resolve(clusters && structuredClone(clusters));
  }

  saveClusters(group: GroupId, clusters: readonly UnknownCluster[]): Promise<void> {
    this.clusters.set(group, structuredClone([...clusters]));
    return Promise.resolve();
  }

  forgetGroup(group: GroupId): Promise<void> {
    this.settings.delete(group);
    this.clusters.delete(group);
    return Promise.resolve();
  }
}
