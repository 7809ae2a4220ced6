import { albumStoreContract } from '../contracts/album-store.contract.ts';
import { MemoryAlbumStore } from '../fakes/memory-album-store.ts';

// The in-memory store passes the same contract as FsAlbumStore: library tests that use it see the
// same albums, exports and repairs that the disk would give.
albumStoreContract('MemoryAlbumStore', () => {
  const store = new MemoryAlbumStore();
  return Promise.resolve({ store, read: (path: string) => store.read(path), exports: () => Promise.resolve(store.exportFiles().sort()) });
});
