import type {
  AlbumStore,
  FaceEngine,
  GalleryStore,
  ImageDecoder,
  PhotoRef,
  PhotoStore,
  RepairReport,
  Renderer,
  SettingsStore,
} from '../ports.ts';
import type { DecodedImage, Embedding } from '../types.ts';
import type { GroupId, GroupSettings, Person, PhotoRecord, ReplyMode, Sample, StoredFace, UnknownCluster } from '../library-types.ts';
import type { MatchPolicy } from '../matcher.ts';
import { KeyedSerialQueue } from '../concurrency.ts';
import { sha256Hex } from '../hash.ts';
import { silentLog, type Log } from '../log.ts';
import { similarity } from '../vector.ts';
import { safeFolderName, uniqueFolderName } from '../safe-name.ts';
import { clusterFaces } from './clustering.ts';
import { cleanPersonName, sameName } from './names.ts';
import { assignFaces, peopleOf, planRefile, withPerson, type RefileChange } from './refile.ts';
import type {
  AlbumResult,
  EnrollRequest,
  EnrollResult,
  ForgetResult,
  GroupSettingsView,
  IncomingPhoto,
  IngestResult,
  LibraryStats,
  NameClusterResult,
  NotThisResult,
  PersonRef,
  PersonSummary,
  SetThresholdResult,
  ThresholdReport,
  UnknownClustersResult,
} from './results.ts';

/** The thresholds an admin may set: below 0.8 this embedder calls most strangers alike. */
export const THRESHOLD_RANGE = { min: 0.8, max: 0.99 } as const;

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
  /** Reclaims the space of deleted records so erased embeddings are gone from disk, not just unlinked. */
  readonly compact?: () => Promise<void>;
  readonly log?: Log;
  readonly now?: () => Date;
}

/** At most this many unknown faces (the most recent) are clustered at once. */
const MAX_CLUSTER_FACES = 1500;
/** At most this many of a cluster's faces become samples when it is named. */
const SAMPLES_PER_NAMED_CLUSTER = 5;

/**
 * Everything a group can do with its photos, on any chat platform: each group (a Telegram chat, a
 * Discord server) is a separate library whose people, photos, albums and settings no other group
 * sees. Mutations of one group run one at a time; different groups proceed in parallel on the
 * shared engine. Expected outcomes are returned as values; only broken infrastructure throws.
 */
export class PhotoLibrary {
  private readonly queues = new KeyedSerialQueue();
  private readonly log: Log;
  private readonly now: () => Date;

  constructor(private readonly deps: LibraryDependencies) {
    this.log = deps.log ?? silentLog;
    this.now = deps.now ?? (() => new Date());
  }

  /** Files a posted photo into the album of everyone it shows; skips exact duplicates. */
  ingest(group: GroupId, photo: IncomingPhoto): Promise<IngestResult> {
    return this.serial(group, async () => (await this.ingestNow(group, photo)).result);
  }

  /**
   * Adds a face sample for a person (creating them), then re-files the group's earlier photos that
   * now show them. A photo with several faces is never guessed from: the answer is a numbered
   * contact sheet, and the caller asks again with `face`.
   */
  enroll(group: GroupId, request: EnrollRequest): Promise<EnrollResult> {
    return this.serial(group, () => this.enrollNow(group, request));
  }

  /** A person's album as zip parts, each under `maxPartBytes`; or, without a limit, its photo list. */
  album(group: GroupId, name: string, maxPartBytes?: number): Promise<AlbumResult> {
    return this.serial(group, async () => {
      const people = await this.deps.gallery.list(group);
      const person = findPerson(people, name);
      if (!person) return { kind: 'unknown-person', people: people.map((p) => p.name) };
      const ref = refOf(person);
      const entries = await this.deps.albums.list(group, person.folder);
      if (entries.length === 0) return { kind: 'empty', person: ref };
      if (maxPartBytes === undefined) return { kind: 'album-photos', person: ref, entries };
      return { kind: 'album', person: ref, export: await this.deps.albums.export(group, person.folder, person.name, maxPartBytes) };
    });
  }

  /** Who is enrolled, with their sample and photo counts, by name. */
  async people(group: GroupId): Promise<PersonSummary[]> {
    const [people, records] = await Promise.all([this.deps.gallery.list(group), this.deps.photos.list(group)]);
    return people
      .map((p) => ({
        ...refOf(p),
        samples: p.samples.length,
        photos: records.filter((r) => peopleOf(r).includes(p.id)).length,
        ...(p.userId ? { linkedUser: p.userId } : {}),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async settings(group: GroupId): Promise<GroupSettingsView> {
    return this.settingsOf(group);
  }

  setReplyMode(group: GroupId, replyMode: ReplyMode): Promise<GroupSettingsView> {
    return this.serial(group, async () => {
      const next = { ...(await this.settingsOf(group)), replyMode };
      await this.deps.settings.save(group, next);
      return next;
    });
  }

  /** Sets the group's threshold and re-files every photo so the albums agree with it. */
  setThreshold(group: GroupId, threshold: number): Promise<SetThresholdResult> {
    return this.serial(group, async () => {
      if (!Number.isFinite(threshold) || threshold < THRESHOLD_RANGE.min || threshold > THRESHOLD_RANGE.max) {
        return { kind: 'out-of-range', ...THRESHOLD_RANGE };
      }
      const current = await this.settingsOf(group);
      await this.deps.settings.save(group, { ...current, threshold });
      const changes = await this.refile(group, { threshold, margin: this.deps.defaults.margin });
      return { kind: 'set', previous: current.threshold, threshold, ...countChanges(changes) };
    });
  }

  /**
   * For admins: a plot of same-person against different-person similarities among the group's
   * samples and recognised faces, with the threshold marked; with `proposed`, how many photos a
   * change to it would move.
   */
  async thresholdReport(group: GroupId, proposed?: number): Promise<ThresholdReport> {
    const [settings, people, records] = await Promise.all([this.settingsOf(group), this.deps.gallery.list(group), this.deps.photos.list(group)]);
    const { same, different } = similarityDistributions(people, records);
    const plot = await this.deps.renderer.similarityPlot({
      same,
      different,
      threshold: settings.threshold,
      ...(proposed === undefined ? {} : { proposed }),
      title: 'Similarity of faces of the same person and of different people',
    });
    const report: ThresholdReport = { threshold: settings.threshold, plot, samePairs: same.length, differentPairs: different.length };
    if (proposed === undefined) return report;
    const changes = planRefile(records, people, { threshold: proposed, margin: this.deps.defaults.margin });
    return { ...report, proposed: { threshold: proposed, ...countChanges(changes) } };
  }

  /** Clusters the faces nobody was recognised in, keeps the ones that keep appearing, and shows them. */
  unknownClusters(group: GroupId): Promise<UnknownClustersResult> {
    return this.serial(group, async () => {
      const { threshold } = await this.settingsOf(group);
      const records = await this.deps.photos.list(group);
      const inputs = records
        .flatMap((r) => r.faces.map((face, faceIndex) => ({ r, face, faceIndex })))
        .filter(({ face }) => face.embedding && !face.personId)
        .sort((a, b) => b.face.seenAt.localeCompare(a.face.seenAt))
        .slice(0, MAX_CLUSTER_FACES)
        .map(({ r, face, faceIndex }) => ({ key: { photoHash: r.hash, faceIndex }, photo: r.hash, embedding: face.embedding! }));
      const minPhotos = this.deps.defaults.minClusterPhotos;
      const found = clusterFaces(inputs, threshold, minPhotos);
      const clusters = found.map((c, i) => ({
        id: i + 1,
        faces: c.central.map((m) => m.key),
        photos: new Set(c.members.map((m) => m.photo)).size,
      }));
      await this.deps.settings.saveClusters(group, clusters.map(({ id, faces }) => ({ id, faces })));
      if (clusters.length === 0) return { clusters, minPhotos };
      const byHash = new Map(records.map((r) => [r.hash, r]));
      const tiles = [];
      for (const cluster of clusters.slice(0, 30)) {
        const example = cluster.faces[0]!;
        const record = byHash.get(example.photoHash)!;
        const image = await this.decodeStored(group, record);
        if (image) tiles.push({ image, box: record.faces[example.faceIndex]!.box, label: String(cluster.id) });
      }
      const sheet = tiles.length > 0 ? await this.deps.renderer.contactSheet(tiles, 'Faces that keep appearing: name one with its number') : undefined;
      return { clusters, minPhotos, ...(sheet ? { sheet } : {}) };
    });
  }

  /** Enrolls a cluster of unknown faces under a name (new or existing person) and files its photos. */
  nameCluster(group: GroupId, clusterId: number, rawName: string, by?: string): Promise<NameClusterResult> {
    return this.serial(group, async () => {
      const clean = cleanPersonName(rawName);
      if (!clean.ok) return { kind: 'invalid-name', reason: clean.reason };
      const clusters = (await this.deps.settings.getClusters(group)) ?? [];
      const cluster = clusters.find((c) => c.id === clusterId);
      if (!cluster) return { kind: 'unknown-cluster', clusters: clusters.map((c) => c.id) };
      const samples: Sample[] = [];
      for (const { photoHash, faceIndex } of cluster.faces) {
        const embedding = (await this.deps.photos.get(group, photoHash))?.faces[faceIndex]?.embedding;
        if (embedding) samples.push(this.sample(embedding, photoHash, by));
        if (samples.length >= SAMPLES_PER_NAMED_CLUSTER) break;
      }
      const added = await this.addSamples(group, clean.name, samples, undefined);
      if (added.kind !== 'added') throw new Error('a cluster never links a user');
      const { person, isNew } = added;
      const changes = await this.refile(group);
      // The clusters' face references are only valid until the next clustering.
      await this.deps.settings.saveClusters(group, []);
      return { kind: 'named', person: refOf(person), newPerson: isNew, filed: changes.filter((c) => c.added.includes(person.id)).length };
    });
  }

  /** "This is not Anna": takes the photo out of her album for good, and re-files it. */
  notThis(group: GroupId, name: string, photo: { hash: string } | IncomingPhoto): Promise<NotThisResult> {
    return this.serial(group, async () => {
      const people = await this.deps.gallery.list(group);
      const person = findPerson(people, name);
      if (!person) return { kind: 'unknown-person', people: people.map((p) => p.name) };
      const hash = 'hash' in photo ? photo.hash : sha256Hex(photo.bytes);
      const record = await this.deps.photos.get(group, hash);
      if (!record) return { kind: 'unknown-photo' };
      if (!peopleOf(record).includes(person.id)) return { kind: 'not-in-album', person: refOf(person) };
      const updated: Person = {
        ...person,
        rejected: [...person.rejected, hash],
        // A sample taken from this very photo was the mistake: it goes too.
        samples: person.samples.filter((s) => s.photoHash !== hash),
      };
      await this.deps.gallery.save(group, updated);
      await this.refile(group);
      const after = (await this.deps.photos.get(group, hash)) ?? record;
      const everyone = await this.deps.gallery.list(group);
      const now = peopleOf(after).map((id) => everyone.find((p) => p.id === id)).filter((p): p is Person => p !== undefined);
      return { kind: 'removed', person: refOf(person), nowFiledUnder: now.map(refOf) };
    });
  }

  /**
   * Forgets a person: their samples, the link to their account, their album, every face
   * embedding of theirs (named ones, and unknown ones close to their samples), and the photos no
   * one else's album holds. The store is compacted afterwards so the bytes are gone from disk.
   */
  forget(group: GroupId, who: { name: string } | { userId: string }): Promise<ForgetResult> {
    return this.serial(group, async () => {
      const people = await this.deps.gallery.list(group);
      const person = 'name' in who ? findPerson(people, who.name) : people.find((p) => p.userId === who.userId);
      if (!person) return 'name' in who ? { kind: 'unknown-person', people: people.map((p) => p.name) } : { kind: 'not-enrolled' };
      const { threshold } = await this.settingsOf(group);
      // Unknown faces this close to the person's samples are taken to be them, and erased too.
      const eraseFrom = threshold - 0.03;
      const looksLikeThem = (e: Embedding) => person.samples.some((s) => similarity(s.embedding, e) >= eraseFrom);
      await this.deps.gallery.delete(group, person.id);
      let photosDeleted = 0, facesErased = 0;
      for (const record of await this.deps.photos.list(group)) {
        const wasTheirs = peopleOf(record).includes(person.id);
        const faces = record.faces.filter((face) => {
          const theirs = face.personId === person.id || (!face.personId && face.embedding !== undefined && looksLikeThem(face.embedding));
          if (theirs) facesErased++;
          return !theirs;
        });
        if (faces.length === record.faces.length) continue;
        const kept = { ...record, faces };
        if (wasTheirs && peopleOf(kept).length === 0) {
          await this.deps.photos.delete(group, record.hash);
          await this.deps.albums.deleteOriginal(group, photoRef(record));
          photosDeleted++;
        } else {
          await this.deps.photos.save(group, kept);
        }
      }
      await this.deps.albums.removeAlbum(group, person.folder);
      await this.deps.settings.saveClusters(group, []);
      await this.deps.compact?.();
      this.log.info({ group, person: person.id, photosDeleted, facesErased }, 'person forgotten');
      return { kind: 'forgotten', person: refOf(person), photosDeleted, facesErased };
    });
  }

  /** Erases the embeddings of unknown faces older than the retention period; returns how many. */
  async expireUnknownFaces(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.deps.defaults.unknownRetentionDays * 86_400_000).toISOString();
    let erased = 0;
    for (const group of await this.deps.albums.groups()) {
      erased += await this.serial(group, async () => {
        let count = 0;
        for (const record of await this.deps.photos.list(group)) {
          const faces = record.faces.map((face) => {
            if (face.personId || !face.embedding || face.seenAt >= cutoff) return face;
            count++;
            const { embedding: _erased, ...rest } = face;
            return rest;
          });
          if (faces.some((f, i) => f !== record.faces[i])) await this.deps.photos.save(group, { ...record, faces });
        }
        return count;
      });
    }
    if (erased > 0) await this.deps.compact?.();
    return erased;
  }

  async stats(group: GroupId): Promise<LibraryStats> {
    const [records, people, clusters, diskBytes] = await Promise.all([
      this.deps.photos.list(group),
      this.deps.gallery.list(group),
      this.deps.settings.getClusters(group),
      this.deps.albums.diskUsage(group),
    ]);
    const faces = records.flatMap((r) => r.faces);
    return {
      photos: records.length,
      faces: faces.length,
      people: people.length,
      unknownFaces: faces.filter((f) => f.embedding && !f.personId).length,
      unknownClusters: clusters?.length ?? 0,
      diskBytes,
    };
  }

  /**
   * Brings every group's files in line with its records after an interrupted run (see
   * `AlbumStore.repair`); records whose original is gone are dropped and reported.
   */
  async checkConsistency(): Promise<Map<GroupId, RepairReport>> {
    const reports = new Map<GroupId, RepairReport>();
    for (const group of await this.deps.albums.groups()) {
      reports.set(
        group,
        await this.serial(group, async () => {
          const [records, people] = await Promise.all([this.deps.photos.list(group), this.deps.gallery.list(group)]);
          const report = await this.deps.albums.repair(group, records, albumsOf(records, people));
          for (const hash of report.recordsWithoutOriginal) await this.deps.photos.delete(group, hash);
          if (report.recordsWithoutOriginal.length > 0) this.log.error({ group, hashes: report.recordsWithoutOriginal }, 'photo records without their original were dropped');
          return report;
        }),
      );
    }
    return reports;
  }

  // --- inside a group's queue -------------------------------------------------------------------

  private async ingestNow(group: GroupId, photo: IncomingPhoto): Promise<{ result: IngestResult; record?: PhotoRecord }> {
    const hash = sha256Hex(photo.bytes);
    const existing = await this.deps.photos.get(group, hash);
    const people = await this.deps.gallery.list(group);
    const names = (ids: readonly string[]) => ids.map((id) => people.find((p) => p.id === id)).filter((p): p is Person => p !== undefined).map(refOf);
    // A record whose original is gone (an interrupted run) is stored again rather than trusted.
    if (existing && (await this.deps.albums.hasOriginal(group, photoRef(existing)))) {
      return { result: { kind: 'duplicate', hash, people: names(peopleOf(existing)) }, record: existing };
    }
    const decoded = await this.deps.decoder.decode(photo.bytes);
    if (!decoded.ok) {
      this.log.warn({ group, hash, reason: decoded.failure.reason, detail: decoded.failure.detail }, 'photo not decodable');
      return { result: { kind: 'undecodable', reason: decoded.failure.reason } };
    }
    const detected = await this.deps.engine.detect(decoded.image);
    const settings = await this.settingsOf(group);
    const seenAt = this.now().toISOString();
    const unassigned: StoredFace[] = detected.map((f) => ({
      box: f.box,
      score: f.score,
      eyeDistance: f.eyeDistance,
      seenAt,
      ...(f.embedding ? { embedding: f.embedding } : {}),
      ...(f.unusable ? { unusable: f.unusable } : {}),
    }));
    const assigned = assignFaces(unassigned, people, hash, { threshold: settings.threshold, margin: this.deps.defaults.margin });
    const faces = unassigned.map((face, i) => withPerson(face, assigned[i]));
    const record: PhotoRecord = {
      hash,
      ext: extensionOf(decoded.image.format),
      bytes: photo.bytes.length,
      postedAt: (photo.postedAt ?? this.now()).toISOString(),
      faces,
      ...(photo.postedBy ? { postedBy: photo.postedBy } : {}),
      ...(photo.originalName ? { originalName: photo.originalName } : {}),
      ...(decoded.image.takenAt ? { takenAt: decoded.image.takenAt.toISOString() } : {}),
      ...(photo.source ? { source: photo.source } : {}),
    };
    // Files first, the record last: the record is the acknowledgement, and a crash before it leaves
    // only files that the consistency check removes.
    await this.deps.albums.storeOriginal(group, photoRef(record), photo.bytes);
    const filed = peopleOf(record);
    for (const id of filed) await this.deps.albums.link(group, people.find((p) => p.id === id)!.folder, photoRef(record));
    await this.deps.photos.save(group, record);
    const usable = faces.filter((f) => f.embedding);
    return {
      result: {
        kind: 'filed',
        hash,
        people: names(filed),
        unknownFaces: usable.filter((f) => !f.personId).length,
        unusableFaces: faces.length - usable.length,
      },
      record,
    };
  }

  private async enrollNow(group: GroupId, request: EnrollRequest): Promise<EnrollResult> {
    const clean = cleanPersonName(request.name);
    if (!clean.ok) return { kind: 'invalid-name', reason: clean.reason };
    let record: PhotoRecord | undefined;
    if ('bytes' in request.photo) {
      const ingested = await this.ingestNow(group, request.photo);
      if (ingested.result.kind === 'undecodable') return { kind: 'undecodable', reason: ingested.result.reason };
      record = ingested.record;
    } else {
      record = await this.deps.photos.get(group, request.photo.hash);
    }
    if (!record) return { kind: 'unknown-photo' };
    const usable = numberedFaces(record);
    if (usable.length === 0) {
      const unusable = record.faces.find((f) => f.unusable)?.unusable;
      return { kind: 'no-usable-face', reason: unusable ?? 'no-face' };
    }
    if (usable.length > 1 && request.face === undefined) {
      const image = await this.decodeStored(group, record);
      if (!image) return { kind: 'unknown-photo' };
      const sheet = await this.deps.renderer.contactSheet(
        usable.map(({ face }, i) => ({ image, box: face.box, label: String(i + 1) })),
        `${usable.length} faces: enroll again with the number of ${clean.name}'s face`,
      );
      return { kind: 'choose-face', hash: record.hash, faces: usable.length, sheet };
    }
    const chosen = usable[(request.face ?? 1) - 1];
    if (!chosen) return { kind: 'no-such-face', faces: usable.length };
    const added = await this.addSamples(group, clean.name, [this.sample(chosen.face.embedding!, record.hash, request.by)], request.userId);
    if (added.kind !== 'added') return added;
    const { person, isNew } = added;
    const changes = await this.refile(group);
    return {
      kind: 'enrolled',
      person: refOf(person),
      newPerson: isNew,
      samples: person.samples.length,
      // The enrolment photo itself is counted when it was not filed under them before.
      refiled: changes.filter((c) => c.added.includes(person.id)).length,
    };
  }

  /** Creates or extends a person; a user id already linked to someone else is refused. */
  private async addSamples(
    group: GroupId,
    name: string,
    samples: readonly Sample[],
    userId: string | undefined,
  ): Promise<{ kind: 'added'; person: Person; isNew: boolean } | Extract<EnrollResult, { kind: 'user-linked-elsewhere' }>> {
    const people = await this.deps.gallery.list(group);
    const existing = findPerson(people, name);
    if (userId !== undefined) {
      const linked = people.find((p) => p.userId === userId);
      if ((linked && linked !== existing) || (existing?.userId !== undefined && existing.userId !== userId)) {
        return { kind: 'user-linked-elsewhere', person: refOf(linked ?? existing!) };
      }
    }
    const person: Person = existing
      ? { ...existing, samples: [...existing.samples, ...samples], ...(userId !== undefined ? { userId } : {}) }
      : {
          id: globalThis.crypto.randomUUID(),
          name,
          folder: uniqueFolderName(safeFolderName(name), new Set(people.map((p) => p.folder))),
          samples,
          rejected: [],
          createdAt: this.now().toISOString(),
          ...(userId !== undefined ? { userId } : {}),
        };
    await this.deps.gallery.save(group, person);
    return { kind: 'added', person, isNew: !existing };
  }

  /** Re-matches every stored face and moves the album links that change; returns the changes. */
  private async refile(group: GroupId, policy?: MatchPolicy): Promise<RefileChange[]> {
    const settings = await this.settingsOf(group);
    const effective = policy ?? { threshold: settings.threshold, margin: this.deps.defaults.margin };
    const [people, records] = await Promise.all([this.deps.gallery.list(group), this.deps.photos.list(group)]);
    const changes = planRefile(records, people, effective);
    const folderOf = (id: string) => people.find((p) => p.id === id)?.folder;
    for (const change of changes) {
      const ref = photoRef(change.after);
      for (const id of change.added) await this.deps.albums.link(group, folderOf(id)!, ref);
      await this.deps.photos.save(group, change.after);
      for (const id of change.removed) {
        const folder = folderOf(id);
        if (folder) await this.deps.albums.unlink(group, folder, ref);
      }
    }
    if (changes.length > 0) this.log.info({ group, changed: changes.length, threshold: effective.threshold }, 'photos re-filed');
    return changes;
  }

  private sample(embedding: Embedding, photoHash: string, by: string | undefined): Sample {
    return { embedding, photoHash, addedAt: this.now().toISOString(), ...(by ? { addedBy: by } : {}) };
  }

  private async decodeStored(group: GroupId, record: PhotoRecord): Promise<DecodedImage | undefined> {
    const decoded = await this.deps.decoder.decode(await this.deps.albums.readOriginal(group, photoRef(record)));
    return decoded.ok ? decoded.image : undefined;
  }

  private async settingsOf(group: GroupId): Promise<GroupSettings> {
    return (await this.deps.settings.get(group)) ?? { threshold: this.deps.defaults.threshold, replyMode: this.deps.defaults.replyMode };
  }

  private serial<T>(group: GroupId, task: () => Promise<T>): Promise<T> {
    return this.queues.run(group, task);
  }
}

function refOf(person: Person): PersonRef {
  return { id: person.id, name: person.name };
}

function findPerson(people: readonly Person[], name: string): Person | undefined {
  const clean = cleanPersonName(name);
  return clean.ok ? people.find((p) => sameName(p.name, clean.name)) : undefined;
}

/** The file names of a photo: album entries are dated by when it was taken, else posted. */
export function photoRef(record: Pick<PhotoRecord, 'hash' | 'ext' | 'takenAt' | 'postedAt'>): PhotoRef {
  return { hash: record.hash, ext: record.ext, date: record.takenAt ?? record.postedAt };
}

/** The usable faces of a photo, left to right: the order users number them in. */
export function numberedFaces(record: PhotoRecord): { face: StoredFace; index: number }[] {
  return record.faces
    .map((face, index) => ({ face, index }))
    .filter(({ face }) => face.embedding)
    .sort((a, b) => a.face.box.x - b.face.box.x);
}

/** Which photo hashes belong in which album folder, from the records' face assignments. */
export function albumsOf(records: readonly PhotoRecord[], people: readonly Person[]): Map<string, string[]> {
  const albums = new Map<string, string[]>(people.map((p) => [p.folder, []]));
  for (const record of records) {
    for (const id of peopleOf(record)) {
      const folder = people.find((p) => p.id === id)?.folder;
      if (folder) albums.get(folder)?.push(record.hash);
    }
  }
  return albums;
}

function extensionOf(format: string): string {
  const known: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tif', heif: 'heic', avif: 'avif' };
  return known[format] ?? (/^[a-z0-9]{1,5}$/.test(format) ? format : 'img');
}

function countChanges(changes: readonly RefileChange[]): { photosChanged: number; filed: number; unfiled: number } {
  return {
    photosChanged: changes.length,
    filed: changes.reduce((n, c) => n + c.added.length, 0),
    unfiled: changes.reduce((n, c) => n + c.removed.length, 0),
  };
}

/**
 * Same-person similarities: pairs of one person's samples, and each recognised face against its
 * person's closest sample. Different-person: each sample and recognised face against every other
 * person's closest sample.
 */
function similarityDistributions(people: readonly Person[], records: readonly PhotoRecord[]): { same: number[]; different: number[] } {
  const same: number[] = [], different: number[] = [];
  const closest = (e: Embedding, p: Person) => Math.max(...p.samples.map((s) => similarity(e, s.embedding)));
  for (const person of people) {
    person.samples.forEach((a, i) => { person.samples.slice(i + 1).forEach((b) => same.push(similarity(a.embedding, b.embedding))); });
    for (const other of people) {
      if (other === person || other.samples.length === 0) continue;
      for (const s of person.samples) different.push(closest(s.embedding, other));
    }
  }
  for (const record of records) {
    for (const face of record.faces) {
      if (!face.embedding || !face.personId) continue;
      const owner = people.find((p) => p.id === face.personId);
      if (!owner || owner.samples.length === 0) continue;
      // A face that is itself a sample would show as a perfect 1.0: leave it out.
      const own = owner.samples.map((s) => similarity(face.embedding!, s.embedding)).filter((v) => v < 0.9999);
      if (own.length > 0) same.push(Math.max(...own));
      for (const other of people) if (other !== owner && other.samples.length > 0) different.push(closest(face.embedding, other));
    }
  }
  return { same, different };
}

export type { UnknownCluster };
