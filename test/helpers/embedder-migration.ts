import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type {
  AlbumStore,
  DecodedImage,
  DetectedFace,
  EngineInfo,
  FaceEngine,
  GalleryStore,
  GroupId,
  GroupLocks,
  Log,
  PhotoStore,
  SettingsStore,
} from '../../src/core/index.ts';
import { normalize, sha256Hex, similarity } from '../../src/core/index.ts';
import { PhotoLibrary, type RedescribeProgress } from '../../src/core/library/index.ts';
import { FakeFaceEngine, identityEmbedding } from '../fakes/fake-face-engine.ts';
import { FakeImageDecoder } from '../fakes/fake-image-decoder.ts';
import { FAKE_DEFAULTS, FakeRenderer, post, type Post } from '../fakes/fake-library.ts';

// A library filed by one embedder and opened with another, on whichever stores a test gives.

/**
 * The fake engine under another embedder's name, whose embeddings must not be compared with the
 * first one's: each is the first's reflected so that Anna's and Ben's swap (an orthogonal map, so
 * among themselves its faces are exactly as alike as before). Compared with the first embedder's
 * samples, B's Anna would pass for Ben: a mix-up a test sees.
 */
export class OtherFakeEngine implements FaceEngine {
  readonly info: EngineInfo;
  private readonly inner = new FakeFaceEngine();
  /** The unit normal of the mirror between Anna's and Ben's directions. */
  private mirror: Float32Array | undefined;
  /** The photos looked at, by how often: a photo re-described twice is wasted work. */
  readonly seen = new Map<string, number>();

  /** How many photos were looked at more than once. */
  twice(): number {
    return [...this.seen.values()].filter((n) => n > 1).length;
  }

  constructor(embedder = 'fake-blocks-2@1') {
    this.info = { ...this.inner.info, embedder };
  }

  get detections(): number {
    return this.inner.detections;
  }

  async detect(image: DecodedImage): Promise<DetectedFace[]> {
    const key = sha256Hex(image.pixels);
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    const mirror = (this.mirror ??= normalize(identityEmbedding(ANNA).map((x, i) => x - identityEmbedding(BEN)[i]!)));
    return (await this.inner.detect(image)).map((f) => (f.embedding ? { ...f, embedding: reflect(f.embedding, mirror) } : f));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** `v` mirrored in the plane normal to the unit vector `n`. */
function reflect(v: Float32Array, n: Float32Array): Float32Array {
  const along = 2 * similarity(v, n);
  return v.map((x, i) => x - along * n[i]!);
}

export interface LibraryParts {
  readonly gallery: GalleryStore;
  readonly photos: PhotoStore;
  readonly settings: SettingsStore;
  readonly albums: AlbumStore;
  /** Shared by every library on these parts, as processes share the database's locks. */
  readonly locks?: GroupLocks;
}

/** What a test records of a log: each line's message and context. */
export function recordingLog(): Log & { readonly lines: { level: string; message: string; context: object }[] } {
  const lines: { level: string; message: string; context: object }[] = [];
  const at = (level: string) => (context: object, message: string) => void lines.push({ level, message, context });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** A library on `parts`, with `engine` (a new process opening the same stores and files). */
export function libraryOn(parts: LibraryParts, engine: FaceEngine, log?: Log): PhotoLibrary {
  const { locks, ...stores } = parts;
  return new PhotoLibrary({
    engine,
    decoder: new FakeImageDecoder(),
    renderer: new FakeRenderer(),
    defaults: FAKE_DEFAULTS,
    ...stores,
    ...(locks ? { locks } : {}),
    ...(log ? { log } : {}),
  });
}

export const G = 'tg:-100';
export const OTHER_GROUP = 'tg:-200';
export const [ANNA, BEN, STRANGER] = [1, 2, 9];

/** What the first embedder filed: the photos, and each album's hashes. */
export interface Filed {
  readonly annaEnrolment: Post;
  readonly benEnrolment: Post;
  /** Every photo of the group, enrolment photos included. */
  readonly photos: readonly Post[];
  readonly albums: { readonly anna: readonly string[]; readonly ben: readonly string[] };
}

/**
 * GIVEN Anna and Ben enrolled from photos of their own, and ten more photos of them, together and
 * with a stranger, filed by the fake engine's first embedder; and a second group with one of Anna.
 */
export async function fileWithFirstEmbedder(parts: LibraryParts): Promise<Filed> {
  const first = libraryOn(parts, new FakeFaceEngine());
  const annaEnrolment = await post([ANNA], 100);
  const benEnrolment = await post([BEN], 100);
  assert.equal((await first.enroll(G, { name: 'Anna', photo: { bytes: annaEnrolment.bytes } })).kind, 'enrolled');
  assert.equal((await first.enroll(G, { name: 'Ben', photo: { bytes: benEnrolment.bytes } })).kind, 'enrolled');
  const posts: Post[] = [annaEnrolment, benEnrolment];
  const scenes = [[ANNA], [BEN], [ANNA, BEN], [STRANGER], [ANNA, STRANGER], [BEN, STRANGER], [ANNA], [BEN, ANNA], [STRANGER, STRANGER + 1], [ANNA]];
  for (const [i, scene] of scenes.entries()) {
    const photo = await post(scene, 110 + 2 * i);
    assert.equal((await first.ingest(G, { bytes: photo.bytes })).kind, 'filed');
    posts.push(photo);
  }
  assert.equal((await first.enroll(OTHER_GROUP, { name: 'Anna', photo: { bytes: (await post([ANNA], 140)).bytes } })).kind, 'enrolled');
  const albums = { anna: await albumOf(first, 'Anna'), ben: await albumOf(first, 'Ben') };
  assert.equal(albums.anna.length, 7, 'the first embedder filed Anna in her seven photos');
  assert.equal(albums.ben.length, 5, 'and Ben in his five');
  return { annaEnrolment, benEnrolment, photos: posts, albums };
}

export async function albumOf(library: PhotoLibrary, name: string, group: GroupId = G): Promise<string[]> {
  const album = await library.album(group, name);
  return album.kind === 'album-photos' ? album.entries.map((e) => e.hash).sort() : [];
}

/** Every stored sample and face embedding, by the embedder that made it. */
export async function embeddersOf(parts: LibraryParts, group: GroupId = G): Promise<{ samples: (string | undefined)[]; faces: (string | undefined)[] }> {
  const people = await parts.gallery.list(group);
  const records = await parts.photos.list(group);
  return {
    samples: people.flatMap((p) => p.samples.map((s) => s.embedder)),
    faces: records.flatMap((r) => r.faces.flatMap((f) => (f.embedding ? [f.embedder] : []))),
  };
}

/** Progress reports, as a test keeps them. */
export function progressLog(): { readonly seen: RedescribeProgress[]; readonly onProgress: (p: RedescribeProgress) => void } {
  const seen: RedescribeProgress[] = [];
  return { seen, onProgress: (p) => void seen.push(p) };
}

/**
 * The rules of a change of embedder, on the stores `create` gives (fresh, empty ones each time):
 * run against the in-memory fakes and each SQL database, like a contract suite.
 */
export function embedderMigrationRules(name: string, create: () => Promise<LibraryParts>): void {
  describe(`A change of embedder re-describes the library: ${name}`, () => {
    it('GIVEN a library filed by embedder A WHEN it is opened with embedder B THEN nothing is compared across them until every sample and face is re-described from its original, names kept', async () => {
      const parts = await create();
      const filed = await fileWithFirstEmbedder(parts);
      const unknownBefore = (await parts.photos.counts(G)).unknownFaces;
      const engine = new OtherFakeEngine();
      const log = recordingLog();
      const library = libraryOn(parts, engine, log);

      // Meanwhile: A's samples decide nothing for B's faces, and the albums stay as they were.
      const early = await library.ingest(G, { bytes: (await post([ANNA], 150)).bytes });
      assert.ok(early.kind === 'filed');
      assert.deepEqual(early.people, [], 'a face of B is never compared with samples of A');
      assert.deepEqual((await library.stats(G)).redescribing, { done: 1, of: 13 }, 'the photo filed by B counts as done');
      assert.equal((await library.thresholdReport(G, 0.9)).proposed?.photosChanged, 0, 'a re-file of every photo would move none');
      assert.equal((await library.setThreshold(G, 0.9)).kind, 'set');
      assert.deepEqual(await albumOf(library, 'Anna'), filed.albums.anna, 'a re-file keeps the names of faces it cannot compare');
      assert.deepEqual(await albumOf(library, 'Ben'), filed.albums.ben);

      const progress = progressLog();
      const report = await library.redescribe({ onProgress: progress.onProgress });
      assert.deepEqual(
        { ...report, samplesDropped: report.samplesDropped.length, photosFailed: report.photosFailed.length },
        {
          samples: 3,
          photos: 13,
          samplesDropped: 0,
          photosFailed: 0,
          facesUnpaired: 0,
          stopped: false,
        },
      );
      assert.equal(engine.twice(), 0, 'each photo is looked at once');
      for (const group of [G, OTHER_GROUP]) {
        const { samples, faces } = await embeddersOf(parts, group);
        assert.ok(samples.length > 0 && faces.length > 0);
        assert.deepEqual([...new Set([...samples, ...faces])], [engine.info.embedder], `every embedding of ${group} is B's`);
        assert.deepEqual(await parts.photos.describedOtherwise(group, engine.info.embedder), []);
      }
      assert.deepEqual(await albumOf(library, 'Anna'), filed.albums.anna, 'names kept');
      assert.deepEqual(await albumOf(library, 'Ben'), filed.albums.ben);
      assert.equal((await parts.photos.counts(G)).unknownFaces, unknownBefore + 1, 'strangers stay unknown (and the early photo of Anna with them)');
      // Progress: the samples, then the photos of each group, counting up to what there was to do.
      const photosOfG = progress.seen.filter((p) => p.group === G && p.phase === 'photos');
      assert.deepEqual(
        photosOfG.map((p) => p.done),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      assert.ok(photosOfG.every((p) => p.total === 10));
      assert.deepEqual(
        progress.seen
          .filter((p) => p.phase === 'samples')
          .map((p) => [p.group, p.done, p.total])
          .sort(),
        [
          [G, 1, 2],
          [G, 2, 2],
          [OTHER_GROUP, 1, 1],
        ].sort(),
      );
      assert.ok(
        log.lines.some((l) => l.message.includes('re-describing faces for a new recognition model')),
        'the log says what is going on',
      );

      // Afterwards B's samples find Anna and Ben again, and /stats has nothing to report.
      const later = await library.ingest(G, { bytes: (await post([BEN, ANNA], 152)).bytes });
      assert.ok(later.kind === 'filed');
      assert.deepEqual(later.people.map((p) => p.name).sort(), ['Anna', 'Ben']);
      const stats = await library.stats(G);
      assert.equal(stats.redescribing, undefined);
      assert.equal(stats.withoutSamples, undefined);
      assert.deepEqual((await library.redescribe()).photos, 0, 'a second run has nothing to do');
    });

    it('GIVEN the re-description stopped after 3 photos WHEN the library is opened again THEN the next run does the rest, and no photo twice', async () => {
      const parts = await create();
      const filed = await fileWithFirstEmbedder(parts);
      const first = new OtherFakeEngine();
      const stop = new AbortController();
      const report = await libraryOn(parts, first).redescribe({
        signal: stop.signal,
        onProgress: (p) => {
          if (p.phase === 'photos' && p.done === 3) stop.abort();
        },
      });
      assert.equal(report.stopped, true);
      assert.equal(report.photos, 3 + 3, "three photos, and the samples' three");
      const left = await parts.photos.describedOtherwise(G, first.info.embedder);
      assert.equal(left.length, 10 - 3);
      // Half-way: the samples are B's, so matching works; the faces not yet re-described keep their names.
      const halfway = libraryOn(parts, new OtherFakeEngine());
      assert.deepEqual(await albumOf(halfway, 'Anna'), filed.albums.anna);
      const filedHalfway = await halfway.ingest(G, { bytes: (await post([ANNA], 150)).bytes });
      assert.ok(filedHalfway.kind === 'filed');
      assert.deepEqual(
        filedHalfway.people.map((p) => p.name),
        ['Anna'],
      );
      assert.deepEqual((await halfway.stats(G)).redescribing, { done: 13 - 7, of: 13 });

      const second = new OtherFakeEngine();
      const rest = await libraryOn(parts, second).redescribe();
      assert.deepEqual([rest.samples, rest.photos, rest.stopped], [0, 7, false]);
      const seen = new Map(first.seen);
      for (const [key, n] of second.seen) seen.set(key, (seen.get(key) ?? 0) + n);
      assert.equal([...seen.values()].filter((n) => n > 1).length, 0, 'no photo was re-described twice');
      assert.deepEqual(await parts.photos.describedOtherwise(G, second.info.embedder), []);
      assert.deepEqual(await albumOf(halfway, 'Anna'), [...filed.albums.anna, filedHalfway.hash].sort());
      assert.deepEqual(await albumOf(halfway, 'Ben'), filed.albums.ben);
    });

    it('GIVEN the originals of a sample and of a photo gone THEN they are reported, the photo keeps its names, and /stats says who must enrol again', async () => {
      const parts = await create();
      const filed = await fileWithFirstEmbedder(parts);
      const strangerOnly = filed.photos[2 + 3]!;
      for (const photo of [filed.benEnrolment, strangerOnly]) {
        const record = await parts.photos.get(G, photo.hash);
        await parts.albums.deleteOriginal(G, { hash: record!.hash, ext: record!.ext, date: record!.takenAt ?? record!.postedAt });
      }
      const engine = new OtherFakeEngine();
      const library = libraryOn(parts, engine);
      const report = await library.redescribe();
      assert.deepEqual(report.samplesDropped, [{ group: G, person: 'Ben', photoHash: filed.benEnrolment.hash, reason: 'no-original' }]);
      assert.deepEqual(
        report.photosFailed.map((f) => [f.hash, f.reason]).sort(),
        [
          [filed.benEnrolment.hash, 'no-original'],
          [strangerOnly.hash, 'no-original'],
        ].sort(),
      );
      assert.equal(report.stopped, false);
      assert.deepEqual((await library.stats(G)).withoutSamples, ['Ben']);
      // (An album entry names its photo by the first 8 characters of its hash.)
      const short = (hashes: readonly string[]) => hashes.map((h) => h.slice(0, 8));
      assert.deepEqual(short(await albumOf(library, 'Ben')), short(filed.albums.ben), 'his photos stay filed under him');
      const benPhoto = await parts.photos.get(G, filed.benEnrolment.hash);
      assert.equal(benPhoto!.faces[0]!.embedding, undefined, 'a face that cannot be re-described loses its embedding');
      assert.ok(benPhoto!.faces[0]!.personId, 'and keeps its name');
      assert.deepEqual(await parts.photos.describedOtherwise(G, engine.info.embedder), [], 'nothing is left to try again at every start');
      const again = await library.enroll(G, { name: 'Ben', photo: { bytes: (await post([BEN], 154)).bytes } });
      assert.ok(again.kind === 'enrolled', 'Ben enrols again');
      assert.equal((await library.stats(G)).withoutSamples, undefined);
    });

    it('GIVEN two processes opening the library with embedder B at once THEN they share the work under the group locks: every photo is re-described once', async () => {
      const parts = await create();
      await fileWithFirstEmbedder(parts);
      const a = new OtherFakeEngine(),
        b = new OtherFakeEngine();
      const [ra, rb] = await Promise.all([libraryOn(parts, a).redescribe(), libraryOn(parts, b).redescribe()]);
      assert.equal(ra.photos + rb.photos, 13);
      assert.equal(ra.samples + rb.samples, 3);
      const seen = new Map(a.seen);
      for (const [key, n] of b.seen) seen.set(key, (seen.get(key) ?? 0) + n);
      assert.equal([...seen.values()].filter((n) => n > 1).length, 0);
      assert.deepEqual(await parts.photos.describedOtherwise(G, a.info.embedder), []);
    });
  });
}
