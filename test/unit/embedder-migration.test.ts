import { InProcessGroupLocks } from '../../src/core/index.ts';
import { MemoryAlbumStore } from '../fakes/memory-album-store.ts';
import { MemoryGalleryStore, MemoryPhotoStore, MemorySettingsStore } from '../fakes/memory-library-stores.ts';
import { embedderMigrationRules } from '../helpers/embedder-migration.ts';

embedderMigrationRules('in-memory stores (fakes)', () =>
  Promise.resolve({
    gallery: new MemoryGalleryStore(),
    photos: new MemoryPhotoStore(),
    settings: new MemorySettingsStore(),
    albums: new MemoryAlbumStore(),
    locks: new InProcessGroupLocks(),
  }),
);
