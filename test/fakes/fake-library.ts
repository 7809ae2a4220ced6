import type { GroupId, GroupLocks, Renderer, SheetFace, SimilarityKernel, SimilarityPlotData } from '../../src/core/index.ts';
import { sha256Hex } from '../../src/core/index.ts';
import { PhotoLibrary, type LibraryDefaults } from '../../src/core/library/index.ts';
import { FakeFaceEngine, type FakeFace } from './fake-face-engine.ts';
import { encodeFakePhoto, FakeImageDecoder, type EncodedFakePhotoSpec } from './fake-image-decoder.ts';
import { MemoryAlbumStore } from './memory-album-store.ts';
import { MemoryAuditLog } from './memory-audit-log.ts';
import { MemoryFaceCache } from './memory-face-cache.ts';
import { MemoryGalleryStore, MemoryPhotoStore, MemorySettingsStore } from './memory-library-stores.ts';

/** A `Renderer` that draws nothing and remembers what it was asked for, for tests to look at. */
export class FakeRenderer implements Renderer {
  readonly sheets: { readonly labels: readonly string[]; readonly boxes: readonly SheetFace['box'][]; readonly caption?: string }[] = [];
  readonly plots: SimilarityPlotData[] = [];

  contactSheet(faces: readonly SheetFace[], caption?: string): Promise<Uint8Array> {
    this.sheets.push({ labels: faces.map((f) => f.label), boxes: faces.map((f) => f.box), ...(caption === undefined ? {} : { caption }) });
    return Promise.resolve(Uint8Array.of(this.sheets.length));
  }

  similarityPlot(data: SimilarityPlotData): Promise<Uint8Array> {
    this.plots.push(data);
    return Promise.resolve(Uint8Array.of(this.plots.length));
  }
}

/** A clock a test moves by hand. */
export class FakeClock {
  constructor(private time = new Date('2026-01-01T12:00:00Z')) {}

  readonly now = (): Date => new Date(this.time);

  advanceDays(days: number): void {
    this.time = new Date(this.time.getTime() + days * 86_400_000);
  }
}

export const FAKE_DEFAULTS: LibraryDefaults = { threshold: 0.93, margin: 0.02, replyMode: 'quiet', unknownRetentionDays: 90, minClusterPhotos: 3 };

/** A `PhotoLibrary` on fakes only (engine, album files, stores, renderer), plus the fakes to inspect. */
export interface FakeLibrary {
  readonly library: PhotoLibrary;
  readonly engine: FakeFaceEngine;
  readonly decoder: FakeImageDecoder;
  readonly albums: MemoryAlbumStore;
  readonly gallery: MemoryGalleryStore;
  readonly photos: MemoryPhotoStore;
  readonly settings: MemorySettingsStore;
  readonly audit: MemoryAuditLog;
  readonly faceCache: MemoryFaceCache;
  readonly renderer: FakeRenderer;
  readonly clock: FakeClock;
  /** How many times the library compacted its store. */
  readonly compactions: () => number;
  /** The hashes in a person's album, by name ([] when there is no such album). */
  albumOf(group: GroupId, name: string): Promise<string[]>;
}

export function fakeLibrary(
  defaults: Partial<LibraryDefaults> = {},
  options: { maxConcurrentExports?: number; locks?: GroupLocks; kernel?: SimilarityKernel } = {},
): FakeLibrary {
  const engine = new FakeFaceEngine();
  const decoder = new FakeImageDecoder();
  const albums = new MemoryAlbumStore();
  const gallery = new MemoryGalleryStore();
  const photos = new MemoryPhotoStore();
  const settings = new MemorySettingsStore();
  const audit = new MemoryAuditLog();
  const faceCache = new MemoryFaceCache();
  const renderer = new FakeRenderer();
  const clock = new FakeClock();
  let compactions = 0;
  const library = new PhotoLibrary({
    engine,
    decoder,
    gallery,
    photos,
    settings,
    audit,
    faceCache,
    albums,
    renderer,
    defaults: { ...FAKE_DEFAULTS, ...defaults },
    compact: () => {
      compactions++;
      return Promise.resolve();
    },
    now: clock.now,
    ...options,
  });
  return {
    library,
    engine,
    decoder,
    albums,
    gallery,
    photos,
    settings,
    audit,
    faceCache,
    renderer,
    clock,
    compactions: () => compactions,
    albumOf: async (group, name) => {
      const album = await library.album(group, name);
      return album.kind === 'album-photos' ? album.entries.map((e) => e.hash).sort() : [];
    },
  };
}

/** A posted photo: its bytes (see `encodeFakePhoto`) and content hash. */
export interface Post {
  readonly bytes: Buffer;
  readonly hash: string;
}

/**
 * A photo showing these faces (identities, or faces with a look or size), each 60 px wide unless
 * said, left to right in the order given, on a background of the given grey (so that photos of the
 * same faces still differ). Async like reading a real photo, so tests read the same either way.
 */
export function post(faces: readonly (number | (Omit<FakeFace, 'x' | 'y' | 'size'> & Partial<FakeFace>))[], background = 154, takenAt?: string): Promise<Post> {
  const spec: EncodedFakePhotoSpec = {
    ...(takenAt === undefined ? {} : { takenAt }),
    width: 40 + 80 * Math.max(1, faces.length),
    height: 120,
    background,
    faces: faces.map((face, i) => ({ x: 20 + 80 * i, y: 20, size: 60, ...(typeof face === 'number' ? { identity: face } : face) })),
  };
  const bytes = encodeFakePhoto(spec);
  return Promise.resolve({ bytes, hash: sha256Hex(bytes) });
}
