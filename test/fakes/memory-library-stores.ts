import type {
  GalleryStore,
  GroupId,
  GroupSettings,
  Person,
  PhotoRecord,
  PhotoStore,
  SettingsStore,
  UnknownCluster,
} from '../../src/core/index.ts';

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
